package io.goheap;

import static io.goheap.CollectorTest.NODE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Defects a hostile pass over the collector's public API found; each test failed before its fix. */
class CollectorHardeningTest {

    /** Runs {@code body} on a thread until {@code stop}; failures land in {@code failure}. */
    private static Thread loop(String name, AtomicBoolean stop, AtomicReference<Throwable> failure, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                while (!stop.get()) {
                    body.run();
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, name);
        t.start();
        return t;
    }

    /**
     * A thread without a Mutator moves an object between two roots, always holding it in one, while cycles run:
     * the marker must never see it in neither (before, root stores raced with the root scan and the object was
     * freed while a root held it).
     */
    @Test
    void anObjectMovedBetweenRootsByAThreadWithoutAMutatorIsNeverFreed() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build()) {
            Root lo = heap.newRoot();
            List<Root> padding = new ArrayList<>();
            for (int i = 0; i < 200_000; i++) {
                padding.add(heap.newRoot());             // puts distance between the two roots in the scan
            }
            Root hi = heap.newRoot();
            long x;
            try (Mutator m = heap.attach()) {
                x = m.allocate(NODE);
                hi.set(x);
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread mover = loop("mover", stop, failure, () -> {
                lo.set(hi.get());
                hi.set(0);
                hi.set(lo.get());
                lo.set(0);
            });
            try {
                for (int i = 0; i < 150 && failure.get() == null; i++) {
                    heap.gc();
                    assertEquals(1, heap.readMemStats().heapObjects(), "cycle " + i + ": the moved object was freed");
                }
            } finally {
                stop.set(true);
                mover.join();
            }
            assertNull(failure.get());
            assertEquals(16, heap.usableSize(x), "still allocated");
            padding.forEach(Root::close);
        }
    }

    /**
     * Heap methods called inside a blocking region (the thread's own P is lent) while another thread collects:
     * the call takes its P back only between stops (before, it used the P while the stopper flushed and swept the
     * same mcache: internal errors and lost objects).
     */
    @Test
    void heapCallsInsideABlockingRegionDoNotRaceWithACollection() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread inRegion = new Thread(() -> {
                try (Mutator m = heap.attach(); Mutator.Region r = m.blocking()) {
                    long kept = heap.malloc(64);
                    for (int i = 0; !stop.get(); i++) {
                        heap.free(heap.malloc(64));
                        assertEquals(64, heap.usableSize(kept));
                        if (i % 64 == 0) {
                            heap.freeOSMemory();         // must not flush its own lent P under a collection
                        }
                    }
                    heap.free(kept);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            inRegion.start();
            try {
                for (int i = 0; i < 200 && failure.get() == null; i++) {
                    heap.gc();
                    heap.freeOSMemory();
                }
            } finally {
                stop.set(true);
                inRegion.join();
            }
            assertNull(failure.get());
            assertEquals(0, heap.readMemStats().heapObjects());
        }
    }

    /** setGCPercent and gc() from a Mutator's thread while another thread collects: no deadlock, no misuse error. */
    @Test
    void settingGogcOrCollectingFromAMutatorThreadDuringAnotherCycleDoesNotDeadlock() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread collector = loop("collector", stop, failure, heap::gc);
            Thread worker = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    for (int i = 0; i < 300; i++) {
                        heap.setGCPercent(i % 2 == 0 ? 100 : -1);
                        m.allocate(NODE);
                        try (Mutator.Region r = m.blocking()) {
                            heap.gc();                   // inside a region, contended: waits, no misuse error
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            worker.start();
            worker.join(TimeUnit.SECONDS.toMillis(60));
            stop.set(true);
            collector.join(TimeUnit.SECONDS.toMillis(60));
            assertTrue(!worker.isAlive() && !collector.isAlive(), "deadlocked");
            assertNull(failure.get());
        }
    }

    @Test
    void aThreadThatDiesWithItsMutatorOpenNoLongerRootsItsFrame() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build()) {
            Thread dying = new Thread(() -> {
                Mutator m = heap.attach();
                m.keep(m.allocate(HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(100_000,
                        java.lang.foreign.ValueLayout.JAVA_LONG))));
            });
            dying.start();
            dying.join();
            heap.gc();
            assertEquals(0, heap.readMemStats().heapObjects(), "the dead thread's frame kept its object");
        }
    }

    @Test
    void closingInTheWrongOrderIsHarmless() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build()) {
            Mutator m = heap.attach();
            Mutator.Region r = m.blocking();
            m.close();
            r.close();                                   // before: NullPointerException
            Mutator n = heap.attach();
            Mutator.Frame f = n.enterFrame();
            n.close();
            f.close();                                   // before: "Mutator is closed"
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> n.loadPointer(heap.base()));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            heap.gc();
        }
    }

    @Test
    void aThreadGetsOneMutatorPerHeap() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
             Mutator m = heap.attach()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, heap::attach);
            assertTrue(e.getMessage().contains("already has an open Mutator"), e.getMessage());
            m.free(m.malloc(8));
        }
    }

    /**
     * Threads that enter blocking regions and close their Mutators inside them, threads borrowing Ps through Heap
     * methods and roots, and a thread collecting in a loop: no thread may run on a P a stop already counted
     * (a P let go by its lender could be taken after the stopper passed it).
     */
    @Test
    void lendersClosingInsideRegionsAndBorrowersRacingStops() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
             Root root = heap.newRoot()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long kept;
            try (Mutator m = heap.attach()) {
                kept = m.allocate(NODE);
                root.set(kept);
            }
            List<Thread> threads = new ArrayList<>();
            threads.add(loop("collector", stop, failure, heap::gc));
            threads.add(loop("lender", stop, failure, () -> {
                Mutator m = heap.attach();
                m.keep(m.allocate(NODE));
                Mutator.Region r = m.blocking();
                m.close();                               // let go of the P while it is lent
                r.close();
            }));
            threads.add(loop("borrower", stop, failure, () -> {
                long p = heap.malloc(48);
                root.set(root.get());
                heap.free(p);
            }));
            Thread.sleep(1500);
            stop.set(true);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertTrue(!t.isAlive(), t.getName() + " hangs");
            }
            assertNull(failure.get());
            heap.gc();
            assertEquals(1, heap.readMemStats().heapObjects(), "the rooted node alone");
            assertEquals(kept, root.get());
        }
    }

    /**
     * Freeing an object held only in a local — fresh, or just unlinked — while another thread collects: the free's
     * safepoint comes after the free (before, the start of free was a safepoint, and a cycle there reclaimed the
     * object first: "double free", or a reused slot's new owner freed).
     */
    @Test
    void freeingAnObjectHeldOnlyInALocalIsSafeWhileOthersCollect() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
             Root root = heap.newRoot()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread collector = loop("collector", stop, failure, heap::gc);
            try (Mutator m = heap.attach()) {
                for (int i = 0; i < 20_000 && failure.get() == null; i++) {
                    m.free(m.allocate(NODE));                 // never stored anywhere
                    long node = m.allocate(NODE);
                    root.set(node);
                    root.set(0);                              // unlinked: only the local holds it now
                    m.free(node);
                }
            } finally {
                stop.set(true);
                collector.join();
            }
            assertNull(failure.get());
            assertEquals(0, heap.readMemStats().heapObjects());
        }
    }

    /** A finalizer that frees its own object: the finalizer's root lets go of it, no later cycle reports it. */
    @Test
    void aFinalizerMayFreeItsObject() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build()) {
            java.util.concurrent.atomic.AtomicInteger freed = new java.util.concurrent.atomic.AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (Mutator m = heap.attach()) {
                for (int i = 0; i < 300; i++) {
                    heap.setFinalizer(m.allocate(NODE), a -> {
                        heap.free(a);
                        freed.incrementAndGet();
                    });
                }
            }
            Thread collector = loop("collector", stop, failure, heap::gc);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (freed.get() < 300 && failure.get() == null) {
                assertTrue(System.nanoTime() < deadline, "finalizers ran: " + freed.get());
                Thread.sleep(5);
            }
            Thread.sleep(50);
            stop.set(true);
            collector.join();
            assertNull(failure.get());
            heap.gc();
            assertEquals(0, heap.readMemStats().heapObjects());
        }
    }

    @Test
    void aHeapCannotOwnItsOwnRoot() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
             Mutator m = heap.attach()) {
            long x = m.allocate(NODE);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> heap.rootFor(heap, x));
            assertTrue(e.getMessage().contains("never become unreachable"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ fourth hostile pass

    private static final HeapType BIG = HeapType.of(java.lang.foreign.MemoryLayout.structLayout(
            java.lang.foreign.ValueLayout.ADDRESS,
            java.lang.foreign.MemoryLayout.sequenceLayout(8191, java.lang.foreign.ValueLayout.JAVA_LONG)));  // 64 KiB

    /**
     * Threads waiting for the cycle lock in a blocking region when the heap closes: leaving the region threw while
     * the lock was held, the lock was never released, and the next collection attempt hung for ever.
     */
    @Test
    void aCloseWhileThreadsWaitForACycleLeavesNoLockBehind() throws Exception {
        for (int round = 0; round < 30; round++) {
            Heap heap = Heap.builder().reservation(1L << 30).maxProcs(4).gcPercent(100).godebug("").build();
            java.util.concurrent.CountDownLatch attached = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            Thread late = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    attached.countDown();
                    closed.await();
                    for (int j = 0; j < 100; j++) {
                        try {
                            m.allocate(BIG);                      // reaches the pacer's check: a cycle attempt
                        } catch (IllegalStateException e) {
                            if (!"heap is closed".equals(e.getMessage())) {
                                wrong.compareAndSet(null, e);
                            }
                        }
                    }
                } catch (IllegalStateException e) {
                    // closing the Mutator of a closed heap
                } catch (Throwable e) {
                    wrong.compareAndSet(null, e);
                }
            });
            late.start();
            attached.await();
            List<Thread> collectors = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                Thread t = new Thread(() -> {
                    try (Mutator m = heap.attach()) {
                        for (;;) {
                            m.gc();
                        }
                    } catch (IllegalStateException e) {
                        if (!"heap is closed".equals(e.getMessage())) {
                            wrong.compareAndSet(null, e);
                        }
                    }
                });
                t.start();
                collectors.add(t);
            }
            Thread.sleep(round % 6);
            heap.close();
            for (Thread t : collectors) {
                t.join(TimeUnit.SECONDS.toMillis(20));
                assertTrue(!t.isAlive(), "a collecting thread did not stop after close");
            }
            closed.countDown();
            late.join(TimeUnit.SECONDS.toMillis(20));
            assertTrue(!late.isAlive(), "round " + round + ": a thread allocating after close hangs");
            assertNull(wrong.get(), "round " + round + ": " + wrong.get());
        }
    }

    /** Collected allocation racing close: only the heap's own message, never the JDK's "Already closed". */
    @Test
    void typedAllocationsRacingWithCloseSeeOnlyTheHeapsMessage() throws Exception {
        for (int round = 0; round < 40; round++) {
            Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            Thread t = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    started.countDown();
                    for (;;) {
                        long p = m.allocate(NODE);
                        m.free(p);
                    }
                } catch (IllegalStateException e) {
                    if (!"heap is closed".equals(e.getMessage())) {
                        wrong.compareAndSet(null, e);
                    }
                } catch (Throwable e) {
                    wrong.compareAndSet(null, e);
                }
            });
            t.start();
            started.await();
            Thread.sleep(round % 3);
            heap.close();
            t.join(TimeUnit.SECONDS.toMillis(20));
            assertTrue(!t.isAlive());
            assertNull(wrong.get(), "round " + round + ": " + wrong.get());
        }
    }

    /** Short-lived Mutators each allocating under the 64 KiB check: their allocation still paces the collector. */
    @Test
    void shortLivedMutatorsStillStartCycles() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(100).godebug("").build()) {
            for (int i = 0; i < 2_000; i++) {
                try (Mutator m = heap.attach()) {
                    for (int j = 0; j < 2_000; j++) {
                        m.allocate(NODE);                         // 32 KB of garbage per Mutator: 64 MB in all
                    }
                }
            }
            MemStats s = heap.readMemStats();
            assertTrue(s.numGC() >= 5, "cycles: " + s.numGC());
            assertTrue(s.heapInuse() < 24L << 20, "the heap stayed near its 4 MiB goal: " + s.compact());
        }
    }

    /**
     * Large and header objects churned past a live set: the heap stays near the goal (sweep pacing; with the
     * concurrent collector, assists and the hard goal at 1.1 × the goal while a mark runs). Stop-the-world: HeapInuse
     * within 1.25 × NextGC at every sample. Concurrent: HeapAlloc within NextGC on average over the run (Go's
     * steady-state promise), and within 1.5 × at every sample — objects allocated black during a mark float to the
     * next cycle, so live (and the goal) dips when they are freed while HeapAlloc still counts the dead objects
     * waiting for the sweep, a transient right after a cycle ends.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"gcstoptheworld=1", ""})
    void churnOfLargeObjectsStaysNearTheGoal(String godebug) {
        boolean concurrent = godebug.isEmpty();
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(1).gcPercent(100).godebug(godebug).build();
             Root root = heap.newRoot(); Mutator m = heap.attach()) {
            root.set(CollectorTest.list(m, 400_000));                // ~6 MiB live
            long peakInuse1000 = 0;
            long peakAlloc1000 = 0;
            long sumAlloc1000 = 0;
            long samples = 0;
            for (int i = 0; i < 12_000; i++) {
                m.allocate(BIG);                                      // 768 MB of 64 KiB garbage
                if (i % 50 == 0) {
                    MemStats s = heap.readMemStats();
                    if (s.numGC() > 1) {
                        peakInuse1000 = Math.max(peakInuse1000, s.heapInuse() * 1000 / s.nextGC());
                        peakAlloc1000 = Math.max(peakAlloc1000, s.heapAlloc() * 1000 / s.nextGC());
                        sumAlloc1000 += s.heapAlloc() * 1000 / s.nextGC();
                        samples++;
                    }
                }
            }
            assertTrue(heap.readMemStats().numGC() > 10);
            String ratios = "peak HeapInuse / NextGC = " + peakInuse1000 / 1000.0 + ", HeapAlloc / NextGC = "
                    + peakAlloc1000 / 1000.0 + ", mean HeapAlloc / NextGC = " + sumAlloc1000 / samples / 1000.0;
            if (concurrent) {
                assertTrue(sumAlloc1000 / samples <= 1000, ratios);
                assertTrue(peakAlloc1000 <= 1500, ratios);
            } else {
                assertTrue(peakInuse1000 <= 1250, ratios);
            }
        }
    }

    /**
     * Allocation and free through a P's caches take no lock, so a snapshot read while they run counted an object
     * allocated, freed and allocated again twice (HeapAlloc 130 MB above HeapInuse 2 MiB). Snapshots stop the
     * world now, as Go's ReadMemStats.
     */
    @Test
    void everySnapshotIsConsistentWhileAThreadChurnsThroughItsCaches() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread churn = loop("churn", stop, failure, () -> {
                try (Mutator m = heap.attach()) {
                    long[] batch = new long[64];
                    while (!stop.get()) {
                        m.free(m.malloc(1 << 20));                   // a retained large span, no lock
                        for (int i = 0; i < batch.length; i++) {
                            batch[i] = m.malloc(4096);               // stashed spans, local frees
                        }
                        for (long p : batch) {
                            m.free(p);
                        }
                    }
                }
            });
            try {
                for (int i = 0; i < 3_000 && failure.get() == null; i++) {
                    MemStats s = heap.readMemStats();
                    assertTrue(s.heapAlloc() <= s.heapInuse(), "HeapAlloc > HeapInuse: " + s.compact());
                    assertTrue(s.heapObjects() >= 0 && s.heapObjects() <= 65, "HeapObjects " + s.heapObjects());
                    assertEquals(s.mallocs() - s.frees(), s.heapObjects());
                }
            } finally {
                stop.set(true);
                churn.join();
            }
            assertNull(failure.get());
        }
    }

    /** The pointer store and load fast path (one guard): every misuse still gets its own clear exception. */
    @Test
    void pointerStoresAndLoadsRefuseEveryMisuseClearly() throws Exception {
        Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
        Mutator m = heap.attach();
        long node = m.allocate(NODE);
        m.keep(node);
        m.storePointer(node + 8, node);
        assertEquals(node, m.loadPointer(node + 8));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> m.storePointer(node + 4, 0));
        assertTrue(bad.getMessage().contains("8-byte aligned pointer slot"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.loadPointer(heap.base() - 8));
        assertThrows(IllegalArgumentException.class, () -> m.storePointer(heap.base() + heap.reservation(), 0));
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = new Thread(() -> other.set(assertThrows(IllegalStateException.class, () -> m.storePointer(node + 8, 0))));
        t.start();
        t.join();
        assertTrue(other.get().getMessage().contains("Mutator belongs to"), other.get().getMessage());
        try (var region = m.blocking()) {
            IllegalStateException inRegion = assertThrows(IllegalStateException.class, () -> m.storePointer(node + 8, 0));
            assertTrue(inRegion.getMessage().contains("blocking region"), inRegion.getMessage());
            assertThrows(IllegalStateException.class, () -> m.loadPointer(node + 8));
        }
        assertEquals(node, m.loadPointer(node + 8), "nothing stored by the refused calls");
        heap.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> m.storePointer(node + 8, 0));
        assertEquals("heap is closed", closed.getMessage());
        closed = assertThrows(IllegalStateException.class, () -> m.loadPointer(node + 8));
        assertEquals("heap is closed", closed.getMessage());
    }
}
