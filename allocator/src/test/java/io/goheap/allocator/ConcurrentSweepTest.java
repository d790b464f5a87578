package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.concurrent.atomic.AtomicReference;

import static io.goheap.allocator.ShadowObjects.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Sweeping under a randomized concurrent schedule, against a shadow model: mutator threads (more than Ps)
 * allocate, fill, hand over, free and drop objects — a dropped object is garbage, never freed explicitly — while
 * a driver runs stop-the-world cycles that mark exactly the model's live objects, and a background sweeper sweeps
 * alongside allocation's lazy sweeping. No live object may be freed or overwritten, no allocation may overlap a
 * live object or come back dirty, every fourth cycle the recount oracle audits the stopped heap, and after the
 * last cycle only the live objects remain, by AllocStats and by the recount oracle. Mutators change the model only while holding a P, so a stopped world sees it exactly.
 */
class ConcurrentSweepTest {
    static final int THREADS = 4;
    static final int OPS_PER_THREAD = 40_000;
    /** Mutators keep going past their operations until the driver has run this many cycles among them. */
    static final int MIN_CYCLES = 10;

    @Test
    void cyclesRacingMutatorsAndABackgroundSweeper() throws Exception {
        int seeds = Integer.getInteger("goheap.test.seeds", 2);
        for (long seed = 1; seed <= seeds; seed++) {
            run(seed);
        }
    }

    private void run(long seed) throws Exception {
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).build()) {
            MemorySegment mem = heap.segment();
            long base = heap.base();
            ConcurrentSkipListMap<Long, Obj> live = new ConcurrentSkipListMap<>();
            ConcurrentLinkedQueue<Obj> handoff = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean mutatorsDone = new AtomicBoolean();
            List<Thread> mutators = new ArrayList<>();
            AtomicInteger cycles = new AtomicInteger();
            for (int t = 0; t < THREADS; t++) {
                SplittableRandom rnd = new SplittableRandom(seed * 1000 + t);
                mutators.add(start("mutator-" + t, failure,
                        () -> work(heap, mem, base, live, handoff, rnd,
                                () -> cycles.get() >= MIN_CYCLES || failure.get() != null)));
            }
            Semaphore sweeping = new Semaphore(1);
            Thread driver = start("driver", failure, () -> {
                while (!mutatorsDone.get()) {
                    GcCycle.run(heap, live.keySet());
                    int n = cycles.incrementAndGet();
                    AllocStatsInvariants.check(heap.readMemStats());
                    if (n % 4 == 0) {
                        // Mid-run audit: world stopped, background sweeper paused, so nothing is in flight.
                        sweeping.acquireUninterruptibly();
                        heap.procs().stopTheWorld();
                        try {
                            HeapAudit.check(heap);
                        } finally {
                            heap.procs().startTheWorld();
                            sweeping.release();
                        }
                    }
                    sleepMillis(15);
                }
            });
            Thread sweeper = start("background-sweeper", failure, () -> {
                while (!mutatorsDone.get()) {
                    sweeping.acquireUninterruptibly();
                    boolean swept;
                    try {
                        swept = MSweep.sweepOne(heap.mheap());
                    } finally {
                        sweeping.release();
                    }
                    if (!swept) {
                        sleepMillis(1);
                    }
                }
            });
            for (Thread th : mutators) {
                th.join();
            }
            mutatorsDone.set(true);
            driver.join();
            sweeper.join();
            if (failure.get() != null) {
                throw new AssertionError("seed " + seed + " failed", failure.get());
            }
            assertTrue(cycles.get() >= MIN_CYCLES, "cycles run among the mutators: " + cycles.get());

            GcCycle.run(heap, live.keySet());
            GcCycle.sweepAll(heap);
            HeapAudit.check(heap);
            assertEquals(live.size(), heap.readMemStats().heapObjects(),
                    "after the last cycle exactly the live objects remain");
            for (Obj o : live.values()) {
                verify(mem, base, o);
                heap.free(o.address());
            }
            HeapAudit.check(heap);
            assertEquals(0, heap.readMemStats().heapObjects());
            heap.freeOSMemory();                         // flushes the idle Ps' caches
            assertEquals(0, heap.readMemStats().heapInuse(), "and every span went back to the heap");
            HeapAudit.check(heap);
        }
    }

    private static void work(Heap heap, MemorySegment mem, long base, ConcurrentSkipListMap<Long, Obj> live,
                             ConcurrentLinkedQueue<Obj> handoff, SplittableRandom rnd, BooleanSupplier enoughCycles) {
        List<Obj> mine = new ArrayList<>();
        for (int op = 0; op < OPS_PER_THREAD || !enoughCycles.getAsBoolean(); ) {
            try (Mutator m = heap.attach()) {
                int burst = rnd.nextInt(50, 300);
                for (int i = 0; i < burst; i++, op++) {
                    step(m, heap, mem, base, live, handoff, mine, rnd);
                }
            }
        }
        for (Obj o : mine) {
            verify(mem, base, o);            // still live in the model: kept for the final cycle
        }
    }

    private static void step(Mutator m, Heap heap, MemorySegment mem, long base,
                             ConcurrentSkipListMap<Long, Obj> live, ConcurrentLinkedQueue<Obj> handoff,
                             List<Obj> mine, SplittableRandom rnd) {
        int dice = rnd.nextInt(100);
        if (dice < 50 || mine.isEmpty() && dice < 75) {
            long size = randomSize(rnd);
            boolean scan = size >= SizeClasses.TINY_SIZE && rnd.nextInt(4) == 0;
            long p = m.allocate(size, !scan, true);     // collected: only collected objects are swept
            checkZero(mem, base, p, size);
            Map.Entry<Long, Obj> below = live.floorEntry(p);
            if (below != null) {
                assertTrue(below.getKey() + below.getValue().size() <= p, "overlaps a live object below");
            }
            Map.Entry<Long, Obj> above = live.higherEntry(p);
            if (above != null) {
                assertTrue(p + size <= above.getKey(), "overlaps a live object above");
            }
            Obj o = ShadowObjects.fill(mem, base, p, size, !scan, rnd);
            assertNull(live.put(p, o), "address handed out twice");
            if (rnd.nextInt(3) == 0) {
                handoff.add(o);
            } else {
                mine.add(o);
            }
            return;
        }
        Obj o = rnd.nextBoolean() ? handoff.poll() : null;
        if (o == null && !mine.isEmpty()) {
            int k = rnd.nextInt(mine.size());
            o = mine.get(k);
            mine.set(k, mine.get(mine.size() - 1));
            mine.remove(mine.size() - 1);
        }
        if (o == null) {
            return;
        }
        verify(mem, base, o);
        // A stop of the world happens only at a safepoint, and the driver marks the model's roots then. A free's
        // safepoint comes after the free, so the object leaves the model first and is freed with no safepoint in
        // between: a stop never sees it gone from the model but not yet freed.
        assertEquals(o, live.remove(o.address()));
        if (dice < 90) {
            m.free(o.address());
        }
        // else: dropped — garbage for the next cycle to find and sweep
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
