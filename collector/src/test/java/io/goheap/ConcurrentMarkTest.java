package io.goheap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The concurrent mark's protocols, each driven to its dangerous interleaving by a hook that runs another thread's
 * mutations when the mark starts, before it has scanned anything: what the snapshot-at-the-beginning barrier
 * alone would miss must be caught by the barrier's records of root sets and keeps (nothing is rescanned at
 * termination), and by the barrier buffers of Mutators closed during the mark. Each runs with gccheckmark on, which fails the cycle on any
 * reachable object the mark missed, and checks the object is intact afterwards.
 */
class ConcurrentMarkTest {
    static final HeapType NODE = CollectorModelTest.NODE;
    static final HeapType HOLDER = CollectorModelTest.HOLDER;

    /** Runs {@code body} on a fresh thread with its own Mutator and waits for it; rethrows what it threw. */
    private static void onAnotherThread(Heap heap, java.util.function.Consumer<Mutator> body) {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try (Mutator m = heap.attach()) {
                body.accept(m);
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        if (failure.get() != null) {
            throw new AssertionError("the mutating thread failed", failure.get());
        }
    }

    private static long node(Heap heap, Mutator m, long id) {
        long x = m.allocate(NODE);
        heap.segment().set(JAVA_LONG, x - heap.base(), id);
        return x;
    }

    @Test
    void aPointerTakenFromAHolderFreedDuringTheMarkAndPutInARootSurvives() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            long holder = m.malloc(HOLDER);
            long x = node(heap, m, 42);
            m.storePointer(holder, x);                      // x lives only in the holder when the mark starts
            heap.collector.concurrentMarkStartForTests = () -> onAnotherThread(heap, other -> {
                long taken = other.loadPointer(holder);
                other.free(holder);                           // no barrier sees a free: the snapshot loses x
                root.set(taken);                              // ...and only the root's barrier record saves it
            });
            m.gc();
            heap.collector.concurrentMarkStartForTests = null;
            assertEquals(x, root.get());
            assertEquals(42, heap.segment().get(JAVA_LONG, x - heap.base()), "x intact");
            assertEquals(1, heap.readMemStats().heapObjects(), "x, and nothing else (the holder was freed)");
        }
    }

    @Test
    @SuppressWarnings("try")
    void aPointerTakenFromAHolderFreedDuringTheMarkAndKeptInABlockedThreadsFrameSurvives() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).godebug("gccheckmark=1").build();
             Mutator m = heap.attach()) {
            long holder = m.malloc(HOLDER);
            long x = node(heap, m, 7);
            m.storePointer(holder, x);
            CountDownLatch kept = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread keeper = new Thread(() -> {
                try (Mutator other = heap.attach()) {
                    long taken = other.loadPointer(holder);
                    other.free(holder);
                    other.keep(taken);                          // in its local frame only
                    try (Mutator.Region region = other.blocking()) {   // waits, its P lent: the collector reads its frame
                        assertTrue(other.inBlockingRegion());
                        kept.countDown();
                        release.await(30, TimeUnit.SECONDS);
                    }
                    assertEquals(7, heap.segment().get(JAVA_LONG, taken - heap.base()));
                } catch (Throwable e) {
                    failure.set(e);
                    kept.countDown();
                }
            });
            heap.collector.concurrentMarkStartForTests = () -> {
                keeper.start();
                try {
                    assertTrue(kept.await(30, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            };
            try {
                m.gc();
            } finally {
                heap.collector.concurrentMarkStartForTests = null;
                release.countDown();
                keeper.join();
            }
            assertNull(failure.get());
            assertEquals(7, heap.segment().get(JAVA_LONG, x - heap.base()), "x intact after the cycle");
            m.gc();                                             // the keeper's frame went with its Mutator
            assertEquals(0, heap.readMemStats().heapObjects());
        }
    }

    @Test
    void aMutatorClosedDuringTheMarkHandsItsBarrierBufferToTheMarker() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            long holder = m.malloc(HOLDER);
            long x = node(heap, m, 9);
            m.storePointer(holder, x);
            long[] fresh = new long[1];
            heap.collector.concurrentMarkStartForTests = () -> onAnotherThread(heap, other -> {
                long d = other.allocate(NODE);                  // allocated black: the mark never scans it
                long taken = other.loadPointer(holder);
                other.storePointer(d + 8, taken);               // x's only trace: this thread's barrier buffer
                other.storePointer(holder, 0);
                root.set(d);
                fresh[0] = d;
            });                                                 // ...and the thread closes its Mutator here
            m.gc();
            heap.collector.concurrentMarkStartForTests = null;
            assertEquals(fresh[0], root.get());
            assertEquals(x, heap.segment().get(JAVA_LONG, fresh[0] + 8 - heap.base()));
            assertEquals(9, heap.segment().get(JAVA_LONG, x - heap.base()), "x intact");
            assertEquals(3, heap.readMemStats().heapObjects(), "holder, x and the new node");
        }
    }

    @Test
    void aDanglingPointerFoundWhileMutatorsRunIsReportedAtTermination() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            long parent = node(heap, m, 1);
            long child = node(heap, m, 2);
            m.storePointer(parent + 8, child);
            root.set(parent);
            m.free(child);                                      // parent now holds a dangling pointer
            InvalidPointerException e = assertThrows(InvalidPointerException.class, m::gc);
            assertTrue(e.getMessage().contains(String.format("0x%x", parent + 8)), e.getMessage());
            assertTrue(e.getMessage().contains("abandoned"), e.getMessage());
            m.storePointer(parent + 8, 0);
            m.gc();                                             // usable again once mended
            assertEquals(1, heap.readMemStats().heapObjects());
        }
    }

    @Test
    void thePacerRunsCyclesOnItsOwnThreadWhileTheAllocatingThreadGoesOn() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            long keep = node(heap, m, 5);
            root.set(keep);
            for (int i = 0; i < 200_000; i++) {
                long garbage = m.allocate(NODE);
                m.storePointer(garbage + 8, keep);
            }
            MemStats s = heap.readMemStats();
            assertTrue(s.numGC() > 0, "the pacer ran cycles");
            assertEquals(0, s.numForcedGC());
            assertFalse(heap.collector.barrier.marking || s.heapAlloc() > 64L << 20,
                    "garbage was reclaimed: " + s.heapAlloc());
            assertEquals(5, heap.segment().get(JAVA_LONG, keep - heap.base()));
        }
    }

    static final HeapType WRAPPER = HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(2,
            java.lang.foreign.ValueLayout.ADDRESS));
    static final HeapType JUNK = HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(64, JAVA_LONG));

    /**
     * Hostile pass: a dropped object held the only pointer to a buffer the program then frees. The snapshot rule may
     * scan the dropped object once (its pointer was overwritten through the barrier) and find the freed buffer: no
     * reachable slot ever held a freed address, so nothing may be reported — in either collector.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"", "gcstoptheworld=1"})
    void freeingWhatADroppedObjectPointedToIsNotReported(String godebug) {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).godebug(godebug).build();
             Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long table = m.allocate(WRAPPER);
            root.set(table);
            for (int i = 0; i < 50_000; i++) {
                long w = m.allocate(WRAPPER);
                m.storePointer(table, w);
                long buf = m.malloc(4096);
                m.storePointer(w, buf);
                for (int j = 0; j < 8; j++) {
                    m.allocate(JUNK);                          // drives the pacer
                }
                m.storePointer(table, 0);                      // drop the wrapper: garbage from here on
                m.free(buf);                                   // ...and free what it owned
                if (i % 5_000 == 0) {
                    m.gc();                                    // gc() too: its reachability check must agree
                }
            }
            assertTrue(heap.readMemStats().numGC() > 10, "cycles ran: " + heap.readMemStats().numGC());
        }
    }

    /**
     * Hostile pass: a large manual object with pointer slots is freed while a concurrent mark scans it and its pages
     * are reused for pointer-free data whose words look like heap addresses: no report.
     */
    @Test
    void aLargeObjectFreedAndReusedForDataWhileItIsScannedIsNotReported() throws Exception {
        long slots = 2L << 20;                                 // 16 MiB of pointer slots: a long scan
        HeapType big = HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(slots,
                java.lang.foreign.ValueLayout.ADDRESS));
        for (int attempt = 0; attempt < 6; attempt++) {
            try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).godebug("gccheckmark=1").build();
                 Mutator m = heap.attach(); Root root = heap.newRoot()) {
                java.lang.foreign.MemorySegment mem = heap.segment();
                long base = heap.base();
                long target = m.allocate(NODE);
                root.set(target);
                long object = m.malloc(big);
                for (long i = 0; i < slots; i++) {
                    mem.set(JAVA_LONG, object + 8 * i - base, target);
                }
                long notAPointer = base + (1L << 30) - (64L << 20);
                long delayNs = 300_000L * attempt;
                AtomicReference<Throwable> other = new AtomicReference<>();
                CountDownLatch go = new CountDownLatch(1);
                Thread t = new Thread(() -> {
                    try (Mutator o = heap.attach()) {
                        go.await();
                        long until = System.nanoTime() + delayNs;
                        while (System.nanoTime() < until) {
                            Thread.onSpinWait();
                        }
                        o.free(object);
                        long data = o.malloc(slots * 8);       // pointer-free: any bits are fine
                        long lo = Math.max(data, object);
                        long hi = Math.min(data + slots * 8, object + slots * 8);
                        for (long a = lo; a < hi && a < lo + (1 << 20); a += 8) {
                            mem.set(JAVA_LONG, a - base, notAPointer);
                        }
                    } catch (Throwable e) {
                        other.set(e);
                    }
                });
                t.start();
                go.countDown();
                m.gc();
                t.join();
                assertNull(other.get());
                assertEquals(2, heap.readMemStats().heapObjects(), "the target and the data object");
            }
        }
    }

    /**
     * Hostile pass: when only closing Mutators consult the pacer (short-lived threads), a real dangling pointer is
     * still reported — close used to swallow the report with the "heap closed" case — in both collectors.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"gccheckmark=1", "gccheckmark=1,gcstoptheworld=1", ""})
    void aDanglingPointerIsReportedWhenOnlyClosingMutatorsPace(String godebug) throws Exception {
        HeapType garbage = HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(128,
                java.lang.foreign.ValueLayout.ADDRESS));
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).godebug(godebug).build();
             Root root = heap.newRoot()) {
            try (Mutator m = heap.attach()) {
                long holder = m.allocate(WRAPPER);
                root.set(holder);
                long keepSpan = m.allocate(NODE);
                m.storePointer(holder + 8, keepSpan);
                long x = m.allocate(NODE);
                m.storePointer(holder, x);
                m.free(x);                                      // holder now holds a dangling pointer
            }
            AtomicReference<Throwable> reported = new AtomicReference<>();
            for (int task = 0; task < 3000 && reported.get() == null; task++) {
                Thread t = new Thread(() -> {
                    try (Mutator m = heap.attach()) {
                        for (int i = 0; i < 50; i++) {
                            m.allocate(garbage);                // ~57 KiB: under the pacer's 64 KiB check
                        }
                    } catch (Throwable e) {
                        reported.compareAndSet(null, e);
                    }
                });
                t.start();
                t.join();
            }
            assertTrue(reported.get() instanceof InvalidPointerException, "reported: " + reported.get());
            try (Mutator m = heap.attach()) {
                m.allocate(NODE);                               // the closing thread got its P back: usable
            }
        }
    }

    /**
     * Hostile pass: with GOGC off only gc() marks, and a thread allocating collected objects meanwhile must go on
     * beside the mark (an overflow of the hard goal, Long.MAX_VALUE + a tenth, made every such allocation wait for
     * the whole cycle). The other thread allocates 2 MiB — 32 pacer checks — while the mark is held at its start.
     */
    @Test
    void withGogcOffAllocationGoesOnBesideAForcedMark() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).gcPercent(-1)
                .godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            root.set(node(heap, m, 1));
            AtomicReference<Throwable> failure = new AtomicReference<>();
            boolean[] finished = new boolean[1];
            heap.collector.concurrentMarkStartForTests = () -> {
                Thread t = new Thread(() -> {
                    try (Mutator other = heap.attach()) {
                        for (int i = 0; i < 2 * 1024 * 1024 / 32; i++) {
                            other.allocate(NODE);                // garbage, paced every 64 KiB
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
                t.start();
                try {
                    t.join(20_000);
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                finished[0] = !t.isAlive();
            };
            m.gc();
            heap.collector.concurrentMarkStartForTests = null;
            assertNull(failure.get());
            assertTrue(finished[0], "the allocating thread finished while the mark ran");
            assertEquals(1, heap.readMemStats().numGC());
        }
    }

    /**
     * The lazy mcache flush through the public API: cycles the pacer runs leave the Ps' collected spans stale, and a
     * Mutator that sat in a blocking region across two of them must sweep its stale span before it allocates again
     * — else its new nodes land unmarked in a span the next cycle sweeps, and the list below dangles (checkmark and
     * the invalid-pointer check report it).
     */
    @Test
    void aMutatorBlockedAcrossPacedCyclesSweepsItsStaleSpansBeforeItAllocates() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root head = heap.newRoot()) {
            long slot = CollectorModelTest.NODE.layout().byteOffset(
                    java.lang.foreign.MemoryLayout.PathElement.groupElement("next"),
                    java.lang.foreign.MemoryLayout.PathElement.sequenceElement(0));
            int id = 0;
            for (int i = 0; i < 50; i++) {
                long n = node(heap, m, ++id);
                m.storePointer(n + slot, head.get());
                head.set(n);
                node(heap, m, -1);                            // garbage beside it, in the same span
            }
            try (var region = m.blocking()) {
                heap.collector.runPacedCycleForTests();       // this P is lent: its span goes stale
            }
            for (int i = 0; i < 50; i++) {                    // leaving the region swept it: these land in
                long n = node(heap, m, ++id);                 // swept slots, not in the stale span
                m.storePointer(n + slot, head.get());
                head.set(n);
            }
            try (var region = m.blocking()) {
                heap.collector.runPacedCycleForTests();       // stale again...
                heap.collector.runPacedCycleForTests();       // ...until this setup prepares it, world stopped
            }
            for (int i = 0; i < 50; i++) {
                long n = node(heap, m, ++id);
                m.storePointer(n + slot, head.get());
                head.set(n);
            }
            heap.collector.runPacedCycleForTests();
            m.gc();
            int seen = 0;
            for (long n = head.get(); n != 0; n = m.loadPointer(n + slot)) {
                assertEquals(id - seen, heap.segment().get(JAVA_LONG, n - heap.base()), "list intact");
                seen++;
            }
            assertEquals(150, seen);
            assertEquals(150, heap.readMemStats().heapObjects(), "the list, and none of the garbage");
        }
    }

    /**
     * The ragged barrier before mark termination takes each Mutator's partial barrier buffer — pointers a thread
     * stored during the mark, fewer than a buffer's worth, so no flush of its own queued them — whether the thread
     * runs the handshake step itself at its poll or is parked in a blocking region and the collector runs it; the
     * pointers are shaded before the stop (checkmark on: nothing reachable missed).
     */
    @Test
    void theRaggedBarrierTakesPartialBuffersFromPollingAndBlockedThreads() throws Exception {
        for (boolean blocked : new boolean[] {true, false}) {
            try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(3).gcPercent(-1)
                    .godebug("gccheckmark=1").build();
                 Mutator m = heap.attach();
                 Root root = heap.newRoot()) {
                long holder = m.allocate(NODE);
                root.set(holder);
                long[] xs = new long[10];
                for (int i = 0; i < xs.length; i++) {
                    xs[i] = node(heap, m, 100 + i);
                }
                CountDownLatch go = new CountDownLatch(1);
                CountDownLatch stored = new CountDownLatch(1);
                java.util.concurrent.atomic.AtomicBoolean cycleOver = new java.util.concurrent.atomic.AtomicBoolean();
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try (Mutator other = heap.attach()) {
                        try (var waiting = other.blocking()) {   // (a holder waiting outside a region stalls handshakes)
                            go.await();
                        }
                        for (long x : xs) {                      // 10 stores through the barrier: 20 entries
                            other.storePointer(holder + 8, x);
                        }
                        stored.countDown();
                        if (blocked) {
                            try (var region = other.blocking()) {
                                while (!cycleOver.get()) {
                                    Thread.onSpinWait();
                                }
                            }
                        } else {
                            while (!cycleOver.get()) {
                                other.poll();                    // runs the handshake step itself
                            }
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
                t.start();
                heap.collector.concurrentMarkStartForTests = () -> {
                    go.countDown();
                    try {
                        assertTrue(stored.await(10, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                };
                try (var region = m.blocking()) {
                    heap.collector.runPacedCycleForTests();
                } finally {
                    heap.collector.concurrentMarkStartForTests = null;
                    cycleOver.set(true);
                    t.join();
                }
                assertNull(failure.get());
                assertTrue(heap.collector.raggedPointers >= 19, (blocked ? "blocked" : "polling")
                        + " thread: the ragged barrier took its partial buffer, got " + heap.collector.raggedPointers);
                assertEquals(xs[xs.length - 1], m.loadPointer(holder + 8));
                assertEquals(109, heap.segment().get(JAVA_LONG, xs[xs.length - 1] - heap.base()), "intact");
            }
        }
    }
}
