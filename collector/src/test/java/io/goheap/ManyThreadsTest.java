package io.goheap;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemoryLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Any number of threads: pools far beyond GOMAXPROCS hold Mutators at once, allocate collected objects and run
 * collections (checkmark on: every mark is checked against a second one), and no thread waits for a P another
 * holds; a thread that blocks without a region is reported and the collector's callers can bound their wait; a
 * {@link LendingMutator} never makes a collection wait.
 */
class ManyThreadsTest {
    /** A list node: its id and the next node. */
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(JAVA_LONG.withName("id"),
            ADDRESS.withName("next")));
    static final HeapType GARBAGE = HeapType.of(MemoryLayout.sequenceLayout(64, JAVA_LONG));

    /**
     * 200 platform threads and 10,000 virtual threads on a heap of GOMAXPROCS = 2 attach at once (each holds its
     * Mutator until all have attached — before Ps were made on demand, all but two waited forever), then each builds
     * a list of collected objects rooted in its local frame while collections run, and checks every node after
     * them. Every collection is checkmarked; any reachable node freed would show as a wrong id or a checkmark error.
     */
    @Test
    void twoHundredPlatformAndTenThousandVirtualThreadsAttachAtOnceAndAllocateThroughCollections() throws Exception {
        try (Heap heap = Heap.builder().reservation(4L << 30).maxProcs(2).gcPercent(25)
                .godebug("gccheckmark=1").build()) {
            int platform = 200;
            int virtual = 10_000;
            int threads = platform + virtual;
            CountDownLatch attached = new CountDownLatch(threads);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicInteger verified = new AtomicInteger();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Runnable body = () -> {
                    try (Mutator m = heap.attach()) {
                        try (var region = m.blocking()) {         // hold the Mutator until every thread has one
                            attached.countDown();
                            if (!attached.await(5, TimeUnit.MINUTES)) {
                                throw new AssertionError(attached.getCount() + " threads never attached");
                            }
                        }
                        buildAndCheck(m, id, id < platform ? 300 : 20);
                        verified.incrementAndGet();
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                };
                Thread th = id < platform ? Thread.ofPlatform().name("platform-" + id).daemon().unstarted(body)
                        : Thread.ofVirtual().name("virtual-" + id).unstarted(body);
                all.add(th);
            }
            for (Thread th : all) {
                th.start();
            }
            for (Thread th : all) {
                th.join();
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError(failures.size() + " threads failed");
                failures.stream().limit(3).forEach(e::addSuppressed);
                throw e;
            }
            assertEquals(threads, verified.get());
            assertTrue(heap.readMemStats().procs() >= platform, "each platform thread held a P at once");
            assertEquals(2, heap.maxProcs(), "GOMAXPROCS unchanged by the Ps made");
            heap.gc();
            MemStats s = heap.readMemStats();
            assertTrue(s.numGC() > 1, "collections ran while the threads allocated: " + s.numGC());
            // (stall reports are possible here: on a loaded machine a runnable thread may wait over 1 s for a CPU)
        }
    }

    /** Builds a list of {@code n} nodes rooted in a frame, collecting now and then, and checks every node. */
    private static void buildAndCheck(Mutator m, int thread, int n) {
        try (Mutator.Frame frame = m.enterFrame()) {
            long head = 0;
            for (int i = 0; i < n; i++) {
                long node = m.allocate(NODE);
                m.heap().segment().set(JAVA_LONG, node - m.heap().base(), (long) thread * 1_000_000 + i);
                m.storePointer(node + 8, head);
                head = node;
                frame.keep(head);
                m.allocate(GARBAGE);                          // garbage that paces collections
                if (i % 97 == 96 && thread % 500 == 0) {
                    m.gc();
                }
            }
            if (thread % 500 == 0) {
                m.gc();
            } else {
                m.poll();
            }
            long p = head;
            for (int i = n - 1; i >= 0; i--) {
                assertNotEquals(0, p, "thread " + thread + ": list cut at node " + i);
                long id = m.heap().segment().get(JAVA_LONG, p - m.heap().base());
                assertEquals((long) thread * 1_000_000 + i, id, "thread " + thread + ": node " + i + " reused");
                p = m.loadPointer(p + 8);
            }
            assertEquals(0, p);
        }
    }

    /**
     * A thread that blocks holding its Mutator outside a region: {@code gc(Duration)} returns false when the time is
     * up (before, gc() waited forever), the stall is counted and the heap stays usable; once the thread polls, the
     * collection ends and the next gc works.
     */
    @Test
    void aBoundedGcReturnsFalseWhileAThreadBlocksHoldingItsPAndTheHeapStaysUsable() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1)
                .stallReportThreshold(Duration.ofMillis(20)).godebug("gccheckmark=1").build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            Thread blocker = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    m.allocate(NODE);
                    holding.countDown();
                    release.await();                          // holds its P, no region: a collection waits for it
                    m.poll();
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "blocked-holder");
            int cycles = heap.readMemStats().numGC();
            blocker.start();
            holding.await();
            assertFalse(heap.gc(Duration.ofMillis(300)), "the collection cannot finish while the holder blocks");
            try (Mutator m = heap.attach()) {                  // the heap stays usable meanwhile
                m.free(m.malloc(64));
                assertFalse(m.gc(Duration.ofMillis(50)), "a Mutator's thread may bound its wait too");
                m.free(m.malloc(64));                         // (its P was lent while it waited, then taken back)
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (heap.stallReports() == 0) {               // (readMemStats would wait: it stops the world)
                assertTrue(System.nanoTime() < deadline, "the stall was never counted");
                Thread.sleep(5);
            }
            release.countDown();
            blocker.join();
            assertTrue(heap.gc(Duration.ofMinutes(5)), "with no thread blocking, a collection finishes");
            assertTrue(heap.readMemStats().numGC() >= cycles + 2, "the timed-out collection ended too");
            assertTrue(failures.isEmpty(), failures::toString);
            assertEquals(heap.stallReports(), heap.readMemStats().stallReports());
            assertThrows(IllegalArgumentException.class, () -> heap.gc(Duration.ofSeconds(-1)));
        }
    }

    /**
     * A LendingMutator whose thread blocks between calls without any region never makes a collection wait (a held
     * Mutator there stalls it: see above); the objects it allocated are kept in its frame through the collections
     * that run between its calls, and dropped when the frame closes.
     */
    @Test
    void aLendingMutatorNeverMakesACollectionWaitAndKeepsWhatItAllocates() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1)
                .godebug("gccheckmark=1").build()) {
            CountDownLatch allocated = new CountDownLatch(1);
            CountDownLatch collected = new CountDownLatch(1);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            long[] kept = new long[2];
            Thread lender = new Thread(() -> {
                try (LendingMutator m = heap.attachLending()) {
                    try (LendingMutator.Frame frame = m.enterFrame()) {
                        long a = m.allocate(NODE);            // kept in the frame by allocate itself
                        long b = m.allocate(NODE);
                        m.storePointer(a + 8, b);
                        kept[0] = a;
                        kept[1] = b;
                        allocated.countDown();
                        collected.await();                    // blocks between calls, no region: the P is lent
                        assertEquals(b, m.loadPointer(a + 8));
                        assertEquals(a, heap.baseOf(a), "still allocated after the collections");
                    }
                    m.gc();
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "lender");
            lender.start();
            allocated.await();
            assertTrue(heap.gc(Duration.ofMinutes(5)), "a collection never waits for a lending thread");
            assertTrue(heap.gc(Duration.ofMinutes(5)));
            assertEquals(kept[0], heap.baseOf(kept[0]), "allocate kept the object through the collections");
            assertEquals(kept[1], heap.baseOf(kept[1]), "reachable from a kept object");
            collected.countDown();
            lender.join();
            assertTrue(failures.isEmpty(), failures::toString);
            assertEquals(0, heap.readMemStats().stallReports());
            assertEquals(0, heap.readMemStats().heapObjects(), "the closed frame let both go");
        }
    }

    /** A LendingMutator is confined to its thread and may be closed twice; its calls after close throw. */
    @Test
    void aLendingMutatorIsConfinedAndClosesOnce() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            LendingMutator m = heap.attachLending();
            assertThrows(IllegalStateException.class, heap::attach, "one open Mutator per thread");
            Throwable[] fromOther = new Throwable[1];
            Thread other = new Thread(() -> fromOther[0] = assertThrows(IllegalStateException.class,
                    () -> m.malloc(8)));
            other.start();
            other.join();
            assertNotNull(fromOther[0]);
            m.free(m.malloc(8));
            m.close();
            m.close();
            assertThrows(IllegalStateException.class, () -> m.malloc(8));
            try (Mutator again = heap.attach()) {
                again.free(again.malloc(8));
            }
        }
    }
}
