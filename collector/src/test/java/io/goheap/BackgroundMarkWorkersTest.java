package io.goheap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The background mark workers: Go's 25% split into dedicated and fractional workers, the mode each worker takes
 * from the Ps' state (idle marking on Ps no running thread uses), and a concurrent mark that really shares its
 * work among several workers and still marks everything ({@code gccheckmark} on).
 */
class BackgroundMarkWorkersTest {
    static final HeapType NODE = CollectorModelTest.NODE;

    /** Go's startCycle split, GOMAXPROCS by GOMAXPROCS: whole workers unless rounding misses 25% by over 30%. */
    @Test
    void theUtilizationSplitIsGos() {
        int[][] dedicated = {{1, 0}, {2, 0}, {3, 0}, {4, 1}, {5, 1}, {6, 1}, {7, 2}, {8, 2}, {16, 4}, {64, 16}};
        double[] fractional = {0.25, 0.25, 0.25, 0, 0, 0.5 / 6, 0, 0, 0, 0};
        for (int i = 0; i < dedicated.length; i++) {
            MarkUtilization u = MarkUtilization.of(dedicated[i][0]);
            assertEquals(dedicated[i][1], u.dedicated(), "dedicated workers at GOMAXPROCS=" + dedicated[i][0]);
            assertEquals(fractional[i], u.fractionalGoal(), 1e-12, "fractional goal at GOMAXPROCS=" + dedicated[i][0]);
            if (u.hasFractional()) {          // with a fractional worker the total is exactly a quarter
                assertEquals(0.25 * u.procs(), u.dedicated() + u.fractionalCpus(), 1e-12);
            } else {                          // without, whole workers are within 30% of it
                assertTrue(Math.abs(u.dedicated() / (0.25 * u.procs()) - 1) <= MarkUtilization.MAX_UTILIZATION_ERROR);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new MarkUtilization(0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new MarkUtilization(2, 3, 0));
        assertThrows(IllegalArgumentException.class, () -> new MarkUtilization(2, 0, -0.1));
    }

    /** Holds a Mutator (so its P is busy) on a thread of its own until released. */
    private static final class BusyHolder implements AutoCloseable {
        final CountDownLatch attached = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final Thread thread;

        BusyHolder(Heap heap) throws InterruptedException {
            thread = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    attached.countDown();
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            thread.start();
            assertTrue(attached.await(10, TimeUnit.SECONDS));
        }

        @Override
        public void close() {
            release.countDown();
            try {
                thread.join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * GOMAXPROCS = 2, as Go: no dedicated worker and a fractional one at 25% of each P. Idle Ps run idle workers:
     * two with no P busy, one with one busy P (the other worker waits), none with both busy — then only the
     * fractional worker marks, and only while its share of the time since the mark began is not used up.
     */
    @Test
    void eachWorkersModeFollowsTheBusyPs() throws Exception {
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "idle marking needs a second CPU");
        try (Heap heap = Heap.builder().reservation(64L << 20).maxProcs(2).gcPercent(-1).build()) {
            Collector c = heap.collector;
            BackgroundMarkWorkers w = new BackgroundMarkWorkers(c.hooks, c.barrier, c.markWorkers,
                    MarkUtilization.of(2), Thread.currentThread(), heap::isClosed, () -> false, n -> { });
            long later = System.nanoTime() + 1_000_000;
            assertEquals(BackgroundMarkWorkers.Mode.IDLE, w.mode(0, later));
            assertEquals(BackgroundMarkWorkers.Mode.IDLE, w.mode(1, later));
            try (BusyHolder one = new BusyHolder(heap)) {
                assertEquals(BackgroundMarkWorkers.Mode.IDLE, w.mode(0, later));
                assertEquals(BackgroundMarkWorkers.Mode.NONE, w.mode(1, later));
                try (Mutator mine = heap.attach()) {      // held by the marking thread itself: still idle for it
                    assertEquals(BackgroundMarkWorkers.Mode.IDLE, w.mode(0, later));
                }
                try (BusyHolder two = new BusyHolder(heap)) {
                    assertEquals(BackgroundMarkWorkers.Mode.FRACTIONAL, w.mode(0, later));
                    assertEquals(BackgroundMarkWorkers.Mode.NONE, w.mode(1, later));
                    assertEquals(BackgroundMarkWorkers.Mode.NONE, w.mode(0, 0),
                            "no time has passed since the mark began: the fractional share is used up");
                }
            }
            MarkUtilization four = new MarkUtilization(4, 1, 0);
            BackgroundMarkWorkers d = new BackgroundMarkWorkers(c.hooks, c.barrier, c.markWorkers, four,
                    Thread.currentThread(), heap::isClosed, () -> false, n -> { });
            java.util.concurrent.atomic.AtomicBoolean past = new java.util.concurrent.atomic.AtomicBoolean();
            BackgroundMarkWorkers p = new BackgroundMarkWorkers(c.hooks, c.barrier, c.markWorkers,
                    MarkUtilization.of(2), Thread.currentThread(), heap::isClosed, past::get, n -> { });
            try (BusyHolder one = new BusyHolder(heap); BusyHolder two = new BusyHolder(heap)) {
                assertEquals(BackgroundMarkWorkers.Mode.DEDICATED, d.mode(0, later), "a dedicated worker always marks");
                assertEquals(BackgroundMarkWorkers.Mode.NONE, d.mode(1, later));
                assertEquals(BackgroundMarkWorkers.Mode.NONE, p.mode(0, 0), "fractional share used up");
                past.set(true);
                assertEquals(BackgroundMarkWorkers.Mode.DEDICATED, p.mode(0, 0), "past the goal: marks all the time");
                assertEquals(BackgroundMarkWorkers.Mode.NONE, p.mode(1, 0), "only the one worker");
            }
        }
    }

    /**
     * A concurrent mark with every P idle (the gc() caller's own P counts as idle: it runs the mark) runs two idle
     * workers; they share a wide tree, both mark part of it, and checkmark proves nothing reachable was missed.
     */
    @Test
    void idleWorkersShareAConcurrentMarkAndMissNothing() {
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "idle marking needs a second CPU");
        try (Heap heap = Heap.builder().reservation(512L << 20).maxProcs(2).gcPercent(-1)
                .godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            int n = 200_000;                                  // a complete ternary tree over n nodes, ~12 MiB
            long[] nodes = new long[n];
            for (int i = 0; i < n; i++) {
                nodes[i] = m.allocate(NODE);
                heap.segment().set(JAVA_LONG, nodes[i] - heap.base(), i);
            }
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < 3; k++) {
                    int child = 3 * i + 1 + k;
                    if (child < n) {
                        m.storePointer(nodes[i] + 8 + 8L * k, nodes[child]);
                    }
                }
            }
            root.set(nodes[0]);
            List<Long> helperShares = new ArrayList<>();
            for (int cycle = 0; cycle < 3; cycle++) {
                m.gc();
                BackgroundMarkWorkers w = heap.collector.lastMarkWorkers;
                assertEquals(2, w.workers());
                helperShares.add(w.helpersMarkedBytes());
                assertTrue(w.idleNanos() > 0, "every P idle: the workers marked as idle workers");
                assertEquals(n, heap.readMemStats().heapObjects(), "the whole tree survives");
            }
            assertTrue(helperShares.stream().anyMatch(b -> b > 0),
                    "the helper marked part of the tree in some cycle: " + helperShares);
            for (int i = 0; i < n; i += 9973) {
                assertEquals(i, heap.segment().get(JAVA_LONG, nodes[i] - heap.base()), "node intact");
            }
        }
    }
}
