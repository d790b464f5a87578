package io.goheap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A concurrent mark reads each thread's local frames once, at that thread's handshake step, and nothing at
 * termination: a keep after the step is recorded by the write barrier (see {@link LocalFrames}, {@link
 * WriteBarrier}). Each case drives a transfer to the interleaving where only that record saves the object, with
 * gccheckmark on (its stopped re-mark fails the cycle on a reachable object the mark missed).
 */
class FrameScanTest {
    static final HeapType NODE = CollectorModelTest.NODE;
    static final HeapType HOLDER = CollectorModelTest.HOLDER;

    private static long node(Heap heap, Mutator m, long id) {
        long x = m.allocate(NODE);
        heap.segment().set(JAVA_LONG, x - heap.base(), id);
        return x;
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS), "timed out");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Heap slot to a frame already read: a thread whose frames the mark read (parked in a blocking region: the
     * collector read them) takes x out of a manual holder, frees the holder (no barrier sees a free) and keeps x.
     */
    @Test
    void anObjectMovedFromAFreedHolderIntoAFrameAlreadyReadSurvives() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).godebug("gccheckmark=1").build();
             Mutator m = heap.attach()) {
            long holder = m.malloc(HOLDER);
            long x = node(heap, m, 7);
            m.storePointer(holder, x);                       // x lives only in the holder when the mark starts
            CountDownLatch attached = new CountDownLatch(1);
            CountDownLatch go = new CountDownLatch(1);
            CountDownLatch kept = new CountDownLatch(1);
            CountDownLatch cycleOver = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong scannedBefore = new AtomicLong();
            AtomicLong scannedWhenKept = new AtomicLong();
            Thread keeper = new Thread(() -> {
                try (Mutator other = heap.attach()) {
                    try (var region = other.blocking()) {    // parked: the collector reads its frames
                        attached.countDown();
                        await(go);
                    }
                    scannedWhenKept.set(other.framesScannedInMark());
                    long taken = other.loadPointer(holder);
                    other.free(holder);
                    other.keep(taken);                       // in a frame the mark has read already
                    kept.countDown();
                    try (var region = other.blocking()) {
                        await(cycleOver);
                    }
                    assertEquals(7, heap.segment().get(JAVA_LONG, taken - heap.base()), "x intact");
                } catch (Throwable e) {
                    failure.set(e);
                    kept.countDown();
                }
            });
            keeper.start();
            await(attached);
            heap.collector.framesScannedForTests = () -> {
                go.countDown();
                await(kept);
            };
            try {
                m.gc();
            } finally {
                heap.collector.framesScannedForTests = null;
                cycleOver.countDown();
                keeper.join();
            }
            assertNull(failure.get());
            assertTrue(scannedWhenKept.get() > scannedBefore.get(), "the keep came after the frame scan");
            assertEquals(7, heap.segment().get(JAVA_LONG, x - heap.base()), "x intact after the cycle");
        }
    }

    /**
     * A frame to another thread's frame through a Java object: the receiver's frames were read at its poll; the
     * sender, whose step has not run (it does not poll), hands q over in a field, and once the receiver has kept q
     * closes its Mutator — its frames are never read in this mark. Only the receiver's keep can save q.
     */
    @Test
    void anAddressHandedToAThreadWhoseFramesWereReadSurvivesTheSendersClose() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(3).godebug("gccheckmark=1").build();
             Mutator m = heap.attach()) {
            AtomicLong mailbox = new AtomicLong();
            AtomicBoolean stopPolling = new AtomicBoolean();
            CountDownLatch ready = new CountDownLatch(2);
            CountDownLatch senderSilent = new CountDownLatch(1);
            CountDownLatch taken = new CountDownLatch(1);
            CountDownLatch cycleOver = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean receiverReadFirst = new AtomicBoolean();
            Thread sender = new Thread(() -> {
                try (Mutator s = heap.attach()) {
                    long q = s.keep(node(heap, s, 11));      // before the mark: white, in this frame only
                    mailbox.set(q);
                    ready.countDown();
                    while (!stopPolling.get()) {
                        s.poll();                            // mark setup's handshakes need this thread's polls
                    }
                    senderSilent.countDown();
                    await(taken);                            // no poll: its frame-scan step does not run here
                } catch (Throwable e) {                      // ...and the close drops q from its frames
                    failure.set(e);
                }
            });
            Thread receiver = new Thread(() -> {
                try (Mutator r = heap.attach()) {
                    long before = r.framesScannedInMark();
                    ready.countDown();
                    while (r.framesScannedInMark() == before) {
                        r.poll();                            // runs its own frame-scan step
                    }
                    receiverReadFirst.set(true);
                    long q = r.keep(mailbox.get());
                    taken.countDown();
                    try (var region = r.blocking()) {
                        await(cycleOver);                    // q stays in this frame until the cycle is over
                    }
                    assertEquals(11, heap.segment().get(JAVA_LONG, q - heap.base()), "q intact");
                } catch (Throwable e) {
                    failure.set(e);
                    taken.countDown();
                }
            });
            sender.start();
            receiver.start();
            await(ready);
            heap.collector.concurrentMarkStartForTests = () -> {
                stopPolling.set(true);
                await(senderSilent);
            };
            try (var region = m.blocking()) {
                heap.collector.runPacedCycleForTests();
            } finally {
                heap.collector.concurrentMarkStartForTests = null;
                cycleOver.countDown();
                sender.join();
                receiver.join();
            }
            assertNull(failure.get());
            assertTrue(receiverReadFirst.get());
        }
    }

    /**
     * Nothing is read again at termination: a tree of 100 000 nodes held only in local frames — the collecting
     * thread's own and a thread parked in a blocking region — is marked while the world runs, and the stop scans
     * (almost) nothing.
     */
    @Test
    void terminationScansNothingOfTreesHeldInFrames() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).build();
             Mutator m = heap.attach()) {
            long mine = m.keep(tree(heap, m, 100_000));
            CountDownLatch parked = new CountDownLatch(1);
            CountDownLatch cycleOver = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try (Mutator o = heap.attach()) {
                    o.keep(tree(heap, o, 100_000));
                    try (var region = o.blocking()) {
                        parked.countDown();
                        await(cycleOver);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                    parked.countDown();
                }
            });
            other.start();
            await(parked);
            try {
                m.gc();
                assertTrue(heap.collector.terminationScanBytes < 4096,
                        "termination scanned " + heap.collector.terminationScanBytes + " bytes");
                assertEquals(200_000, heap.readMemStats().heapObjects(), "both trees survived");
            } finally {
                cycleOver.countDown();
                other.join();
            }
            assertNull(failure.get());
            assertTrue(mine != 0);
        }
    }

    /** A list of {@code n} nodes built in the frame of {@code m}: each new node points to the last. */
    private static long tree(Heap heap, Mutator m, int n) {
        long head = 0;
        try (Mutator.Frame f = m.enterFrame()) {
            for (int i = 0; i < n; i++) {
                long x = f.keep(node(heap, m, i));
                m.storePointer(x + 8, head);
                head = x;
            }
        }
        return head;
    }
}
