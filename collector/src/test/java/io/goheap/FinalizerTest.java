package io.goheap;

import static io.goheap.CollectorTest.NODE;
import static io.goheap.CollectorTest.list;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Finalizers and cleanups, with the cases of Go's mfinal_test and mcleanup_test (reference §4.13, §10). */
class FinalizerTest {
    Heap heap;
    Mutator m;

    @BeforeEach
    void open() {
        heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("gccheckmark=1").build();
        m = heap.attach();
    }

    @AfterEach
    void close() {
        m.close();
        heap.close();
    }

    private void await(CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(10, TimeUnit.SECONDS), "the finalizer thread did not run it");
        awaitIdle();
    }

    /** Until every queued finalizer and cleanup has finished (and released its object's root). */
    private void awaitIdle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (heap.collector.specials.pending() > 0) {
            assertTrue(System.nanoTime() < deadline, "finalizers still pending");
            Thread.sleep(1);
        }
    }

    @Test
    void aFinalizerRunsOnceWithItsObjectReadableAndTheObjectGoesAtALaterCycle() throws Exception {
        long head = list(m, 5);                          // the head carries the finalizer; it reaches 4 more
        CountDownLatch ran = new CountDownLatch(1);
        AtomicLong seen = new AtomicLong();
        AtomicInteger runs = new AtomicInteger();
        heap.setFinalizer(head, address -> {
            runs.incrementAndGet();
            seen.set(CollectorTest.length(heap, address, true));   // everything it reaches is still there
            ran.countDown();
        });
        m.gc();
        await(ran);
        assertEquals(5, seen.get(), "the object and what it reaches survived the cycle that found it unreachable");
        m.gc();
        assertEquals(0, heap.readMemStats().heapObjects(), "reclaimed by the next cycle");
        m.gc();
        assertEquals(1, runs.get(), "a finalizer runs once");
    }

    @Test
    void aFinalizerThatStoresItsObjectResurrectsIt() throws Exception {
        long node = m.allocate(NODE);
        heap.segment().set(JAVA_LONG, node - heap.base(), 77L);
        CountDownLatch ran = new CountDownLatch(1);
        try (Root saved = heap.newRoot()) {
            heap.setFinalizer(node, address -> {
                saved.set(address);
                ran.countDown();
            });
            m.gc();
            await(ran);
            m.gc();
            m.gc();
            assertEquals(1, heap.readMemStats().heapObjects(), "resurrected");
            assertEquals(77L, heap.segment().get(JAVA_LONG, saved.get() - heap.base()));
        }
    }

    @Test
    void objectsInACycleOfFinalizersAreNeverReclaimed() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        try (Mutator.Frame f = m.enterFrame()) {
            long a = f.keep(m.allocate(NODE));
            long b = f.keep(m.allocate(NODE));
            m.storePointer(a + 8, b);
            m.storePointer(b + 8, a);
            heap.setFinalizer(a, x -> runs.incrementAndGet());
            heap.setFinalizer(b, x -> runs.incrementAndGet());
        }
        for (int i = 0; i < 3; i++) {
            heap.gc();
        }
        awaitIdle();
        assertEquals(0, runs.get(), "each keeps the other reachable: Go never finalizes such cycles");
        assertEquals(2, heap.readMemStats().heapObjects());
    }

    @Test
    void cleanupsRunAfterTheObjectIsReclaimedAndStopCancelsOne() throws Exception {
        long node = m.allocate(NODE);
        List<String> ran = new CopyOnWriteArrayList<>();
        CountDownLatch both = new CountDownLatch(2);
        heap.addCleanup(node, () -> { ran.add("first"); both.countDown(); });
        Cleanup cancelled = heap.addCleanup(node, () -> ran.add("cancelled"));
        heap.addCleanup(node, () -> { ran.add("second"); both.countDown(); });
        cancelled.stop();
        m.gc();
        assertEquals(0, heap.readMemStats().heapObjects(), "a cleanup does not resurrect its object");
        await(both);
        assertEquals(List.of("first", "second"), ran);
    }

    @Test
    void withAFinalizerTheCleanupRunsAfterALaterCycle() throws Exception {
        long node = m.allocate(NODE);
        List<String> order = new CopyOnWriteArrayList<>();
        CountDownLatch finalized = new CountDownLatch(1);
        CountDownLatch cleaned = new CountDownLatch(1);
        heap.setFinalizer(node, x -> { order.add("finalizer"); finalized.countDown(); });
        heap.addCleanup(node, () -> { order.add("cleanup"); cleaned.countDown(); });
        m.gc();
        await(finalized);
        assertEquals(1, cleaned.getCount(), "the cleanup waits for a later cycle");
        m.gc();
        await(cleaned);
        assertEquals(List.of("finalizer", "cleanup"), order);
        assertEquals(0, heap.readMemStats().heapObjects());
    }

    @Test
    void reachableObjectsAreNotFinalizedAndFreedObjectsLoseTheirSpecials() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        try (Root root = heap.newRoot()) {
            long kept = m.allocate(NODE);
            root.set(kept);
            heap.setFinalizer(kept, x -> runs.incrementAndGet());
            long freed = m.allocate(NODE);
            heap.setFinalizer(freed, x -> runs.incrementAndGet());
            heap.addCleanup(freed, runs::incrementAndGet);
            m.free(freed);
            long reused = m.allocate(NODE);               // may reuse the freed slot: no stale finalizer for it
            for (int i = 0; i < 3; i++) {
                m.gc();
            }
            awaitIdle();
            assertEquals(0, runs.get());
            assertEquals(1, heap.readMemStats().heapObjects(), "the rooted object; the reused slot was garbage");
            assertTrue(reused != 0);
        }
    }

    @Test
    void badTargetsAreRefused() {
        long node = m.keep(m.allocate(NODE));
        long manual = m.malloc(64);
        for (long bad : new long[] {manual, node + 8, 16, heap.base() + heap.reservation() - 8}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> heap.setFinalizer(bad, x -> { }));
            assertTrue(e.getMessage().contains("collected object"), e.getMessage());
            if (bad != node + 8) {                       // addCleanup takes an interior pointer, as Go's AddCleanup
                assertThrows(IllegalArgumentException.class, () -> heap.addCleanup(bad, () -> { }));
            }
        }
        heap.addCleanup(node + 8, () -> { }).stop();
        heap.setFinalizer(node, x -> { });
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> heap.setFinalizer(node, x -> { }));
        assertTrue(twice.getMessage().contains("already set"), twice.getMessage());
        heap.setFinalizer(node, null);                   // removes it
        heap.setFinalizer(node, x -> { });
        assertThrows(NullPointerException.class, () -> heap.addCleanup(node, null));
        m.free(manual);
    }
}
