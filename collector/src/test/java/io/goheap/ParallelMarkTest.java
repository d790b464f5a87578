package io.goheap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A heap with more than {@link Collector#PARALLEL_MARK_BYTES} in use is marked by the collector's thread and the
 * mark workers together (MarkPool). With gccheckmark on, every cycle is checked against a single-threaded
 * re-mark; reachability is checked against a plain-Java count; a bad pointer found by any marker fails the cycle
 * with nothing freed.
 */
class ParallelMarkTest {
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(JAVA_LONG.withName("id"),
            ADDRESS.withName("left"), ADDRESS.withName("right")));

    @Test
    void aLargeRandomGraphIsMarkedInParallelWithoutLosingAnObject() {
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).gcPercent(-1).godebug("gccheckmark=1")
                .build(); Root root = heap.newRoot(); Mutator m = heap.attach()) {
            int n = 400_000;                                    // 32-byte nodes: 12.8 MB, over the parallel bound
            long table = m.malloc(HeapType.of(ADDRESS).arrayOf(n));
            Random r = new Random(7);
            for (int i = 0; i < n; i++) {
                long node = m.allocate(NODE);
                heap.segment().set(JAVA_LONG, node - heap.base(), i);
                m.storePointer(table + 8L * i, node);
            }
            for (int i = 0; i < n; i++) {                       // random edges: a graph, not a tree
                long node = m.loadPointer(table + 8L * i);
                m.storePointer(node + 8, m.loadPointer(table + 8L * r.nextInt(n)));
                m.storePointer(node + 16, m.loadPointer(table + 8L * r.nextInt(n)));
            }
            root.set(m.loadPointer(table));
            m.free(table);                                      // now only what node 0 reaches stays
            int reachable = countReachable(m, root.get(), n);
            assertTrue(heap.readMemStats().heapInuse() >= Collector.PARALLEL_MARK_BYTES, "the parallel path runs");
            long cutAt = root.get();
            for (int cycle = 0; cycle < 6; cycle++) {
                m.gc();
                assertEquals(reachable, heap.readMemStats().heapObjects(), "cycle " + cycle);
                assertEquals(reachable, countReachable(m, root.get(), n), "contents intact, cycle " + cycle);
                long next = m.loadPointer(cutAt + 16);
                m.storePointer(cutAt + 8, 0);                   // drop an edge: what only it reached goes next
                cutAt = next != 0 ? next : root.get();
                reachable = countReachable(m, root.get(), n);
            }
        }
    }

    @Test
    void aBadPointerFoundByAnyMarkerFailsTheCycleAndNothingIsFreed() {
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
             Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long head = CollectorTest.list(m, 600_000);        // 16-byte nodes: ~9.6 MB
            root.set(head);
            long p = head;
            for (int i = 0; i < 400_000; i++) {
                p = m.loadPointer(p + 8);
            }
            long victim = m.loadPointer(p + 8);
            long after = m.loadPointer(victim + 8);
            m.storePointer(p + 8, after);                       // unlink the victim, free it, point at it again
            m.free(victim);
            m.storePointer(p + 8, victim);
            long before = heap.readMemStats().heapObjects();
            assertThrows(InvalidPointerException.class, m::gc);
            assertEquals(before, heap.readMemStats().heapObjects(), "a failed cycle frees nothing");
            m.storePointer(p + 8, after);
            m.gc();
            assertEquals(599_999, heap.readMemStats().heapObjects());
            assertEquals(599_999, CollectorTest.length(heap, head, false));
        }
    }

    /** Closing the heap while a parallel mark runs: the marking thread ends with "heap is closed", nothing hangs. */
    @Test
    void aCloseDuringAParallelMarkEndsItCleanly() throws Exception {
        for (int round = 0; round < 5; round++) {
            Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
            Root root = heap.newRoot();
            java.util.concurrent.atomic.AtomicReference<Throwable> wrong = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.CountDownLatch built = new java.util.concurrent.CountDownLatch(1);
            Thread collector = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    root.set(CollectorTest.list(m, 700_000));
                    built.countDown();
                    for (;;) {
                        m.gc();
                    }
                } catch (IllegalStateException e) {
                    if (!"heap is closed".equals(e.getMessage())) {
                        wrong.set(e);
                    }
                } catch (Throwable e) {
                    wrong.set(e);
                } finally {
                    built.countDown();
                }
            });
            collector.start();
            built.await();
            Thread.sleep(20 + 7 * round);
            heap.close();
            collector.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(30));
            assertTrue(!collector.isAlive(), "round " + round + ": the collecting thread hangs after close");
            assertEquals(null, wrong.get(), "round " + round);
        }
    }

    private static int countReachable(Mutator m, long from, int n) {
        java.util.HashSet<Long> seen = new java.util.HashSet<>();
        java.util.ArrayDeque<Long> work = new java.util.ArrayDeque<>();
        work.push(from);
        seen.add(from);
        while (!work.isEmpty()) {
            long x = work.pop();
            for (long slot : new long[] {x + 8, x + 16}) {
                long y = m.loadPointer(slot);
                if (y != 0 && seen.add(y)) {
                    work.push(y);
                }
            }
        }
        return seen.size();
    }
}
