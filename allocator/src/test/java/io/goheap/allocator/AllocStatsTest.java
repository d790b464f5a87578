package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Go's TestMemStats and TestReadMemStats, re-expressed; plus snapshots taken while other threads churn. */
class AllocStatsTest {

    @Test
    void anEmptyHeapReportsNothingAllocated() {
        try (Heap heap = Heap.builder().reservation(256L << 20).build()) {
            AllocStats m = heap.readMemStats();
            AllocStatsInvariants.check(m);
            assertEquals(0, m.heapAlloc());
            assertEquals(0, m.heapSys(), "no arena committed before the first allocation");
            assertEquals(0, m.heapObjects());
            assertTrue(m.compact().contains("released 0.0MiB"), m.compact());
        }
    }

    @Test
    void countsFollowAllocationsExactly() {
        try (Heap heap = Heap.builder().reservation(512L << 20).build()) {
            List<Long> ps = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                ps.add(heap.malloc(100));   // class 112
            }
            ps.add(heap.malloc(1 << 20));   // large: 128 pages
            AllocStats m = heap.readMemStats();
            AllocStatsInvariants.check(m);
            assertEquals(1001, m.mallocs());
            assertEquals(0, m.frees());
            assertEquals(1000 * 112L + (1 << 20), m.heapAlloc());
            assertEquals(m.heapAlloc(), m.totalAlloc());
            int c112 = SizeClasses.sizeToClass(100);
            assertEquals(1000, m.bySize().get(c112).mallocs());
            assertEquals(64L << 20, m.heapSys(), "one 64 MiB arena committed");
            assertEquals(m.heapSys(), m.heapReleased() + m.heapInuse(), "never-touched pages count as released, as in Go");
            assertTrue(m.heapInuse() >= m.heapAlloc());
            assertTrue(m.mSpanInuse() > 0 && m.mCacheSys() > 0 && m.gcSys() > 0 && m.otherSys() > 0);
            for (long p : ps) {
                heap.free(p);
            }
            m = heap.readMemStats();
            assertEquals(1001, m.frees());
            assertEquals(0, m.heapAlloc());
            assertEquals(1000 * 112L + (1 << 20), m.totalAlloc());
            assertEquals(1000, m.bySize().get(c112).frees());
            HeapAudit.check(heap);
        }
    }

    @Test
    void invariantsHoldInSnapshotsTakenDuringChurn() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).build()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> churners = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                SplittableRandom rnd = new SplittableRandom(t);
                Thread th = new Thread(() -> {
                    List<Long> mine = new ArrayList<>();
                    try {
                        while (!stop.get()) {
                            try (Mutator m = heap.attach()) {
                                for (int i = 0; i < 500; i++) {
                                    if (mine.size() < 2000 && rnd.nextBoolean()) {
                                        long size = rnd.nextInt(100) == 0 ? rnd.nextInt(32761, 200_000) : rnd.nextInt(1, 3000);
                                        mine.add(m.malloc(size));
                                    } else if (!mine.isEmpty()) {
                                        m.free(mine.remove(rnd.nextInt(mine.size())));
                                    }
                                }
                            }
                        }
                        for (long p : mine) {
                            heap.free(p);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                churners.add(th);
                th.start();
            }
            for (int i = 0; i < 2000; i++) {
                AllocStats m = heap.readMemStats();
                AllocStatsInvariants.check(m);
            }
            stop.set(true);
            for (Thread th : churners) {
                th.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            HeapAudit.check(heap);
        }
    }
}
