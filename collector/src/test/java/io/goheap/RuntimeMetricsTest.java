package io.goheap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link Heap#readMetrics()}: never waits for a thread (a Mutator that does not poll, a collection waiting to stop
 * the world behind it), and the consistency its javadoc promises holds in every read taken while threads allocate,
 * free and collect.
 */
class RuntimeMetricsTest {
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(JAVA_LONG.withName("id"),
            MemoryLayout.sequenceLayout(2, ADDRESS).withName("next")));

    @Test
    void aReadDoesNotWaitForAMutatorThatNeverPollsNorForACollectionStoppedBehindIt() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread holder = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    m.allocate(NODE);
                    holding.countDown();
                    release.await();                  // keeps its P and never polls: no safepoint until released
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "never-polls");
            holder.start();
            holding.await();
            // own threads: the common pool may have a single one, which the waiting collection would keep
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
            CompletableFuture<Void> collection = CompletableFuture.runAsync(heap::gc, threads);  // waits for the holder
            try {
                Map<String, Number> m = CompletableFuture.supplyAsync(heap::readMetrics, threads)
                        .get(60, TimeUnit.SECONDS);
                assertTrue(m.get("/gc/heap/allocs:objects").longValue() >= 1);
                assertFalse(collection.isDone(), "the collection cannot finish while the holder does not poll");
            } finally {
                release.countDown();
                holder.join();
                collection.get(60, TimeUnit.SECONDS);
                threads.shutdown();
            }
        }
    }

    @Test
    void everyDescribedNameIsReadWithItsKindAndNothingElse() {
        try (Heap heap = Heap.create()) {
            Map<String, Number> m = heap.readMetrics();
            List<MetricDescription> all = Heap.metricDescriptions();
            assertEquals(all.size(), m.size());
            for (MetricDescription d : all) {
                Number v = m.get(d.name());
                Class<?> expected = d.kind() == MetricDescription.Kind.UINT64 ? Long.class : Double.class;
                assertEquals(expected, v.getClass(), d.name());
                assertTrue(d.name().matches("(/[a-z0-9-]+)+:[a-z-]+"), d.name());
            }
        }
    }

    @Test
    void aClosedHeapRefusesTheRead() {
        Heap heap = Heap.create();
        heap.close();
        assertEquals("heap is closed", assertThrows(IllegalStateException.class, heap::readMetrics).getMessage());
    }

    /**
     * Two threads churn (collected nodes, some kept in a frame, manual objects of many sizes, large ones too, freed
     * at random) while the pacer collects and a reader checks every read against the promised consistency; then,
     * quiet, the read agrees with the stopped-world MemStats.
     */
    @Test
    void consistentUnderChurnAndExactWhenQuiet() throws Exception {
        try (Heap heap = Heap.builder().reservation(4L << 30).maxProcs(2).gcPercent(50).build()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> churners = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                long seed = 42 + t;
                Thread th = new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    List<Long> manual = new ArrayList<>();
                    try (Mutator m = heap.attach()) {
                        while (!stop.get()) {
                            try (Mutator.Frame f = m.enterFrame()) {
                                for (int i = 0; i < 200; i++) {
                                    long n = m.allocate(NODE);
                                    if (i % 50 == 0) {
                                        f.keep(n);
                                    }
                                }
                            }
                            int op = r.nextInt(10);
                            if (op < 6 || manual.isEmpty()) {
                                long size = r.nextInt(20) == 0 ? 40_000 + r.nextInt(200_000) : 1 + r.nextInt(2048);
                                manual.add(m.malloc(size));
                            } else {
                                m.free(manual.remove(r.nextInt(manual.size())));
                            }
                            if (manual.size() > 500) {
                                m.free(manual.remove(0));
                            }
                        }
                        for (long a : manual) {
                            m.free(a);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "churn-" + t);
                churners.add(th);
                th.start();
            }
            Map<String, Number> previous = heap.readMetrics();
            int reads = 3000;
            try {
                for (int i = 0; i < reads && failure.get() == null; i++) {
                    Map<String, Number> m = heap.readMetrics();
                    assertConsistent(m);
                    for (MetricDescription d : Heap.metricDescriptions()) {
                        if (d.cumulative()) {
                            assertTrue(m.get(d.name()).doubleValue() >= previous.get(d.name()).doubleValue(),
                                    d.name() + " went back: " + previous.get(d.name()) + " then " + m.get(d.name()));
                        }
                    }
                    previous = m;
                }
            } finally {
                stop.set(true);
                for (Thread th : churners) {
                    th.join();
                }
            }
            if (failure.get() != null) {
                throw new AssertionError("a churning thread failed", failure.get());
            }
            assertTrue(previous.get("/gc/cycles/automatic:gc-cycles").longValue() > 0, "the pacer ran cycles");

            heap.setGCPercent(-1);
            heap.gc();                                // everything swept; nothing runs by itself from here
            MemStats exact = heap.readMemStats();
            Map<String, Number> m = heap.readMetrics();
            assertConsistent(m);
            assertEquals(exact.heapAlloc(), m.get("/memory/classes/heap/objects:bytes").longValue());
            assertEquals(exact.heapInuse() - exact.heapAlloc(), m.get("/memory/classes/heap/unused:bytes").longValue());
            assertEquals(exact.totalAlloc(), m.get("/gc/heap/allocs:bytes").longValue());
            assertEquals(exact.mallocs(), m.get("/gc/heap/allocs:objects").longValue());
            assertEquals(exact.frees(), m.get("/gc/heap/frees:objects").longValue());
            assertEquals(exact.heapObjects(), m.get("/gc/heap/objects:objects").longValue());
            assertEquals(exact.numGC(), m.get("/gc/cycles/total:gc-cycles").longValue());
            assertEquals(exact.numForcedGC(), m.get("/gc/cycles/forced:gc-cycles").longValue());
            assertEquals(exact.nextGC(), m.get("/gc/heap/goal:bytes").longValue());
        }
    }

    private static void assertConsistent(Map<String, Number> m) {
        long classes = 0;
        Map<String, Long> seen = new HashMap<>();
        for (var e : m.entrySet()) {
            if (e.getKey().startsWith("/memory/classes/") && !e.getKey().equals("/memory/classes/total:bytes")) {
                long v = e.getValue().longValue();
                assertTrue(v >= 0, e.getKey() + " is negative: " + v);
                classes += v;
                seen.put(e.getKey(), v);
            }
        }
        assertEquals(13, seen.size());
        assertEquals(m.get("/memory/classes/total:bytes").longValue(), classes, "the classes partition the total");
        long allocs = m.get("/gc/heap/allocs:objects").longValue();
        long frees = m.get("/gc/heap/frees:objects").longValue();
        assertTrue(frees <= allocs, "frees " + frees + " > allocs " + allocs);
        assertEquals(allocs - frees, m.get("/gc/heap/objects:objects").longValue());
        assertTrue(m.get("/gc/heap/frees:bytes").longValue() <= m.get("/gc/heap/allocs:bytes").longValue());
        assertTrue(m.get("/gc/cycles/forced:gc-cycles").longValue() <= m.get("/gc/cycles/total:gc-cycles").longValue());
    }
}
