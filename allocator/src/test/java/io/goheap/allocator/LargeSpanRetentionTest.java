package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * A P keeps the spans of manual large objects (up to 1 MiB) it freed, at most 2 MiB of them, and serves the next
 * large allocation of the same page count from them without the heap lock or a new span descriptor (MCache).
 * Users see: the same address again, zeroed; exact statistics; double frees caught; the memory back to the heap
 * at freeOSMemory and every collection; and nothing retained beyond the bound.
 */
class LargeSpanRetentionTest {
    private static Heap heap() {
        return Heap.builder().reservation(1L << 30).maxProcs(1).build();
    }

    @Test
    void aFreedLargeObjectsSpanServesTheNextAllocationOfItsSizeZeroed() {
        try (Heap heap = heap(); Mutator m = heap.attach()) {
            MemorySegment mem = heap.segment();
            long a = m.malloc(40_000);                                    // 5 pages
            mem.set(ValueLayout.JAVA_LONG, a - heap.base() + 39_992, -1L);
            long inUse = heap.readMemStats().heapInuse();
            m.free(a);
            AllocStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects());
            assertEquals(0, s.heapAlloc());
            assertEquals(inUse, s.heapInuse(), "the freed span is retained, still in use (as free slots are)");
            long b = m.malloc(36_000);                                    // also 5 pages
            assertEquals(a, b, "served from the retained span");
            assertEquals(0, mem.get(ValueLayout.JAVA_LONG, b - heap.base() + 39_992), "zeroed again");
            long c = m.malloc(50_000);                                    // 7 pages: not retained, a new span
            assertNotEquals(b, c);
            s = heap.readMemStats();
            assertEquals(3, s.mallocs());
            assertEquals(1, s.frees());
            assertEquals(2 * 40_960 + 57_344 - 40_960, s.heapAlloc());
            m.free(b);
            m.free(c);
            HeapAudit.check(heap);
        }
    }

    @Test
    void aRetainedObjectFreedAgainIsADoubleFreeAndItsInteriorIsRefused() {
        try (Heap heap = heap(); Mutator m = heap.attach()) {
            long a = m.malloc(100_000);
            m.free(a);
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> m.free(a));
            assertTrue(twice.getMessage().contains("double free or never allocated"), twice.getMessage());
            IllegalStateException fromHeap = assertThrows(IllegalStateException.class, () -> heap.free(a));
            assertTrue(fromHeap.getMessage().contains("double free"), fromHeap.getMessage());
            long b = m.malloc(100_000);
            assertThrows(IllegalArgumentException.class, () -> m.free(b + 8192));
            assertEquals(1, heap.readMemStats().heapObjects(), "nothing lost");
            m.free(b);
            HeapAudit.check(heap);
        }
    }

    @Test
    void retentionIsBoundedAndFreeOsMemoryGivesItBack() {
        try (Heap heap = heap(); Mutator m = heap.attach()) {
            long before = heap.readMemStats().heapInuse();
            List<Long> objects = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                objects.add(m.malloc(512 << 10));                          // 10 × 512 KiB
            }
            long huge = m.malloc(3 << 20);                                 // larger than 1 MiB: never retained
            objects.forEach(m::free);
            m.free(huge);
            long retained = heap.readMemStats().heapInuse() - before;
            assertTrue(retained <= MCache.RETAIN_MAX_BYTES, "retained " + retained + " bytes");
            assertTrue(retained > 0, "some spans are retained");
            HeapAudit.check(heap);
            heap.freeOSMemory();                                           // the caller's own P is flushed
            assertEquals(before, heap.readMemStats().heapInuse(), "retained spans went back to the heap");
            HeapAudit.check(heap);
        }
    }

    @Test
    void threadsFreeingEachOthersLargeObjectsKeepTheHeapExact() throws Exception {
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).build()) {
            ConcurrentLinkedQueue<Long> handOff = new ConcurrentLinkedQueue<>();
            Runnable work = () -> {
                try (Mutator m = heap.attach()) {
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    MemorySegment mem = heap.segment();
                    for (int i = 0; i < 20_000; i++) {
                        long size = 32_769 + r.nextLong(1_200_000);        // large, some above the 1 MiB bound
                        long p = m.malloc(size);
                        if (mem.get(ValueLayout.JAVA_LONG, p - heap.base() + (size & ~7L) - 8) != 0) {
                            throw new AssertionError("a large object was not zeroed");
                        }
                        mem.set(ValueLayout.JAVA_LONG, p - heap.base() + (size & ~7L) - 8, i + 1);
                        handOff.add(p);
                        Long q = handOff.poll();
                        if (q != null && r.nextBoolean()) {
                            m.free(q);
                        } else if (q != null) {
                            handOff.add(q);
                        }
                        while (handOff.size() > 16) {
                            Long x = handOff.poll();
                            if (x != null) {
                                m.free(x);
                            }
                        }
                    }
                }
            };
            Thread t1 = new Thread(work);
            Thread t2 = new Thread(work);
            t1.start();
            t2.start();
            t1.join();
            t2.join();
            for (Long p; (p = handOff.poll()) != null; ) {
                heap.free(p);
            }
            AllocStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects());
            assertEquals(0, s.heapAlloc());
            assertEquals(s.mallocs(), s.frees());
            HeapAudit.check(heap);
        }
    }
}
