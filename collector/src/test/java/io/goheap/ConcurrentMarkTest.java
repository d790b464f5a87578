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
 * alone would miss must be caught by mark termination's rescan of roots and local frames, and by the barrier
 * buffers of Mutators closed during the mark. Each runs with gccheckmark on, which fails the cycle on any
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
                root.set(taken);                              // ...and only the rescan at termination finds it
            });
            m.gc();
            heap.collector.concurrentMarkStartForTests = null;
            assertEquals(x, root.get());
            assertEquals(42, heap.segment().get(JAVA_LONG, x - heap.base()), "x intact");
            assertEquals(1, heap.readMemStats().heapObjects(), "x, and nothing else (the holder was freed)");
        }
    }

    @Test
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
                    try (var region = other.blocking()) {     // then waits, its P lent: termination scans its frame
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
}
