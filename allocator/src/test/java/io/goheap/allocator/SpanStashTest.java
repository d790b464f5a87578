package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

/**
 * The per-P stash of filled manual spans (MCache): batches allocated and freed by one thread stay inside its P;
 * frees from other threads still reach them; double frees are caught; statistics stay exact; a collection or
 * freeOSMemory gives the stash back.
 */
class SpanStashTest {

    @Test
    void batchesOfOneThreadReuseItsStashedSpansExactly() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build(); Mutator m = heap.attach()) {
            MemorySegment mem = heap.segment();
            long[] batch = new long[1024];
            for (int round = 0; round < 20; round++) {
                for (int i = 0; i < batch.length; i++) {
                    batch[i] = m.malloc(4096);
                    assertEquals(0, mem.get(ValueLayout.JAVA_LONG, batch[i] - heap.base() + 4088), "zeroed");
                    mem.set(ValueLayout.JAVA_LONG, batch[i] - heap.base() + 4088, round + 1);
                }
                for (long p : batch) {
                    m.free(p);
                }
            }
            long a = batch[0];
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.free(a));
            assertTrue(e.getMessage().contains("double free or never allocated"), e.getMessage());
            AllocStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects());
            assertEquals(20 * 1024, s.mallocs());
            HeapAudit.check(heap);
            long before = s.heapInuse();
            heap.freeOSMemory();                                   // the caller's own P: its stash goes back
            assertTrue(heap.readMemStats().heapInuse() < before, "the stash was given back");
            HeapAudit.check(heap);
        }
    }

    @Test
    void anotherThreadFreesObjectsOfAStashedSpan() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).build()) {
            ConcurrentLinkedQueue<Long> handed = new ConcurrentLinkedQueue<>();
            Thread owner = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    for (int round = 0; round < 50; round++) {
                        for (int i = 0; i < 600; i++) {
                            long p = m.malloc(48);
                            if ((i & 1) == 0) {
                                handed.add(p);                     // freed by the other thread: remote frees
                            } else {
                                m.free(p);                         // local frees, some into stashed spans
                            }
                        }
                    }
                }
            });
            Thread freer = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    int freed = 0;
                    while (freed < 50 * 300) {
                        Long p = handed.poll();
                        if (p != null) {
                            m.free(p);
                            freed++;
                        }
                    }
                }
            });
            owner.start();
            freer.start();
            owner.join();
            freer.join();
            AllocStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects());
            assertEquals(s.mallocs(), s.frees());
            HeapAudit.check(heap);
        }
    }
}
