package io.goheap.allocator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Go's tiny allocator (reference §3.9, TestTinyAlloc, TestTinyAllocIssue37262) plus explicit free of tiny objects. */
class TinyAllocTest {
    Heap heap;
    Mutator m;

    @BeforeEach
    void open() {
        heap = Heap.builder().reservation(256L << 20).maxProcs(1).build();
        m = heap.attach();
    }

    @AfterEach
    void close() {
        m.close();
        heap.close();
    }

    @Test
    void sixteenOneByteObjectsShareBlocks() {
        Set<Long> chunks = new HashSet<>();
        for (int i = 0; i < 16; i++) {
            chunks.add(m.malloc(1) & ~7L);
        }
        assertTrue(chunks.size() < 16, "at least two 1-byte objects share an 8-byte chunk");
        MemStats s = heap.readMemStats();
        assertEquals(1, s.bySize().get(2).mallocs(), "sixteen 1-byte objects fill exactly one 16-byte block");
        assertEquals(15, s.mallocs() - s.bySize().get(2).mallocs(), "the other fifteen count as tiny allocations");
    }

    @Test
    void sizesThatAreMultiplesOfEightAreEightAligned() {
        m.malloc(8); // start a fresh block... then misalign it
        long a = m.malloc(4);
        long b = m.malloc(12);
        assertEquals(0, b % 8, "a 12-byte object (uint64 first) must be 8-aligned after a 4-byte one");
        long c = m.malloc(1);
        long d = m.malloc(2);
        assertEquals(0, d % 2);
        assertNotEquals(a, b);
        assertNotEquals(c, d);
    }

    @Test
    void tinyObjectsAreZeroedHaveTheirSizeAndCanBeFreedInAnyOrder() {
        Random r = new Random(42);
        List<Long> live = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        var mem = heap.segment();
        for (int round = 0; round < 50_000; round++) {
            if (live.isEmpty() || r.nextInt(3) != 0) {
                long size = 1 + r.nextInt(15);
                long p = m.malloc(size);
                assertEquals(size, heap.usableSize(p));
                for (long i = 0; i < size; i++) {
                    assertEquals(0, mem.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p - heap.base() + i), "tiny object not zeroed");
                }
                mem.asSlice(p - heap.base(), size).fill((byte) size);
                live.add(p);
                sizes.add(size);
            } else {
                int k = r.nextInt(live.size());
                long p = live.get(k);
                long size = sizes.get(k);
                for (long i = 0; i < size; i++) {
                    assertEquals((byte) size, mem.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p - heap.base() + i), "neighbour overwrote a tiny object");
                }
                assertEquals(p, heap.baseOf(p + size - 1));
                if (r.nextBoolean()) {
                    m.free(p);
                } else {
                    heap.free(p);
                }
                assertThrows(IllegalStateException.class, () -> m.free(p), "double free of a tiny object");
                live.set(k, live.get(live.size() - 1));
                sizes.set(k, sizes.get(sizes.size() - 1));
                live.remove(live.size() - 1);
                sizes.remove(sizes.size() - 1);
            }
        }
        for (long p : live) {
            m.free(p);
        }
        MemStats s = heap.readMemStats();
        assertTrue(s.heapObjects() <= 1, "only the block the cache still carves from may stay: " + s.heapObjects());
        HeapAudit.check(heap);
    }
}
