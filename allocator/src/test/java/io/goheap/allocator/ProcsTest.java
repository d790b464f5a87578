package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Ps, not threads: many threads share GOMAXPROCS caches; dead holders leak nothing; nesting cannot deadlock;
 * stopping the world waits for holders and keeps newcomers out.
 */
class ProcsTest {

    @Test
    void aThreadThatDiesHoldingAPLeaksNothing() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            long[] fromDead = new long[100];
            Thread t = new Thread(() -> {
                Mutator m = heap.attach();       // never closed: the thread just ends
                for (int i = 0; i < fromDead.length; i++) {
                    fromDead[i] = m.malloc(24);
                }
            });
            t.start();
            t.join();
            // The only P belongs to a dead thread; the next thread must get it.
            try (Mutator m = heap.attach()) {
                long p = m.malloc(24);
                m.free(p);
                for (long q : fromDead) {
                    m.free(q);                  // same cache: local frees
                }
            }
            assertEquals(0, heap.readMemStats().heapObjects());
            HeapAudit.check(heap);
        }
    }

    @Test
    void nestedUseOfBothApisOnOneThreadDoesNotDeadlock() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            try (Mutator outer = heap.attach()) {
                long a = outer.malloc(40);
                long b = heap.malloc(40);        // same thread, only P held by itself: reuses it
                try (Mutator inner = heap.attach()) {
                    inner.free(a);
                }
                outer.free(b);                   // still held after the inner close
            }
            try (Mutator again = heap.attach()) {
                again.free(again.malloc(8));
            }
            HeapAudit.check(heap);
        }
    }

    @Test
    void stoppingTheWorldStopsHoldersAtTheirNextPollLetsThemNestAndKeepsNewcomersOut() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            Procs procs = heap.procs();
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch letGo = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long[] nested = new long[1];
            Runnable holding0 = () -> {
                try (Mutator m = heap.attach()) {
                    holding.countDown();
                    await(letGo);
                    nested[0] = heap.malloc(32);     // a nested hold while the world is stopping: must not wait
                    m.free(nested[0]);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            };
            // The holder must sit on P0, which the stopper takes first, so P1 stays idle while the stopper waits:
            // only the claim keeps the late thread off it. A thread tries its home P (Procs.homeIndex) first.
            Thread holder;
            do {
                holder = new Thread(holding0);
            } while (Procs.homeIndex(holder.threadId(), 2) != 0);
            holder.start();
            holding.await();
            assertSame(holder, procs.get(0).ownerPlain(), "the holder sits on P0");

            CountDownLatch stopped = new CountDownLatch(1);
            CountDownLatch restart = new CountDownLatch(1);
            Thread stopper = new Thread(() -> {
                try {
                    procs.stopTheWorld();
                    stopped.countDown();
                    await(restart);
                    procs.startTheWorld();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            stopper.start();
            while (!procs.worldStopping()) {
                Thread.onSpinWait();
            }
            AtomicReference<Long> newcomer = new AtomicReference<>();
            Thread late = new Thread(() -> newcomer.set(heap.malloc(16)));
            late.start();

            letGo.countDown();                       // the holder nests, then its free is a safepoint: it lends P0
            stopped.await();                         // only then does the world stop, the Mutator still open
            assertTrue(holder.isAlive(), "the holder parks at its safepoint, keeping its Mutator");
            assertSame(holder, procs.get(0).safeHolder, "P0 is lent, not taken");
            assertNotNull(nested[0], "the nested hold did not wait for the stop");
            assertNull(newcomer.get(), "a thread got a P while the world was stopped");
            assertTrue(late.isAlive());
            restart.countDown();
            holder.join();
            late.join();
            stopper.join();
            assertNull(failure.get());
            assertNotNull(newcomer.get(), "the waiting thread got its P once the world restarted");
            heap.free(newcomer.get());
            assertFalse(procs.worldStopping());
            HeapAudit.check(heap);
        }
    }

    @Test
    void aStopperThatDiesDoesNotFreezeTheHeap() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            Procs procs = heap.procs();
            Thread stopper = new Thread(procs::stopTheWorld);   // stops the world and dies holding it
            stopper.start();
            stopper.join();
            assertTrue(procs.worldStopping());
            long p = heap.malloc(64);                           // drops the dead claim, takes over a dead P
            heap.free(p);
            assertFalse(procs.worldStopping());
            procs.stopTheWorld();                               // and the world can be stopped again
            procs.startTheWorld();
            HeapAudit.check(heap);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aMutatorIsConfinedToItsThread() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            Mutator m = heap.attach();
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    m.malloc(8);
                } catch (Throwable e) {
                    seen.set(e);
                }
            });
            t.start();
            t.join();
            assertInstanceOf(IllegalStateException.class, seen.get());
            m.close();
            m.close();
            assertThrows(IllegalStateException.class, () -> m.malloc(8), "closed mutator");
        }
    }

    @Test
    void thousandsOfVirtualThreadsShareTwoPs() throws Exception {
        try (Heap heap = Heap.builder().reservation(512L << 20).maxProcs(2).build()) {
            ConcurrentLinkedQueue<Long> survivors = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try (var exec = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < 2000; t++) {
                    int id = t;
                    exec.submit(() -> {
                        try {
                            List<Long> mine = new ArrayList<>();
                            for (int i = 0; i < 50; i++) {
                                mine.add(heap.malloc(8 + (id + i) % 500));
                            }
                            for (int i = 0; i < mine.size(); i++) {
                                if (i % 5 == 0) {
                                    survivors.add(mine.get(i));
                                } else {
                                    heap.free(mine.get(i));
                                }
                            }
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                    });
                }
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            AllocStats m = heap.readMemStats();
            assertEquals(2000 * 50, m.mallocs());
            assertEquals(survivors.size(), m.heapObjects(), "exactly the survivors are live");
            for (long p : survivors) {
                heap.free(p);
            }
            HeapAudit.check(heap);
        }
    }

    /**
     * A stopper that dies after asking every holder to stop must not leave them parked forever: a holder parked at
     * its safepoint notices the dead claim, withdraws the request and goes on.
     */
    @Test
    void aHolderParkedForAStopperThatDiedGoesOn() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            Procs procs = heap.procs();
            Thread stopper = new Thread(procs::stopTheWorld);   // stops, then dies without restarting
            stopper.start();
            stopper.join();
            try (Mutator m = heap.attach()) {
                long p = m.malloc(64);                        // P 0 or 1: both were taken by the dead stopper
                m.free(p);
            }
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            Thread holder = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    for (int i = 0; i < 1000; i++) {
                        m.free(m.malloc(32));
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            holder.start();
            holder.join(10_000);
            assertFalse(holder.isAlive(), "a holder is still parked for a dead stopper");
            assertNull(failure.get());
            assertFalse(procs.worldStopping());
        }
    }

    @Test
    void homePsSpreadSequentialThreadIdsEvenlyAndStayInRange() {
        for (int n : new int[] {1, 2, 3, 4, 7, 8, 64, 1000}) {
            int[] hits = new int[n];
            int threads = 1000 * n;
            for (long id = 1; id <= threads; id++) {
                int i = Procs.homeIndex(id, n);
                assertTrue(i >= 0 && i < n, "index " + i + " for n=" + n);
                hits[i]++;
            }
            for (int i = 0; i < n; i++) {
                assertTrue(hits[i] > 800 && hits[i] < 1200, "n=" + n + ": P " + i + " is home to " + hits[i] + " of " + threads);
            }
        }
        assertTrue(Procs.homeIndex(Long.MAX_VALUE, 5) < 5 && Procs.homeIndex(-1L, 5) >= 0);
    }
}
