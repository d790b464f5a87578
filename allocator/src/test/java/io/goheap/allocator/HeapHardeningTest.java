package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Defects and the documented exception types, each found by using the released API as a hostile
 * user would; every test here failed before its fix.
 */
class HeapHardeningTest {

    // ------------------------------------------------------------------ 2. close() and threads waiting for a P

    /** Starts {@code body} on a thread and waits until it is parked (blocked waiting for a P). */
    private static Thread startBlocked(Runnable body) throws InterruptedException {
        Thread t = new Thread(body, "waiter");
        t.setDaemon(true);
        t.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING) {
            assertTrue(t.isAlive(), "the waiter finished instead of waiting for the P");
            assertTrue(System.nanoTime() < deadline, "the waiter never blocked");
            Thread.sleep(1);
        }
        return t;
    }

    @Test
    void closeWakesEveryThreadWaitingForAPWithTheHeapsOwnMessage() throws Exception {
        Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build();
        Mutator holder = heap.attach();                  // the only P, never let go before the close
        holder.malloc(64);
        ConcurrentLinkedQueue<Object> outcomes = new ConcurrentLinkedQueue<>();
        List<Thread> waiters = new ArrayList<>();
        waiters.add(startBlocked(() -> outcomes.add(attempt(() -> heap.malloc(64)))));
        waiters.add(startBlocked(() -> outcomes.add(attempt(() -> heap.mallocScan(700)))));
        waiters.add(startBlocked(() -> outcomes.add(attempt(() -> {
            heap.attach();
            return 0L;
        }))));
        heap.close();
        for (Thread t : waiters) {
            t.join(TimeUnit.SECONDS.toMillis(10));
            assertTrue(!t.isAlive(), "a waiter still blocks after close");
        }
        assertEquals(3, outcomes.size());
        for (Object o : outcomes) {
            assertTrue(o instanceof IllegalStateException e && e.getMessage().equals("heap is closed"),
                    "expected the heap's own message, got " + o);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> holder.malloc(64));
        assertEquals("heap is closed", e.getMessage());
        holder.close();                                  // letting go of the P after the close is fine
        assertEquals("heap is closed", assertThrows(IllegalStateException.class, () -> heap.malloc(8)).getMessage());
    }

    /** What {@code call} returned, or what it threw. */
    private static Object attempt(java.util.concurrent.Callable<Long> call) {
        try {
            return call.call();
        } catch (Throwable t) {
            return t;
        }
    }

    /**
     * Threads allocate and free through both APIs while another thread closes the heap: each call either works
     * (before the close) or throws "heap is closed" — never the JDK's "Already closed" of the unmapped segment,
     * never another error — and no address comes back from a call that started after the close was seen.
     */
    @Test
    void allocationsRacingWithCloseSeeOnlyTheHeapsMessage() throws Exception {
        for (int round = 0; round < 20; round++) {
            Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build();
            int threads = 3;
            CountDownLatch started = new CountDownLatch(threads);
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                boolean useMutator = t % 2 == 0;
                Thread th = new Thread(() -> {
                    started.countDown();
                    try (Mutator m = useMutator ? heap.attach() : null) {
                        for (int i = 0; ; i++) {
                            long size = (i % 7 == 0) ? 40_000 : 8 + (i % 300);
                            long p = m != null ? m.malloc(size) : heap.malloc(size);
                            if (m != null) {
                                m.free(p);
                            } else {
                                heap.free(p);
                            }
                        }
                    } catch (IllegalStateException e) {
                        if (!"heap is closed".equals(e.getMessage())) {
                            wrong.compareAndSet(null, e);
                        }
                    } catch (Throwable e) {
                        wrong.compareAndSet(null, e);
                    }
                });
                th.start();
                all.add(th);
            }
            started.await();
            Thread.sleep(round % 5);
            heap.close();
            for (Thread th : all) {
                th.join(TimeUnit.SECONDS.toMillis(20));
                assertTrue(!th.isAlive(), "a thread did not stop after close");
            }
            if (wrong.get() != null) {
                throw new AssertionError("round " + round + ": unexpected failure", wrong.get());
            }
        }
    }

    // ------------------------------------------------------------------ 4. a dead thread's P keeps its cache

    @Test
    void freeOSMemoryFlushesTheCacheOfAThreadThatDiedHoldingItsP() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).build()) {
            Thread dying = new Thread(() -> {
                Mutator m = heap.attach();               // never closed
                List<Long> objects = new ArrayList<>();
                for (long size : new long[] {1, 8, 12, 16, 100, 5000, 30_000}) {
                    for (int i = 0; i < 10; i++) {
                        objects.add(m.malloc(size));
                    }
                }
                objects.forEach(m::free);
            });
            dying.start();
            dying.join();
            AllocStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects());
            assertTrue(s.heapInuse() > 0, "the dead thread's P still caches spans: " + s.compact());
            heap.freeOSMemory();
            s = heap.readMemStats();
            assertEquals(0, s.heapInuse(), "flushed: " + s.compact());
            assertEquals(0, s.heapObjects());
            assertEquals(s.heapSys(), s.heapReleased());
            HeapAudit.check(heap);
            try (Mutator again = heap.attach()) {       // the orphaned P is usable again
                again.free(again.malloc(64));
            }
        }
    }

    @Test
    void freeOSMemoryFlushesTheCallersOwnCacheToo() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build();
             Mutator m = heap.attach()) {
            long p = m.malloc(48);
            m.free(p);
            assertTrue(heap.readMemStats().heapInuse() > 0);
            heap.freeOSMemory();
            assertEquals(0, heap.readMemStats().heapInuse());
            m.free(m.malloc(48));                        // and the Mutator goes on
            HeapAudit.check(heap);
        }
    }

    // ------------------------------------------------------------------ 3. page-count overflow, huge objects

    @Test
    void objectsOfTheWholeReservationFailWithAClearOutOfMemoryError() {
        try (Heap heap = Heap.builder().reservation(Heap.MAX_RESERVATION).maxProcs(1).build()) {
            for (long size : new long[] {1L << 44, (1L << 44) - 8191}) {
                OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> heap.malloc(size));
                assertTrue(e.getMessage().contains(Long.toString(size)) && e.getMessage().contains("largest object"),
                        e.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> heap.malloc((1L << 44) + 1));
            assertEquals(0, heap.readMemStats().heapSys(), "nothing was grown");
            heap.free(heap.malloc(64));
            HeapAudit.check(heap);
        }
    }

    /**
     * 8 TiB in one object: its page-index entries cost two page arrays and a reference per 64 MiB (before: a
     * reference per 8 KiB page, 4 GiB of Java heap, and an OutOfMemoryError).
     */
    @Test
    void aHugeObjectsIndexCostsLittleJavaHeap() {
        try (Heap heap = Heap.builder().reservation(Heap.MAX_RESERVATION).maxProcs(1).build()) {
            long indexBefore = heap.mheap().spans.metadataBytes();
            long p = heap.malloc(8L << 40);
            assertEquals(8L << 40, heap.usableSize(p));
            assertEquals(p, heap.baseOf(p + (5L << 40)));
            long index = heap.mheap().spans.metadataBytes() - indexBefore;
            assertTrue(index <= 2 * (16 + 4 * 8192), "index bytes for one 8 TiB object: " + index);
            heap.segment().set(java.lang.foreign.ValueLayout.JAVA_LONG, p - heap.base() + (7L << 40), 42L);
            heap.free(p);
            assertEquals(0, heap.readMemStats().heapInuse());
            HeapAudit.check(heap);
        }
    }

    // ------------------------------------------------------------------ documented exception types

    @Test
    void freesWhereNoObjectIsSayDoubleFreeOrNeverAllocated() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            long keep = heap.malloc(48);                 // keeps the span in use
            long never = keep + 48;                      // the next slot, never handed out
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.free(never));
            assertTrue(e.getMessage().contains("double free or never allocated"), e.getMessage());

            long large = heap.malloc(100_000);
            heap.free(large);
            e = assertThrows(IllegalStateException.class, () -> heap.free(large));
            assertTrue(e.getMessage().contains("double free or never allocated")
                    && e.getMessage().contains(Long.toHexString(large)), e.getMessage());

            long scan = heap.mallocScan(1000);           // scan objects above 512 bytes carry an 8-byte header
            IllegalArgumentException h = assertThrows(IllegalArgumentException.class, () -> heap.free(scan - 8));
            assertTrue(h.getMessage().contains("malloc header") && h.getMessage().contains(Long.toHexString(scan)),
                    h.getMessage());
            try (Mutator m = heap.attach()) {            // the same through the fast path's fallback
                assertThrows(IllegalArgumentException.class, () -> m.free(scan - 8));
                assertThrows(IllegalStateException.class, () -> m.free(never));
            }
            long tail = keep + 170 * 48;                 // a 48-byte span holds 170 objects, then 32 unused bytes
            IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> heap.free(tail));
            assertTrue(t.getMessage().contains("past the last 48-byte object"), t.getMessage());
            heap.free(scan);
            heap.free(keep);
            assertEquals(0, heap.readMemStats().heapObjects());
            HeapAudit.check(heap);
        }
    }

    @Test
    void freesOfAddressesOutsideTheHeapStayIllegalArguments() {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            for (long bad : new long[] {0, 16, -8, heap.base() - 8, heap.base() + heap.reservation()}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> heap.free(bad));
                assertNotNull(e.getMessage());
                assertTrue(e.getMessage().contains("not a heap address"), e.getMessage());
            }
        }
    }

    /**
     * A thread interrupted while it waits for a P keeps waiting without spinning (a set interrupt status made every
     * park return at once: one core busy for as long as the P was held), and has its status back when it gets one.
     */
    @Test
    void anInterruptedWaiterParksAndKeepsItsInterruptStatus() throws Exception {
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build()) {
            Mutator holder = heap.attach();
            AtomicReference<Boolean> interruptedAfter = new AtomicReference<>();
            Thread waiter = startBlocked(() -> {
                heap.free(heap.malloc(64));
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            });
            waiter.interrupt();
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            long cpu0 = mx.getThreadCpuTime(waiter.threadId());
            Thread.sleep(500);
            long cpu = mx.getThreadCpuTime(waiter.threadId()) - cpu0;
            assertTrue(cpu < 200_000_000L, "the interrupted waiter used " + cpu / 1_000_000 + " ms of CPU in 500 ms");
            assertTrue(waiter.isAlive(), "still waiting for the P");
            holder.close();
            waiter.join(10_000);
            assertEquals(Boolean.TRUE, interruptedAfter.get(), "the interrupt status is kept");
        }
    }

    /**
     * Snapshots taken while another thread fills spans, frees everything and returns the pages hold Go's invariants,
     * HeapAlloc <= HeapInuse included (the hostile pass saw it broken in 22% of reads: frees were read before the
     * page counts, and spans emptied meanwhile had left HeapInuse).
     */
    @Test
    void snapshotsUnderChurnKeepHeapAllocWithinHeapInuse() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).build()) {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread churn = new Thread(() -> {
                long[] objects = new long[4096];
                while (!stop.get()) {
                    for (int i = 0; i < objects.length; i++) {
                        objects[i] = heap.malloc(1024);
                    }
                    for (long p : objects) {
                        heap.free(p);
                    }
                    heap.freeOSMemory();
                }
            });
            churn.start();
            try {
                for (int i = 0; i < 20_000; i++) {
                    AllocStatsInvariants.check(heap.readMemStats());
                }
            } finally {
                stop.set(true);
                churn.join();
            }
        }
    }
}
