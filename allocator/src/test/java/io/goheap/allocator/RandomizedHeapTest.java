package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static io.goheap.allocator.ShadowObjects.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Model-based randomized test: several threads (more than Ps) allocate, fill, hand over and free objects of
 * every kind while a shadow map of live ranges checks that no two live objects overlap, every allocation is
 * zeroed and every object keeps its contents until its free. Frees cross threads through a shared queue, so
 * the remote-free protocol runs under contention. Now and then a thread returns free memory to the OS (which
 * flushes idle Ps' caches under the others' feet) and checks Go's AllocStats invariants on a live snapshot.
 * Afterwards the slow recount must match AllocStats exactly.
 *
 * <p>{@code -Dgoheap.test.seeds=N} runs N seeds instead of two (a soak; the seeds are printed on failure).
 */
class RandomizedHeapTest {
    static final int THREADS = 4;
    static final int OPS_PER_THREAD = 60_000;

    @Test
    void manyThreadsAgainstAShadowModel() throws Exception {
        int seeds = Integer.getInteger("goheap.test.seeds", 2);
        for (long seed = 1; seed <= seeds; seed++) {
            run(seed);
        }
    }

    private void run(long seed) throws Exception {
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).build()) {
            MemorySegment mem = heap.segment();
            long base = heap.base();
            ConcurrentSkipListMap<Long, Long> live = new ConcurrentSkipListMap<>();
            ConcurrentLinkedQueue<Obj> handoff = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CyclicBarrier start = new CyclicBarrier(THREADS);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                SplittableRandom rnd = new SplittableRandom(seed * 1000 + t);
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                        work(heap, mem, base, live, handoff, rnd);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "mutator-" + t);
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a mutator failed (seed " + seed + ")", failure.get());
            }
            for (Obj o; (o = handoff.poll()) != null; ) {
                verify(mem, base, o);
                heap.free(o.address());
                live.remove(o.address());
            }
            assertTrue(live.isEmpty(), "model still has live objects: " + live.size());
            AllocStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects(), "every object was freed");
            HeapAudit.check(heap);
        }
    }

    private static void work(Heap heap, MemorySegment mem, long base, ConcurrentSkipListMap<Long, Long> live,
                             ConcurrentLinkedQueue<Obj> handoff, SplittableRandom rnd) {
        List<Obj> mine = new ArrayList<>();
        Mutator m = null;
        for (int op = 0; op < OPS_PER_THREAD; op++) {
            // Hold a P for a burst of operations, then give it back, so threads outnumbering Ps all progress.
            if (op % 200 == 0) {
                if (m != null) {
                    m.close();
                    m = null;
                }
                if (rnd.nextBoolean()) {
                    m = heap.attach();
                }
            }
            if (rnd.nextInt(4000) == 0) {
                if (m != null) {
                    m.close();            // FreeOSMemory from a thread that holds no P, as a user would call it
                    m = null;
                }
                heap.freeOSMemory();
                AllocStatsInvariants.check(heap.readMemStats());
                continue;
            }
            int dice = rnd.nextInt(100);
            if (dice < 55 || mine.isEmpty() && dice < 80) {
                long size = randomSize(rnd);
                boolean scan = rnd.nextInt(4) == 0;
                long p = m != null ? (scan ? m.mallocScan(size) : m.malloc(size)) : (scan ? heap.mallocScan(size) : heap.malloc(size));
                assertTrue(heap.usableSize(p) >= size);
                checkZero(mem, base, p, size);
                Map.Entry<Long, Long> below = live.floorEntry(p);
                assertNull(live.putIfAbsent(p, size), "address handed out twice: 0x" + Long.toHexString(p));
                if (below != null) {
                    assertTrue(below.getKey() + below.getValue() <= p, "overlaps the object below");
                }
                Map.Entry<Long, Long> above = live.higherEntry(p);
                if (above != null) {
                    assertTrue(p + size <= above.getKey(), "overlaps the object above");
                }
                Obj o = ShadowObjects.fill(mem, base, p, size, !scan, rnd);
                if (rnd.nextInt(3) == 0) {
                    handoff.add(o);
                } else {
                    mine.add(o);
                }
            } else {
                Obj o = null;
                if (rnd.nextBoolean()) {
                    o = handoff.poll();
                }
                if (o == null && !mine.isEmpty()) {
                    int k = rnd.nextInt(mine.size());
                    o = mine.get(k);
                    mine.set(k, mine.get(mine.size() - 1));
                    mine.remove(mine.size() - 1);
                }
                if (o == null) {
                    continue;
                }
                verify(mem, base, o);
                assertEquals(o.size(), live.remove(o.address()));
                if (m != null) {
                    m.free(o.address());
                } else {
                    heap.free(o.address());
                }
            }
        }
        if (m != null) {
            m.close();
        }
        for (Obj o : mine) {
            verify(mem, base, o);
            live.remove(o.address());
            heap.free(o.address());
        }
    }
}
