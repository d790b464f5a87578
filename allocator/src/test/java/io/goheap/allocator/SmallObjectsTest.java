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

/**
 * Manual objects under 16 bytes: each takes its own slot of Go's 8- or 16-byte class — no shared tiny
 * blocks, so no per-object state on the Java heap — and every size's Java-heap metadata stays under 6%.
 */
class SmallObjectsTest {
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
    void eachSmallObjectHasItsOwnSlot() {
        Set<Long> slots = new HashSet<>();
        for (int i = 0; i < 16; i++) {
            slots.add(m.malloc(1 + i % 8) & ~7L);
        }
        assertEquals(16, slots.size(), "sixteen objects of 1..8 bytes take sixteen 8-byte slots");
        for (int i = 0; i < 4; i++) {
            long p = m.malloc(9 + i);
            assertEquals(16, heap.usableSize(p));
            assertEquals(0, p % 16);
        }
        AllocStats s = heap.readMemStats();
        assertEquals(16, s.bySize().get(1).mallocs());
        assertEquals(4, s.bySize().get(2).mallocs());
        assertEquals(20, s.mallocs());
        assertEquals(20, s.heapObjects());
    }

    /**
     * Java-heap metadata per size class, relative to the off-heap bytes of the spans it describes: the span
     * descriptor and its allocation and remote-free bitmaps (MSpanInuse), plus the page index (4 bytes a page).
     * With shared tiny blocks, objects of 16 bytes or less cost 55–62% (a {@code long} of tiny-block state per slot).
     * Prints the table the README quotes.
     */
    @Test
    void javaHeapMetadataOfEverySizeClassIsUnderSixPercent() {
        StringBuilder table = new StringBuilder("size-class-bytes metadata-percent\n");
        for (int sc = 1; sc < SizeClasses.NUM_SIZE_CLASSES; sc++) {
            long size = SizeClasses.classSize(sc);
            AllocStats before = heap.readMemStats();
            long spans = 0;
            for (long filled = 0; filled < (2L << 20) || spans < 8; spans++) {
                long spanBytes = (long) SizeClasses.classPages(sc) * SizeClasses.PAGE_SIZE;
                for (long i = 0; i < SizeClasses.classObjects(sc); i++) {
                    m.malloc(size);
                }
                filled += spanBytes;
            }
            AllocStats after = heap.readMemStats();
            double offHeap = after.heapInuse() - before.heapInuse();
            double meta = (after.mSpanInuse() - before.mSpanInuse()) + offHeap / SizeClasses.PAGE_SIZE * 4;
            double percent = 100 * meta / offHeap;
            table.append(size).append(' ').append(String.format("%.2f", percent)).append('\n');
            assertTrue(percent < 6.0, "size " + size + ": " + percent + "% metadata");
        }
        System.out.print(table);
    }

    @Test
    void smallObjectsAreZeroedAndCanBeFreedInAnyOrder() {
        Random r = new Random(42);
        List<Long> live = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        var mem = heap.segment();
        for (int round = 0; round < 50_000; round++) {
            if (live.isEmpty() || r.nextInt(3) != 0) {
                long size = 1 + r.nextInt(15);
                long p = m.malloc(size);
                assertEquals(size <= 8 ? 8 : 16, heap.usableSize(p));
                for (long i = 0; i < size; i++) {
                    assertEquals(0, mem.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p - heap.base() + i), "small object not zeroed");
                }
                mem.asSlice(p - heap.base(), size).fill((byte) size);
                live.add(p);
                sizes.add(size);
            } else {
                int k = r.nextInt(live.size());
                long p = live.get(k);
                long size = sizes.get(k);
                for (long i = 0; i < size; i++) {
                    assertEquals((byte) size, mem.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p - heap.base() + i), "neighbour overwrote a small object");
                }
                assertEquals(p, heap.baseOf(p + size - 1));
                if (r.nextBoolean()) {
                    m.free(p);
                } else {
                    heap.free(p);
                }
                assertThrows(IllegalStateException.class, () -> m.free(p), "double free of a small object");
                live.set(k, live.get(live.size() - 1));
                sizes.set(k, sizes.get(sizes.size() - 1));
                live.remove(live.size() - 1);
                sizes.remove(sizes.size() - 1);
            }
        }
        for (long p : live) {
            m.free(p);
        }
        AllocStats s = heap.readMemStats();
        assertEquals(0, s.heapObjects(), "every object was freed");
        HeapAudit.check(heap);
    }
}
