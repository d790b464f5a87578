package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The lazy mcache flush (see {@link MSweep}): a mark termination leaves each P's collected spans cached and stale,
 * and whoever next uses the P sweeps them first — the holder leaving a blocking region or a safepoint, the
 * stopper's own P at the restart, a thread taking an idle P, or the cycle's thread for idle Ps. Each test fails
 * if its path does not prepare: objects allocated in a stale span after the cycle are unmarked, so the span's
 * eventual sweep takes them away (they are reported as free here), and garbage in a stale span is never freed.
 */
class LazyCacheFlushTest {
    private static final long SIZE = 64;

    /** Allocates {@code n} collected 64-byte objects on {@code m}'s P (all in the P's cached span of that class). */
    private static List<Long> allocate(Mutator m, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(m.allocate(SIZE, true, true));
        }
        return out;
    }

    /** Every one of {@code objects} is still allocated: freeing each succeeds (a swept-away one is a double free). */
    private static void assertAllocated(Heap heap, Mutator m, List<Long> objects) {
        for (long p : objects) {
            m.free(p);
        }
    }

    /** Whether the span holding {@code object} is cached and stale (cached before the current sweep cycle). */
    private static boolean stale(Heap heap, long object) {
        MSpan s = heap.mheap().spans.get(object);
        return s != null && s.state() == MSpan.IN_USE && s.cachedByPlain() != null
                && s.sweepgen == heap.mheap().sweepgen - 2;
    }

    @Test
    void aHolderLeavingABlockingRegionSweepsItsStaleSpansBeforeItAllocates() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build();
             Mutator m = heap.attach()) {
            List<Long> before = allocate(m, 40);
            Set<Long> marked = new HashSet<>(before.subList(0, 20));
            try (var region = m.blocking()) {
                GcCycle.run(heap, marked);                 // the P is lent: the restart leaves it to its holder
                assertTrue(stale(heap, before.get(0)), "the lent P's cache waits for its holder");
                HeapAudit.check(heap);                     // a stale span in an unprepared cache is allowed
            }
            List<Long> after = allocate(m, 40);           // from a swept span, never from the stale one
            GcCycle.sweepAll(heap);
            assertEquals(60, heap.readMemStats().heapObjects(), "20 marked + 40 new; the 20 unmarked were swept");
            // The span was swept before the first new allocation, so the new objects took the swept slots first.
            assertTrue(new HashSet<>(after).containsAll(before.subList(20, 40)), "the 20 swept slots were reused");
            assertAllocated(heap, m, after);
            assertAllocated(heap, m, before.subList(0, 20));
            HeapAudit.check(heap);
        }
    }

    @Test
    void theStoppersOwnPIsPreparedAtTheRestart() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build();
             Mutator m = heap.attach()) {
            List<Long> before = allocate(m, 40);
            GcCycle.run(heap, new HashSet<>(before.subList(0, 10)));   // stopped by the P's own holder
            assertTrue(!stale(heap, before.get(0)), "the stopper's own P was prepared before it resumed");
            List<Long> after = allocate(m, 40);
            GcCycle.sweepAll(heap);
            assertEquals(50, heap.readMemStats().heapObjects());
            assertAllocated(heap, m, after);
            assertAllocated(heap, m, before.subList(0, 10));
            HeapAudit.check(heap);
        }
    }

    @Test
    void aThreadTakingAnIdlePSweepsItsStaleSpansFirst() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            List<Long> before = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                before.add(heap.allocate(SIZE, true, true));   // borrows the only P and leaves it idle
            }
            GcCycle.run(heap, new HashSet<>(before.subList(0, 5)));
            assertTrue(stale(heap, before.get(0)));
            List<Long> after = new ArrayList<>();
            Thread t = new Thread(() -> {
                try (Mutator m = heap.attach()) {             // takes the idle P: prepared first
                    after.addAll(allocate(m, 40));
                }
            });
            t.start();
            t.join();
            GcCycle.sweepAll(heap);
            assertEquals(45, heap.readMemStats().heapObjects());
            for (long p : after) {
                heap.free(p);
            }
            HeapAudit.check(heap);
        }
    }

    @Test
    void theCyclesThreadPreparesIdlePs() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            long first = heap.allocate(SIZE, true, true);
            for (int i = 0; i < 39; i++) {
                heap.allocate(SIZE, true, true);               // garbage, cached by an idle P
            }
            GcCycle.run(heap, Set.of());
            assertTrue(stale(heap, first));
            heap.procs().prepareIdle();
            assertTrue(!stale(heap, first), "no P is left stale");
            MSweep.finishSweep(heap.mheap());
            assertEquals(0, heap.readMemStats().heapObjects(), "the idle P's garbage was swept");
            HeapAudit.check(heap);
        }
    }

    @Test
    void manualSpansStayCachedAcrossCyclesAndKeepTheirObjects() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build();
             Mutator m = heap.attach()) {
            List<Long> manual = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                manual.add(m.malloc(48));
            }
            MSpan span = heap.mheap().spanOfObject(manual.get(0));
            for (int cycle = 0; cycle < 3; cycle++) {
                GcCycle.run(heap, Set.of());
                assertEquals(heap.procs().get(0).mcache, span.cachedByPlain(), "a manual span stays cached");
                HeapAudit.check(heap);
            }
            for (long p : manual) {
                m.free(p);                                 // local frees: the span is still this P's
            }
            assertEquals(0, heap.readMemStats().heapObjects());
            heap.procs().get(0).mcache.releaseAll();       // uncached three cycles on: its sweepgen caught up
            HeapAudit.check(heap);
        }
    }
}
