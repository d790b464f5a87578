package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Spans of fewer than 16 pages come from the P's page cache (Go's pageCache) without the heap lock; the cache's
 * pages count as idle (and, while never used, as released) in every snapshot, and go back to the page allocator
 * whenever the P's mcache is flushed.
 */
class PageCacheSpanTest {

    /** Object sizes whose classes have spans of 1 to 10 pages (all under the page cache's 16-page limit). */
    private static final long[] SIZES = {8, 48, 160, 512, 1024, 2688, 4864, 6784, 10240, 27264};

    @Test
    void smallSpansAreMadeWhileAnotherThreadHoldsTheHeapLock() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build()) {
            heap.free(heap.malloc(16));                      // the P's page cache now holds a window
            P p = heap.procs().get(0);
            assertTrue(p.mcache.pageCache.freePageCount() > 0, "the first span filled the P's page cache");
            CountDownLatch locked = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            Thread holder = new Thread(() -> {
                heap.mheap().lock.lock();
                try {
                    locked.countDown();
                    done.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    heap.mheap().lock.unlock();
                }
            });
            holder.start();
            assertTrue(locked.await(10, TimeUnit.SECONDS));
            try {
                CompletableFuture<long[]> spans = CompletableFuture.supplyAsync(() -> {
                    long[] objects = new long[4];
                    for (int i = 0; i < objects.length; i++) {
                        objects[i] = heap.malloc(SIZES[i + 1]);  // four new classes: four fresh spans
                    }
                    return objects;
                });
                long[] objects = spans.get(10, TimeUnit.SECONDS);   // would time out if a span needed the lock
                done.countDown();
                holder.join();
                long window = p.mcache.pageCache.base();
                for (long o : objects) {
                    MSpan s = heap.mheap().findSpan(o);
                    assertTrue(s.base >= window && s.base < window + 64 * MHeap.PAGE_SIZE || window == 0,
                            "span of 0x" + Long.toHexString(o) + " carved from the cached window");
                    heap.free(o);
                }
            } finally {
                done.countDown();
                holder.join();
            }
            HeapAudit.check(heap);
        }
    }

    @Test
    void snapshotsHoldGosInvariantsWhileTwoThreadsMakeAndReturnSpans() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).build()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> churners = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int seed = t;
                Thread churn = new Thread(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    long[] objects = new long[2048];
                    try {
                        while (!stop.get()) {
                            long size = SIZES[random.nextInt(SIZES.length)];
                            int n = 1 + random.nextInt(size > 4096 ? 64 : objects.length);
                            for (int i = 0; i < n; i++) {
                                objects[i] = heap.malloc(size);
                            }
                            for (int i = 0; i < n; i++) {
                                heap.free(objects[i]);
                            }
                            if (random.nextInt(8) == 0) {
                                heap.freeOSMemory();             // flushes idle Ps' page caches and releases
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                churners.add(churn);
                churn.start();
            }
            try {
                for (int i = 0; i < 5_000 && failure.get() == null; i++) {
                    // with the world stopped, as the public readMemStats reads (see HeapStats: a lock-only read
                    // can still see HeapAlloc above HeapInuse when threads borrow each other's Ps)
                    heap.gcHooks().stopTheWorld();
                    AllocStats m;
                    try {
                        m = heap.readMemStats();
                    } finally {
                        heap.gcHooks().startTheWorld();
                    }
                    AllocStatsInvariants.check(m);
                }
            } finally {
                stop.set(true);
                for (Thread t : churners) {
                    t.join();
                }
            }
            if (failure.get() != null) {
                throw new AssertionError("churn failed", failure.get());
            }
            HeapAudit.check(heap);
            heap.freeOSMemory();
            AllocStats m = heap.readMemStats();
            assertEquals(0, m.heapObjects());
            assertEquals(m.heapSys(), m.heapReleased(), "every page back to the OS, the page caches' included");
            for (int i = 0; i < heap.procs().count(); i++) {
                assertTrue(heap.procs().get(i).mcache.pageCache.isEmpty(), "P " + i + " flushed its page cache");
            }
        }
    }
}
