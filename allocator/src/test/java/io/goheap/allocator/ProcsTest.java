package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Ps, not threads: many threads share GOMAXPROCS caches; dead holders leak nothing; nesting cannot deadlock. */
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
            MemStats m = heap.readMemStats();
            assertEquals(2000 * 50, m.mallocs());
            // Each P may still hold the tiny block it carves from (sizes 8..15 are tiny): Go counts it too.
            long held = m.heapObjects() - survivors.size();
            assertTrue(held >= 0 && held <= heap.maxProcs(), "objects beyond the survivors: " + held);
            for (long p : survivors) {
                heap.free(p);
            }
            HeapAudit.check(heap);
        }
    }
}
