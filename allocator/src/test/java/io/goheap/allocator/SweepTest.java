package io.goheap.allocator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static io.goheap.allocator.ShadowObjects.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The span-level sweep the collector will drive (see {@link MSweep}): after marking, unmarked objects are freed,
 * marked ones keep their memory and contents, empty spans return to the heap, swept slots come back zeroed, and
 * AllocStats and the recount oracle agree throughout — whether spans are swept lazily by allocation or eagerly.
 */
class SweepTest {
    private Heap heap;
    private MemorySegment mem;
    private long base;

    @BeforeEach
    void open() {
        heap = Heap.builder().reservation(1L << 30).maxProcs(2).build();
        mem = heap.segment();
        base = heap.base();
    }

    @AfterEach
    void close() {
        heap.close();
    }

    @Test
    void unmarkedObjectsAreFreedAndMarkedOnesSurviveWithTheirContents() {
        SplittableRandom rnd = new SplittableRandom(7);
        List<Obj> all = new ArrayList<>();
        for (int i = 0; i < 6000; i++) {
            all.add(alloc(randomSize(rnd), rnd.nextInt(3) != 0, rnd));
        }
        Set<Long> marked = new HashSet<>();
        for (Obj o : all) {
            if (rnd.nextInt(3) == 0) {
                marked.add(o.address());
            }
        }
        AllocStats before = heap.readMemStats();

        GcCycle.run(heap, marked);
        AllocStats started = heap.readMemStats();
        assertEquals(before.heapObjects(), started.heapObjects(), "nothing is freed before it is swept");
        HeapAudit.check(heap);

        assertTrue(GcCycle.sweepAll(heap) > 0, "the cycle left spans to sweep");
        HeapAudit.check(heap);
        AllocStats swept = heap.readMemStats();
        assertTrue(swept.heapInuse() < before.heapInuse(), "spans with nothing marked went back to the heap");
        assertTrue(swept.frees() > before.frees(), "sweeping counts its frees");

        long survivors = 0;
        for (Obj o : all) {
            if (marked.contains(o.address())) {
                verify(mem, base, o);
                survivors++;
            } else {
                // The sweep freed it: freeing it again is a double free (also when its whole span went back).
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.free(o.address()));
                assertTrue(e.getMessage().contains("double free or never allocated"), e.toString());
            }
        }
        assertEquals(survivors, swept.heapObjects(), "HeapObjects = marked objects");
        for (Obj o : all) {
            if (marked.contains(o.address())) {
                heap.free(o.address());
            }
        }
        HeapAudit.check(heap);
    }

    @Test
    void aCycleWithNothingMarkedEmptiesTheHeap() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int i = 0; i < 4000; i++) {
            alloc(randomSize(rnd), rnd.nextBoolean(), rnd);
        }
        assertTrue(heap.readMemStats().heapObjects() > 0);
        GcCycle.run(heap, List.of());
        heap.freeOSMemory();                           // sweeps what waits, as Go's FreeOSMemory, then releases
        AllocStats m = heap.readMemStats();
        assertEquals(0, m.heapObjects());
        assertEquals(0, m.heapAlloc());
        assertEquals(0, m.heapInuse(), "every span was empty after the sweep and went back");
        assertEquals(m.heapSys(), m.heapReleased(), "and every page went back to the OS");
        HeapAudit.check(heap);
    }

    @Test
    void allocationSweepsLazilyAndReusesFreedSlotsZeroed() {
        SplittableRandom rnd = new SplittableRandom(3);
        List<Obj> objs = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            objs.add(alloc(64, true, rnd));
        }
        Set<Long> marked = new HashSet<>();
        for (int i = 0; i < objs.size(); i += 2) {
            marked.add(objs.get(i).address());
        }
        GcCycle.run(heap, marked);
        AllocStats started = heap.readMemStats();
        int unswept = heap.mheap().central[MSpan.cacheClass(SizeClasses.spanClass(SizeClasses.sizeToClass(64), true), true)]
                .unsweptSpans();
        assertTrue(unswept > 0);

        Set<Long> survivors = new HashSet<>(marked);
        for (int i = 0; i < 1000; i++) {
            long p = heap.allocate(64, true, true);
            assertFalse(survivors.contains(p), "handed out a marked object");
            for (long off = 0; off < 64; off += 8) {
                assertEquals(0, mem.get(ValueLayout.JAVA_LONG, p - base + off), "a swept slot must come back zeroed");
            }
            survivors.add(p);
        }
        AllocStats after = heap.readMemStats();
        assertEquals(started.heapSys(), after.heapSys(), "the freed slots were reused: the heap did not grow");
        assertTrue(after.heapInuse() <= started.heapInuse());
        for (int i = 0; i < objs.size(); i += 2) {
            verify(mem, base, objs.get(i));
        }
        HeapAudit.check(heap);
    }

    @Test
    void explicitFreesDuringACycleCountOnce() {
        SplittableRandom rnd = new SplittableRandom(5);
        List<Obj> objs = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            objs.add(alloc(rnd.nextInt(16, 2048), true, rnd));
        }
        objs.add(alloc(100_000, true, rnd));
        objs.add(alloc(200_000, false, rnd));
        Set<Long> marked = new HashSet<>();
        for (int i = 0; i < objs.size(); i += 2) {
            marked.add(objs.get(i).address());
        }
        GcCycle.run(heap, marked, true);              // every span waits on its mcentral: none is swept by a free
        // Before their sweep, both a marked and an unmarked object may be freed explicitly.
        for (int i = 0; i < objs.size(); i += 3) {
            heap.free(objs.get(i).address());
        }
        MSweep.finishSweep(heap.mheap());
        HeapAudit.check(heap);
        long expectedLive = 0;
        for (int i = 0; i < objs.size(); i++) {
            if (i % 2 == 0 && i % 3 != 0) {
                expectedLive++;
                verify(mem, base, objs.get(i));
            }
        }
        assertEquals(expectedLive, heap.readMemStats().heapObjects());
        AllocStatsInvariants.check(heap.readMemStats());
    }

    @Test
    void markObjectFindsTheObjectFromAnyInteriorAddressAndRejectsOthers() {
        long small = heap.malloc(100);                 // class 112
        long large = heap.malloc(50_000);
        MHeap h = heap.mheap();
        assertEquals(small, MSweep.markObject(h, small + 99));
        assertEquals(large, MSweep.markObject(h, large + 49_999));
        long free = small + 112;                       // the next slot of the same span: never allocated
        assertThrows(IllegalArgumentException.class, () -> MSweep.markObject(h, free));
        assertThrows(IllegalArgumentException.class, () -> MSweep.markObject(h, base - 8));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MSweep.markObject(h, base + heap.reservation() - 8));
        assertTrue(e.getMessage().contains("0x"), e.getMessage());
        // Marks are bits: marking twice is harmless, and both objects survive a cycle marked that way.
        MSweep.markObject(h, small);
        heap.procs().stopTheWorld();
        try {
            MSweep.startCycle(h, heap.procs());
        } finally {
            heap.procs().startTheWorld();
        }
        MSweep.finishSweep(h);
        assertEquals(2, heap.readMemStats().heapObjects());
        assertEquals(112, heap.usableSize(small));
        heap.free(small);
        heap.free(large);
        HeapAudit.check(heap);
    }

    @Test
    void aCycleStartsOnlyWithTheWorldStoppedAndTheLastSweepFinished() {
        long p = heap.malloc(48);
        MHeap h = heap.mheap();
        IllegalStateException notStopped = assertThrows(IllegalStateException.class,
                () -> MSweep.startCycle(h, heap.procs()));
        assertTrue(notStopped.getMessage().contains("world stopped"), notStopped.getMessage());

        GcCycle.run(heap, List.of(p), true);           // flushed: its span waits on its mcentral for the sweep
        heap.procs().stopTheWorld();
        try {
            IllegalStateException unprepared = assertThrows(IllegalStateException.class,
                    () -> MSweep.startCycle(h, heap.procs()));
            assertTrue(unprepared.getMessage().contains("not prepared"), unprepared.getMessage());
            MSweep.prepareCaches(heap.procs());
            IllegalStateException unfinished = assertThrows(IllegalStateException.class,
                    () -> MSweep.startCycle(h, heap.procs()));
            assertTrue(unfinished.getMessage().contains("unswept"), unfinished.getMessage());
        } finally {
            heap.procs().startTheWorld();
        }
        try (Mutator held = heap.attach()) {         // a thread holding a P may stop the world: its P counts
            heap.procs().stopTheWorld();
            heap.procs().startTheWorld();
            held.free(held.malloc(8));
        }
        // The heap is still usable and consistent.
        MSweep.finishSweep(h);
        assertEquals(48, heap.usableSize(p));
        heap.free(p);
        HeapAudit.check(heap);
    }

    // ------------------------------------------------------------------ helpers

    private Obj alloc(long size, boolean noscan, SplittableRandom rnd) {
        long p = heap.allocate(size, noscan, true);     // collected: only collected objects are swept
        return ShadowObjects.fill(mem, base, p, size, noscan, rnd);
    }
}
