package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The handshake ({@link Procs#handshake}, Go's forEachP): the action runs exactly once for every P, on the
 * holder's own thread when the holder polls, by the handshaker for idle, dead-held, lent and its own Ps; never
 * while another thread uses that P; and the handshake returns only when every P's action is done.
 */
class HandshakeTest {

    /** Runs {@code body} on a new thread; returns the thread (started). */
    private static Thread start(AtomicReference<Throwable> failure, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void theActionRunsOnceForEveryPWhereverItsHolderIs() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(4).build()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch ready = new CountDownLatch(2);
            Map<Integer, Thread> polling = new ConcurrentHashMap<>();
            // P held by a thread that polls (allocates and frees in a loop)
            Thread looping = start(failure, () -> {
                try (Mutator m = heap.attach()) {
                    polling.put(0, Thread.currentThread());
                    ready.countDown();
                    while (!stop.get()) {
                        m.free(m.malloc(32));
                    }
                }
            });
            // P lent by a thread blocked inside a blocking region
            CountDownLatch release = new CountDownLatch(1);
            Thread blocked = start(failure, () -> {
                try (Mutator m = heap.attach(); var region = m.blocking()) {
                    ready.countDown();
                    release.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            ready.await();
            // the handshaker's own P; the fourth P idle
            try (Mutator own = heap.attach()) {
                Map<Integer, Integer> runs = new ConcurrentHashMap<>();
                Map<Integer, Thread> ranOn = new ConcurrentHashMap<>();
                heap.procs().handshake(p -> {
                    runs.merge(p.id, 1, Integer::sum);
                    ranOn.put(p.id, Thread.currentThread());
                });
                assertEquals(4, runs.size(), "every P: " + runs);
                runs.values().forEach(n -> assertEquals(1, n, "once each: " + runs));
                assertTrue(ranOn.containsValue(looping), "the polling holder ran its action itself: " + ranOn);
                assertFalse(ranOn.containsValue(blocked), "the blocked holder did not run: " + ranOn);
                for (int i = 0; i < 4; i++) {
                    assertEquals(P.HS_NONE, heap.procs().get(i).handshakeState);
                    assertEquals(0, heap.procs().get(i).preempt & (P.HANDSHAKE | P.STOP), "no request left");
                }
                own.free(own.malloc(16));                   // the heap goes on
            } finally {
                stop.set(true);
                release.countDown();
                looping.join();
                blocked.join();
            }
            assertNull(failure.get());
        }
    }

    @Test
    void aHolderLeavingItsRegionWaitsWhileTheHandshakerRunsItsAction() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch inRegion = new CountDownLatch(1);
            CountDownLatch actionStarted = new CountDownLatch(1);
            AtomicBoolean actionRunning = new AtomicBoolean();
            AtomicBoolean overlapped = new AtomicBoolean();
            Thread holder = start(failure, () -> {
                try (Mutator m = heap.attach()) {
                    try (var region = m.blocking()) {
                        inRegion.countDown();
                        actionStarted.await();              // leave while the handshaker runs the action
                    }
                    overlapped.set(actionRunning.get());    // the P is ours again: the action must be over
                    m.free(m.malloc(64));
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            inRegion.await();
            heap.procs().handshake(p -> {
                actionRunning.set(true);
                actionStarted.countDown();
                try {
                    Thread.sleep(50);                        // the holder tries to leave its region meanwhile
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                actionRunning.set(false);
            });
            holder.join();
            assertNull(failure.get());
            assertFalse(overlapped.get(), "the holder ran while the handshaker used its P");
        }
    }

    @Test
    void idleAndDeadHoldersPsAreHandledByTheHandshaker() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            Thread dying = new Thread(() -> heap.attach().malloc(24));  // dies holding its P
            dying.start();
            dying.join();
            AtomicInteger runs = new AtomicInteger();
            heap.procs().handshake(p -> {
                assertSame(Thread.currentThread(), p.ownerPlain(), "the handshaker holds the P it runs for");
                runs.incrementAndGet();
            });
            assertEquals(2, runs.get());
            heap.free(heap.malloc(16));
        }
    }

    @Test
    void handshakesAndStopsDoNotOverlap() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            heap.procs().stopTheWorld();
            try {
                assertThrows(IllegalStateException.class, () -> heap.procs().handshake(p -> { }));
            } finally {
                heap.procs().startTheWorld();
            }
            AtomicReference<Throwable> other = new AtomicReference<>();
            heap.procs().handshake(p -> {
                Thread t = new Thread(() -> {
                    try {
                        heap.procs().stopTheWorld();         // another thread, while the handshake runs
                        heap.procs().startTheWorld();
                    } catch (IllegalStateException e) {
                        other.set(e);
                    }
                });
                t.start();
                try {
                    t.join();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            assertTrue(other.get() != null && other.get().getMessage().contains("handshake"), String.valueOf(other.get()));
            heap.free(heap.malloc(8));
        }
    }
}
