package io.goheap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * {@code mallocUninitialized}: C's malloc beside goheap's calloc-like {@code malloc}. Its memory is not zeroed —
 * a freed object's bytes show through — yet it never leaves a slot dirty for a zeroed allocation that follows,
 * and it is checked, counted and freed exactly as {@code malloc}.
 */
class UninitializedMallocTest {
    private static final long[] SIZES = {8, 16, 48, 512, 4096, 32 * 1024, 100 * 1024, 5L << 20};

    private static Heap heap() {
        return Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
    }

    private static void fill(MemorySegment mem, long offset, long size, long pattern) {
        for (long i = 0; i + 8 <= size; i += 8) {
            mem.set(JAVA_LONG, offset + i, pattern);
        }
    }

    private static boolean allZero(MemorySegment mem, long offset, long size) {
        for (long i = 0; i + 8 <= size; i += 8) {
            if (mem.get(JAVA_LONG, offset + i) != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void itReturnsTheMemoryAsItWasAndAZeroedMallocAfterItStillZeroes() {
        for (long size : SIZES) {
            try (Heap heap = heap(); Mutator m = heap.attach()) {
                MemorySegment mem = heap.segment();
                long base = heap.base();
                long a = m.malloc(size);
                fill(mem, a - base, size, 0x5A5A5A5A5A5A5A5AL);
                m.free(a);
                long b = m.mallocUninitialized(size);            // the same slot or pages, not zeroed
                if (size < 4L << 20) {
                    assertEquals(a, b, "the freed slot is reused first (size " + size + ")");
                    assertEquals(0x5A5A5A5A5A5A5A5AL, mem.get(JAVA_LONG, b - base + size - 8),
                            "uninitialized: the old bytes show through (size " + size + ")");
                }
                fill(mem, b - base, size, -1L);
                m.free(b);
                long c = m.malloc(size);                         // zeroed, whatever the slot held
                assertTrue(allZero(mem, c - base, size), "malloc after mallocUninitialized is zeroed, size " + size);
                m.free(c);
                assertEquals(0, heap.readMemStats().heapObjects());
                assertEquals(3, heap.readMemStats().mallocs());
            }
        }
    }

    @Test
    void theHeapsOwnEntryPointAndItsChecksAreMallocs() {
        try (Heap heap = heap()) {
            long a = heap.mallocUninitialized(24);
            assertThrows(IllegalArgumentException.class, () -> heap.mallocUninitialized(0));
            assertThrows(IllegalArgumentException.class, () -> heap.mallocUninitialized(-1));
            assertThrows(RuntimeException.class, () -> heap.mallocUninitialized(Long.MAX_VALUE));
            heap.free(a);
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> heap.free(a));
            assertTrue(twice.getMessage().contains("double free"), twice.getMessage());
            assertEquals(0, heap.readMemStats().heapObjects());
            heap.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> heap.mallocUninitialized(8));
            assertEquals("heap is closed", closed.getMessage());
        }
    }

    @Test
    void aCollectionNeverSeesItsBytesAsPointers() {
        try (Heap heap = heap(); Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long head = CollectorTest.list(m, 10);
            root.set(head);
            long buffer = m.mallocUninitialized(64);
            for (int i = 0; i < 8; i++) {                        // addresses of heap objects as raw bytes
                heap.segment().set(JAVA_LONG, buffer - heap.base() + 8L * i, head + 8);
            }
            m.gc();                                              // pointer-free: never scanned, never an invalid pointer
            assertEquals(11, heap.readMemStats().heapObjects());
            m.free(buffer);
        }
    }
}
