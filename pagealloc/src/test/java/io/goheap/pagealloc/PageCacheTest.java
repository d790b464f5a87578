// Invariants: each test owns its PageCache and PageAllocator; fills and flushes happen under the allocator's lock on the test thread.
package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocatorTestSupport.CHUNK;
import static io.goheap.pagealloc.PageAllocatorTestSupport.PAGE;
import static io.goheap.pagealloc.PageAllocatorTestSupport.assertSameBitmaps;
import static io.goheap.pagealloc.PageAllocatorTestSupport.assertThrowsWithValue;
import static io.goheap.pagealloc.PageAllocatorTestSupport.desc;
import static io.goheap.pagealloc.PageAllocatorTestSupport.locked;
import static io.goheap.pagealloc.PageAllocatorTestSupport.newPageAlloc;
import static io.goheap.pagealloc.PageAllocatorTestSupport.pageBase;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Go's mpagecache_test.go cases, re-expressed. */
class PageCacheTest {
    private static final long BASE = pageBase(0, 0);

    // ------------------------------------------------------------ alloc

    private record Hit(long npages, long base, long scav) {}

    private static Hit hit(long npages, long base, long scav) {
        return new Hit(npages, base, scav);
    }

    @TestFactory
    Stream<DynamicTest> alloc() {
        long b = BASE;
        List<DynamicTest> t = new ArrayList<>();
        List<Hit> empty = new ArrayList<>();
        for (long n : new long[] {1, 2, 3, 4, 5, 11, 12, 16, 27, 32, 43, 57, 64}) {
            empty.add(hit(n, 0, 0));
        }
        t.add(allocCase("Empty", new PageCache(b, 0, 0), empty));
        t.add(allocCase("Lo1", new PageCache(b, 0x1, 0x1), List.of(hit(1, b, 1), hit(1, 0, 0), hit(10, 0, 0))));
        t.add(allocCase("Hi1", new PageCache(b, 1L << 63, 0x1), List.of(hit(1, b + 63 * PAGE, 0), hit(1, 0, 0), hit(10, 0, 0))));
        t.add(allocCase("Swiss1", new PageCache(b, 0x20005555L, 0x5505L), List.of(
                hit(2, 0, 0), hit(1, b, 1), hit(1, b + 2 * PAGE, 1), hit(1, b + 4 * PAGE, 0), hit(1, b + 6 * PAGE, 0),
                hit(1, b + 8 * PAGE, 1), hit(1, b + 10 * PAGE, 1), hit(1, b + 12 * PAGE, 1), hit(1, b + 14 * PAGE, 1),
                hit(1, b + 29 * PAGE, 0), hit(1, 0, 0), hit(10, 0, 0))));
        t.add(allocCase("Lo2", new PageCache(b, 0x3, 0x2L << 62), List.of(hit(2, b, 0), hit(2, 0, 0), hit(1, 0, 0))));
        t.add(allocCase("Hi2", new PageCache(b, 0x3L << 62, 0x3L << 62),
                List.of(hit(2, b + 62 * PAGE, 2), hit(2, 0, 0), hit(1, 0, 0))));
        t.add(allocCase("Swiss2", new PageCache(b, 0x3333L << 31, 0x3030L << 31), List.of(
                hit(2, b + 31 * PAGE, 0), hit(2, b + 35 * PAGE, 2), hit(2, b + 39 * PAGE, 0), hit(2, b + 43 * PAGE, 2),
                hit(2, 0, 0))));
        t.add(allocCase("Hi53", new PageCache(b, ((1L << 53) - 1) << 10, ((1L << 16) - 1) << 10),
                List.of(hit(53, b + 10 * PAGE, 16), hit(53, 0, 0), hit(1, 0, 0))));
        t.add(allocCase("Full53", new PageCache(b, -1L, ((1L << 16) - 1) << 10),
                List.of(hit(53, b, 16), hit(53, 0, 0), hit(1, b + 53 * PAGE, 0))));
        t.add(allocCase("Full64", new PageCache(b, -1L, -1L), List.of(hit(64, b, 64), hit(64, 0, 0), hit(1, 0, 0))));
        t.add(allocCase("FullMixed", new PageCache(b, -1L, -1L), List.of(
                hit(5, b, 5), hit(7, b + 5 * PAGE, 7), hit(1, b + 12 * PAGE, 1), hit(23, b + 13 * PAGE, 23),
                hit(63, 0, 0), hit(3, b + 36 * PAGE, 3), hit(3, b + 39 * PAGE, 3), hit(3, b + 42 * PAGE, 3),
                hit(12, b + 45 * PAGE, 12), hit(11, 0, 0), hit(4, b + 57 * PAGE, 4), hit(4, 0, 0), hit(6, 0, 0),
                hit(36, 0, 0), hit(2, b + 61 * PAGE, 2), hit(3, 0, 0), hit(1, b + 63 * PAGE, 1), hit(4, 0, 0),
                hit(2, 0, 0), hit(62, 0, 0), hit(1, 0, 0))));
        return t.stream();
    }

    private static DynamicTest allocCase(String name, PageCache c, List<Hit> hits) {
        return dynamicTest(name, () -> {
            for (int i = 0; i < hits.size(); i++) {
                Hit h = hits.get(i);
                long got = c.alloc(h.npages());
                assertEquals(String.format("0x%x", h.base()), String.format("0x%x", got), "alloc #" + i);
                if (got != 0) {
                    assertEquals(h.scav(), c.lastAllocScavengedPages(), "scavenged pages of alloc #" + i);
                }
            }
        });
    }

    @Test
    void allocRejectsBadCounts() {
        PageCache c = new PageCache(BASE, -1L, 0);
        assertThrowsWithValue(IllegalArgumentException.class, ": 0", () -> c.alloc(0));
        assertThrowsWithValue(IllegalArgumentException.class, "-2", () -> c.alloc(-2));
        assertThrowsWithValue(IllegalArgumentException.class, "65", () -> c.alloc(65));
        assertEquals(64, c.freePageCount());
        assertEquals(BASE, c.alloc(64));
        assertTrue(c.isEmpty());
        assertEquals(0, c.base());
    }

    // ------------------------------------------------------------ flush

    /** Go's TestPageCacheFlush: a 64-page window at page {@code start} of chunk 0. */
    private static void flushCase(int start, long cache, long scav) {
        PageAllocator b = newPageAlloc(desc().c(0, start, 64), desc().c(0));
        PageCache c = new PageCache(pageBase(0, start), cache, scav);
        assertEquals(Long.bitCount(cache), c.freePageCount());
        assertEquals(Long.bitCount(scav & cache), c.scavengedPageCount());
        locked(b, () -> c.flush(b));
        assertTrue(c.isEmpty());
        assertEquals(0, c.base());
        b.verify();
        assertSameBitmaps(newPageAlloc(desc().c(0, ranges(~cache, start)), desc().c(0, ranges(scav & cache, start))), b);
        locked(b, () -> {
            assertEquals(64 - Long.bitCount(cache), b.inUsePages());
            assertEquals(Long.bitCount(scav & cache), b.releasedPages());
        });
    }

    private static int[] ranges(long bits, int base) {
        List<Integer> out = new ArrayList<>();
        int i = 0;
        while (i < 64) {
            if ((bits & (1L << i)) == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 64 && (bits & (1L << j)) != 0) {
                j++;
            }
            out.add(base + i);
            out.add(j - i);
            i = j;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void flush() {
        flushCase(0, 0, 0);
        flushCase(0, -1L, -1L);
        SplittableRandom rnd = new SplittableRandom(8);
        for (int i = 0; i < 100; i++) {
            int start = rnd.nextInt(CHUNK / 64) * 64;
            long cache = rnd.nextLong();
            long scav = rnd.nextLong() & cache;
            flushCase(start, cache, scav);
        }
    }

    @Test
    void flushRejectsForeignWindowsAndKeepsTheCache() {
        PageAllocator b = newPageAlloc(desc().c(0, 0, 64).c(1), desc().c(0));
        PageCache foreign = new PageCache(pageBase(0, 64), 0xff, 0);
        locked(b, () -> {
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", pageBase(0, 64)), () -> foreign.flush(b));
            PageCache outside = new PageCache(PageAllocatorTestSupport.LIMIT + (1L << 30), 1, 0);
            assertThrows(IllegalStateException.class, () -> outside.flush(b));
            PageCache neverGrown = new PageCache(pageBase(2, 0), 1, 0);
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", pageBase(2, 0)), () -> neverGrown.flush(b));
            PageCache misaligned = new PageCache(pageBase(0, 1), 1, 0);
            assertThrows(IllegalStateException.class, () -> misaligned.flush(b));
        });
        assertEquals(pageBase(0, 64), foreign.base());
        assertEquals(8, foreign.freePageCount());
        assertThrows(IllegalStateException.class, () -> foreign.flush(b)); // lock not held
        b.verify();
        assertSameBitmaps(newPageAlloc(desc().c(0, 0, 64).c(1), desc().c(0)), b);
    }

    @Test
    void aCacheFlushesOnlyIntoTheAllocatorThatFilledIt() {
        PageAllocator a = newPageAlloc(desc().c(0), desc().c(0));
        PageAllocator other = newPageAlloc(desc().c(0), desc().c(0));
        PageCache c = new PageCache();
        locked(a, () -> assertTrue(a.allocToCache(c)));
        locked(other, () -> assertThrowsWithValue(IllegalStateException.class, "another page allocator",
                () -> c.flush(other)));
        assertEquals(64, c.freePageCount(), "the rejected flush left the cache as it was");
        locked(other, () -> assertEquals(0, other.inUsePages(), "and the other allocator untouched"));
        locked(a, () -> c.flush(a));
        assertTrue(c.isEmpty());
        locked(a, () -> assertEquals(0, a.inUsePages()));
        a.verify();
        other.verify();
    }

    // ------------------------------------------------------------ allocToCache

    private record Want(long base, long cache, long scav) {}

    private static Want want(long base, long cache, long scav) {
        return new Want(base, cache, scav);
    }

    @TestFactory
    Stream<DynamicTest> allocToCache() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(toCache("AllFree", desc().c(0), desc().c(0, 1, 1, 64, 64),
                List.of(want(pageBase(0, 0), -1L, 0x2), want(pageBase(0, 64), -1L, -1L),
                        want(pageBase(0, 128), -1L, 0), want(pageBase(0, 192), -1L, 0)),
                desc().c(0, 0, 256), desc().c(0)));
        t.add(toCache("ManyArena", desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK - 64),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2),
                List.of(want(pageBase(2, CHUNK - 64), -1L, 0)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK), desc().c(0).c(1).c(2)));
        t.add(toCache("NotContiguous", desc().c(0, 0, CHUNK).c(0xff), desc().c(0, 0, CHUNK).c(0xff, 31, 67),
                List.of(want(pageBase(0xff, 0), -1L, ((1L << 33) - 1) << 31)),
                desc().c(0, 0, CHUNK).c(0xff, 0, 64), desc().c(0, 0, CHUNK).c(0xff, 64, 34)));
        t.add(toCache("First", desc().c(0, 0, 32, 33, 31, 96, 32), desc().c(0, 1, 4, 31, 5, 66, 2),
                List.of(want(pageBase(0, 0), 1L << 32, 1L << 32), want(pageBase(0, 64), (1L << 32) - 1, 0x3L << 2)),
                desc().c(0, 0, 128), desc().c(0)));
        t.add(toCache("Fail", desc().c(0, 0, CHUNK), null,
                List.of(want(0, 0, 0), want(0, 0, 0), want(0, 0, 0)),
                desc().c(0, 0, CHUNK), null));
        t.add(toCache("RetainScavBits", desc().c(0, 0, 1, 10, 2), desc().c(0, 0, 4, 11, 1),
                List.of(want(pageBase(0, 0), ~(0x1L | (0x3L << 10)), 0x7L << 1)),
                desc().c(0, 0, 64), desc().c(0, 0, 1, 11, 1)));
        int edge = 511;
        int big = 0x100000;
        t.add(toCache("DiscontiguousMappedSumBoundary", desc().c(edge, 0, CHUNK - 1).c(edge + big, 1, CHUNK - 1),
                desc().c(edge).c(edge + big),
                List.of(want(pageBase(edge, CHUNK - 64), 1L << 63, 0), want(pageBase(edge + big, 0), 1, 0), want(0, 0, 0)),
                desc().c(edge, 0, CHUNK).c(edge + big, 0, CHUNK), desc().c(edge).c(edge + big)));
        return t.stream();
    }

    private static DynamicTest toCache(String name, PageAllocatorTestSupport.Desc beforeAlloc,
                                       PageAllocatorTestSupport.Desc beforeScav, List<Want> hits,
                                       PageAllocatorTestSupport.Desc afterAlloc, PageAllocatorTestSupport.Desc afterScav) {
        return dynamicTest(name, () -> {
            PageAllocator pa = newPageAlloc(beforeAlloc, beforeScav);
            for (int i = 0; i < hits.size(); i++) {
                Want w = hits.get(i);
                PageCache c = new PageCache();
                boolean ok = locked(pa, () -> pa.allocToCache(c));
                assertEquals(w.cache() != 0, ok, "fill #" + i);
                assertEquals(String.format("0x%x", w.base()), String.format("0x%x", c.base()), "base of fill #" + i);
                assertEquals(Long.toHexString(w.cache()), Long.toHexString(c.cacheBits()), "cache bits of fill #" + i);
                assertEquals(Long.toHexString(w.scav()), Long.toHexString(c.scavBits()), "scav bits of fill #" + i);
                if (ok) {
                    assertEquals(Long.bitCount(w.scav()), (long) locked(pa, pa::lastAllocScavengedPages));
                }
                pa.verify();
            }
            assertSameBitmaps(newPageAlloc(afterAlloc, afterScav), pa);
        });
    }

    @Test
    void cacheRoundTripRestoresEverything() {
        PageAllocator pa = newPageAlloc(desc().c(0, 3, 1).c(1), desc().c(0, 0, 3, 40, 10).c(1, 0, CHUNK));
        PageCache c = new PageCache();
        locked(pa, () -> {
            long free0 = pa.freePages();
            long rel0 = pa.releasedPages();
            assertTrue(pa.allocToCache(c));
            assertEquals(pageBase(0, 0), c.base());
            assertEquals(63, c.freePageCount());
            assertEquals(13, c.scavengedPageCount());
            assertEquals(13, pa.lastAllocScavengedPages());
            assertEquals(64, pa.inUsePages());
            assertEquals(rel0 - 13, pa.releasedPages());
            assertEquals(free0 - 50, pa.freePages());
            long a = c.alloc(2);
            assertEquals(pageBase(0, 0), a);
            assertEquals(2, c.lastAllocScavengedPages());
            long b = c.alloc(8);
            assertEquals(pageBase(0, 4), b);
            assertEquals(0, c.lastAllocScavengedPages());
            long d = c.alloc(12);
            assertEquals(pageBase(0, 12), d);
            c.flush(pa);
            assertTrue(c.isEmpty());
            assertEquals(1 + 2 + 8 + 12, pa.inUsePages());
            pa.free(a, 2);
            pa.free(b, 8);
            pa.free(d, 12);
            assertEquals(1, pa.inUsePages());
            // Pages handed out by the cache lost their scavenged bits; the rest got theirs back.
            assertEquals(rel0 - 2, pa.releasedPages());
            assertEquals(0, c.alloc(1));
        });
        pa.verify();
    }
}
