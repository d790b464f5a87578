// Invariants: each test owns its PageAllocator and calls it under its lock on the test thread; verify() after every scenario.
package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocatorTestSupport.BASE;
import static io.goheap.pagealloc.PageAllocatorTestSupport.CHUNK;
import static io.goheap.pagealloc.PageAllocatorTestSupport.LIMIT;
import static io.goheap.pagealloc.PageAllocatorTestSupport.PAGE;
import static io.goheap.pagealloc.PageAllocatorTestSupport.assertSameBitmaps;
import static io.goheap.pagealloc.PageAllocatorTestSupport.assertThrowsWithValue;
import static io.goheap.pagealloc.PageAllocatorTestSupport.desc;
import static io.goheap.pagealloc.PageAllocatorTestSupport.locked;
import static io.goheap.pagealloc.PageAllocatorTestSupport.newPageAlloc;
import static io.goheap.pagealloc.PageAllocatorTestSupport.pageBase;
import static io.goheap.pagealloc.PageAllocatorTestSupport.render;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Go's mpagealloc_test.go cases, re-expressed, plus argument checking. */
class PageAllocatorTest {
    private static final int BIG_JUMP = 0x100000; // chunks: 4 TiB

    // ------------------------------------------------------------ grow

    @TestFactory
    Stream<DynamicTest> grow() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(growCase("One", new int[] {0}, 0, 1));
        t.add(growCase("Contiguous2", new int[] {0, 1}, 0, 2));
        t.add(growCase("Contiguous5", new int[] {0, 1, 2, 3, 4}, 0, 5));
        t.add(growCase("Discontiguous", new int[] {0, 2, 4}, 0, 1, 2, 3, 4, 5));
        t.add(growCase("Mixed", new int[] {0, 1, 2, 4}, 0, 3, 4, 5));
        t.add(growCase("WildlyDiscontiguous", new int[] {0, 1, 0x10, 0x21}, 0, 2, 0x10, 0x11, 0x21, 0x22));
        int[] many = new int[33];
        int[] manyRanges = new int[66];
        for (int i = 0; i < 33; i++) {
            many[i] = 2 * i;
            manyRanges[2 * i] = 2 * i;
            manyRanges[2 * i + 1] = 2 * i + 1;
        }
        t.add(growCase("ManyDiscontiguous", many, manyRanges));
        t.add(growCase("ExtremelyDiscontiguous", new int[] {0, BIG_JUMP}, 0, 1, BIG_JUMP, BIG_JUMP + 1));
        // Grow order does not matter, and multi-chunk grows merge with neighbours.
        t.add(growCase("Backwards", new int[] {9, 7, 8, 3}, 3, 4, 7, 10));
        return t.stream();
    }

    /** ranges: chunk-index [start, end) pairs expected from grownRanges(). */
    private static DynamicTest growCase(String name, int[] chunks, int... ranges) {
        return dynamicTest(name, () -> {
            PageAllocator pa = new PageAllocator(BASE, LIMIT);
            locked(pa, () -> {
                for (int c : chunks) {
                    pa.grow(pageBase(c, 0), PageAllocator.CHUNK_BYTES);
                }
                List<long[]> want = new ArrayList<>();
                for (int i = 0; i < ranges.length; i += 2) {
                    want.add(new long[] {pageBase(ranges[i], 0), pageBase(ranges[i + 1], 0)});
                }
                assertEquals(render(want), render(pa.grownRanges()));
                assertEquals((long) chunks.length * CHUNK, pa.grownPages());
                assertEquals((long) chunks.length * CHUNK, pa.releasedPages());
                assertEquals(0, pa.inUsePages());
                assertEquals(0, pa.freePages());
            });
            pa.verify();
        });
    }

    @Test
    void growWholeRangeInOneCall() {
        PageAllocator pa = new PageAllocator(BASE, BASE + 64 * PageAllocator.CHUNK_BYTES);
        locked(pa, () -> {
            pa.grow(BASE, 64 * PageAllocator.CHUNK_BYTES);
            assertEquals(BASE, pa.alloc(64L * CHUNK));
            assertEquals(64L * CHUNK, pa.lastAllocScavengedPages());
            assertEquals(0, pa.alloc(1));
        });
        pa.verify();
    }

    @Test
    void completelyFreeTopLevelRegions() {
        long region = 16L << 30; // 2^21 pages, the largest count a summary holds
        long regionPages = region / PAGE;
        PageAllocator pa = new PageAllocator(BASE, BASE + 3 * region);
        locked(pa, () -> {
            pa.grow(BASE, 2 * region);
            assertEquals(PallocSum.ALL_FREE_TOP, pa.summary(0, 0));
            assertEquals(PallocSum.ALL_FREE_TOP, pa.summary(0, 1));
            assertEquals(0, pa.summary(0, 2));
            assertEquals(BASE, pa.alloc(1));
            assertEquals(BASE + PAGE, pa.alloc(regionPages)); // straddles the two regions
            assertEquals(regionPages + 1, pa.inUsePages());
            pa.free(BASE, 1);
            assertEquals(BASE + PAGE + region, pa.alloc(regionPages - 1));
            assertEquals(BASE, pa.alloc(1));
            assertEquals(0, pa.alloc(1));
            pa.free(BASE, 2 * regionPages);
            assertEquals(PallocSum.ALL_FREE_TOP, pa.summary(0, 0));
            assertEquals(BASE, pa.alloc(2 * regionPages));
            assertEquals(0, pa.alloc(1));
            pa.grow(BASE + 2 * region, region);
            assertEquals(BASE + 2 * region, pa.alloc(regionPages));
        });
        pa.verify();
    }

    @Test
    void largestRangeGrowsSparsely() {
        long limit = BASE + PageAllocator.MAX_RANGE_BYTES;
        PageAllocator pa = new PageAllocator(BASE, limit);
        long top = limit - PageAllocator.CHUNK_BYTES;
        locked(pa, () -> {
            pa.grow(top, PageAllocator.CHUNK_BYTES);
            assertEquals(top, pa.alloc(CHUNK));
            assertEquals(0, pa.alloc(1));
            pa.grow(BASE, PageAllocator.CHUNK_BYTES);
            assertEquals(BASE, pa.alloc(1));
            assertEquals(BASE + PAGE, pa.alloc(CHUNK - 1));
            pa.free(top + 5 * PAGE, 3);
            assertEquals(top + 5 * PAGE, pa.alloc(3));
            assertEquals(2L * CHUNK, pa.inUsePages());
            assertEquals(2L * CHUNK, pa.grownPages());
            pa.free(top, CHUNK);
        });
        pa.verify();
        assertEquals(CHUNK * PAGE, pa.scavenge(Long.MAX_VALUE, (a, b) -> assertEquals(top, a)));
        pa.verify();
    }

    // ------------------------------------------------------------ alloc

    private record Hit(long npages, long base, long scav) {}

    private static Hit hit(long npages, long base, long scav) {
        return new Hit(npages, base, scav);
    }

    @TestFactory
    Stream<DynamicTest> alloc() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(allocCase("AllFree1", desc().c(0), desc().c(0, 0, 1, 2, 2),
                List.of(hit(1, pageBase(0, 0), 1), hit(1, pageBase(0, 1), 0), hit(1, pageBase(0, 2), 1),
                        hit(1, pageBase(0, 3), 1), hit(1, pageBase(0, 4), 0)),
                desc().c(0, 0, 5)));
        t.add(allocCase("ManyArena1", desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK - 1),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK),
                List.of(hit(1, pageBase(2, CHUNK - 1), 1)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK)));
        t.add(allocCase("NotContiguous1", desc().c(0, 0, CHUNK).c(0xff, 0, 0),
                desc().c(0, 0, CHUNK).c(0xff, 0, CHUNK),
                List.of(hit(1, pageBase(0xff, 0), 1)),
                desc().c(0, 0, CHUNK).c(0xff, 0, 1)));
        t.add(allocCase("AllFree2", desc().c(0), desc().c(0, 0, 3, 7, 1),
                List.of(hit(2, pageBase(0, 0), 2), hit(2, pageBase(0, 2), 1), hit(2, pageBase(0, 4), 0),
                        hit(2, pageBase(0, 6), 1), hit(2, pageBase(0, 8), 0)),
                desc().c(0, 0, 10)));
        t.add(allocCase("Straddle2", desc().c(0, 0, CHUNK - 1).c(1, 1, CHUNK - 1),
                desc().c(0, CHUNK - 1, 1).c(1),
                List.of(hit(2, pageBase(0, CHUNK - 1), 1)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK)));
        t.add(allocCase("AllFree5", desc().c(0), desc().c(0, 0, 8, 9, 1, 17, 5),
                List.of(hit(5, pageBase(0, 0), 5), hit(5, pageBase(0, 5), 4), hit(5, pageBase(0, 10), 0),
                        hit(5, pageBase(0, 15), 3), hit(5, pageBase(0, 20), 2)),
                desc().c(0, 0, 25)));
        t.add(allocCase("ExhaustPallocChunkPages-3", desc().c(0), desc().c(0, 10, 1),
                List.of(hit(CHUNK - 3, pageBase(0, 0), 1), hit(CHUNK - 3, 0, 0), hit(1, pageBase(0, CHUNK - 3), 0),
                        hit(2, pageBase(0, CHUNK - 2), 0), hit(1, 0, 0), hit(CHUNK - 3, 0, 0)),
                desc().c(0, 0, CHUNK)));
        t.add(allocCase("AllFreePallocChunkPages", desc().c(0), desc().c(0, 0, 1, CHUNK - 1, 1),
                List.of(hit(CHUNK, pageBase(0, 0), 2), hit(CHUNK, 0, 0), hit(1, 0, 0)),
                desc().c(0, 0, CHUNK)));
        t.add(allocCase("StraddlePallocChunkPages+1", desc().c(0, 0, CHUNK / 2).c(1),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK),
                List.of(hit(CHUNK + 1, pageBase(0, CHUNK / 2), CHUNK + 1), hit(CHUNK, 0, 0),
                        hit(1, pageBase(1, CHUNK / 2 + 1), 1)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK / 2 + 2)));
        t.add(allocCase("AllFreePallocChunkPages*2", desc().c(0).c(1), desc().c(0).c(1),
                List.of(hit(CHUNK * 2, pageBase(0, 0), 0), hit(CHUNK * 2, 0, 0), hit(1, 0, 0)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK)));
        t.add(allocCase("NotContiguousPallocChunkPages*2", desc().c(0).c(0x40).c(0x41),
                desc().c(0, 0, CHUNK).c(0x40).c(0x41),
                List.of(hit(CHUNK * 2, pageBase(0x40, 0), 0), hit(21, pageBase(0, 0), 21), hit(1, pageBase(0, 21), 1)),
                desc().c(0, 0, 22).c(0x40, 0, CHUNK).c(0x41, 0, CHUNK)));
        t.add(allocCase("StraddlePallocChunkPages*5/4",
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK * 3 / 4).c(2, 0, CHUNK * 3 / 4).c(3, 0, 0),
                desc().c(0, 0, CHUNK).c(1, CHUNK / 2, CHUNK / 4 + 1).c(2, CHUNK / 3, 1).c(3, CHUNK * 2 / 3, 1),
                List.of(hit(CHUNK * 5 / 4, pageBase(2, CHUNK * 3 / 4), 1), hit(CHUNK * 5 / 4, 0, 0),
                        hit(1, pageBase(1, CHUNK * 3 / 4), 1)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK * 3 / 4 + 1).c(2, 0, CHUNK).c(3, 0, CHUNK)));
        t.add(allocCase("AllFree64", desc().c(0), desc().c(0, 21, 1, 63, 65),
                List.of(hit(64, pageBase(0, 0), 2), hit(64, pageBase(0, 64), 64), hit(64, pageBase(0, 128), 0)),
                desc().c(0, 0, 192)));
        t.add(allocCase("AllFree65", desc().c(0), desc().c(0, 129, 1),
                List.of(hit(65, pageBase(0, 0), 0), hit(65, pageBase(0, 65), 1), hit(65, pageBase(0, 130), 0)),
                desc().c(0, 0, 195)));
        t.add(allocCase("StraddlePallocChunkPages", desc().c(0, 0, CHUNK / 2).c(1, CHUNK / 2, CHUNK / 2),
                desc().c(0).c(1, 3, 100),
                List.of(hit(CHUNK, pageBase(0, CHUNK / 2), 100), hit(CHUNK, 0, 0), hit(1, 0, 0)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK)));
        Desc8 d8 = new Desc8();
        t.add(allocCase("AllFreePallocChunkPages*7+5", d8.free,
                desc().c(0, 50, 1).c(1, 31, 1).c(2, 7, 1).c(3, 200, 1).c(4, 3, 1).c(5, 51, 1).c(6, 20, 1).c(7, 1, 1),
                List.of(hit(CHUNK * 7 + 5, pageBase(0, 0), 8), hit(CHUNK * 7 + 5, 0, 0), hit(1, pageBase(7, 5), 0)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK).c(3, 0, CHUNK).c(4, 0, CHUNK).c(5, 0, CHUNK)
                        .c(6, 0, CHUNK).c(7, 0, 6)));
        t.add(allocCase("StraddlePallocChunkPages*2", desc().c(0, 0, CHUNK / 2).c(1).c(2, CHUNK / 2, CHUNK / 2),
                desc().c(0, 0, 7).c(1, 3, 5, 121, 10).c(2, CHUNK / 2 + 12, 2),
                List.of(hit(CHUNK * 2, pageBase(0, CHUNK / 2), 15), hit(CHUNK * 2, 0, 0), hit(1, 0, 0)),
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK)));
        // Go's DiscontiguousMappedSumBoundary: the first chunk's summary is the last of a summary block.
        int edge = 511;
        t.add(allocCase("DiscontiguousMappedSumBoundary", desc().c(edge).c(edge + BIG_JUMP), desc().c(edge).c(edge + BIG_JUMP),
                List.of(hit(CHUNK - 1, pageBase(edge, 0), 0), hit(1, pageBase(edge, CHUNK - 1), 0),
                        hit(1, pageBase(edge + BIG_JUMP, 0), 0), hit(CHUNK - 1, pageBase(edge + BIG_JUMP, 1), 0),
                        hit(1, 0, 0)),
                desc().c(edge, 0, CHUNK).c(edge + BIG_JUMP, 0, CHUNK)));
        // Go's DiscontiguousBadSearchAddr (golang/go#40191): the hint derived by find may point at
        // memory that was never grown.
        int small = 0x503;
        t.add(allocCase("DiscontiguousBadSearchAddr",
                desc().c(0, 0, CHUNK - 1).c(BIG_JUMP + small, 0, CHUNK - 10, CHUNK - 1, 1).c(2 * BIG_JUMP),
                desc().c(0).c(BIG_JUMP + small).c(2 * BIG_JUMP),
                List.of(hit(1, pageBase(0, CHUNK - 1), 0), hit(100, pageBase(2 * BIG_JUMP, 0), 0),
                        hit(9, pageBase(BIG_JUMP + small, CHUNK - 10), 0)),
                desc().c(0, 0, CHUNK).c(BIG_JUMP + small, 0, CHUNK).c(2 * BIG_JUMP, 0, 100)));
        // Runs that straddle 16 GiB top-level regions (4096 chunks each).
        t.add(allocCase("StraddleTopLevel", desc().c(4095, 0, 300).c(4096).c(4097, 10, CHUNK - 10),
                desc().c(4095).c(4096).c(4097),
                List.of(hit(CHUNK + 212 + 10, pageBase(4095, 300), 0), hit(1, 0, 0)),
                desc().c(4095, 0, CHUNK).c(4096, 0, CHUNK).c(4097, 0, CHUNK)));
        return t.stream();
    }

    /** Eight free chunks. */
    private static final class Desc8 {
        final PageAllocatorTestSupport.Desc free = desc().c(0).c(1).c(2).c(3).c(4).c(5).c(6).c(7);
    }

    private static DynamicTest allocCase(String name, PageAllocatorTestSupport.Desc before,
                                         PageAllocatorTestSupport.Desc scav, List<Hit> hits,
                                         PageAllocatorTestSupport.Desc after) {
        return dynamicTest(name, () -> {
            PageAllocator pa = newPageAlloc(before, scav);
            locked(pa, () -> {
                for (int i = 0; i < hits.size(); i++) {
                    Hit h = hits.get(i);
                    long got = pa.alloc(h.npages());
                    assertEquals(String.format("0x%x", h.base()), String.format("0x%x", got), "alloc #" + (i + 1));
                    if (got != 0) {
                        assertEquals(h.scav(), pa.lastAllocScavengedPages(), "scavenged pages of alloc #" + (i + 1));
                    }
                }
            });
            pa.verify();
            assertSameBitmaps(newPageAlloc(after, scav), pa);
        });
    }

    // ------------------------------------------------------------ exhaust

    @TestFactory
    Stream<DynamicTest> exhaust() {
        List<DynamicTest> t = new ArrayList<>();
        for (int npages : new int[] {1, 2, 3, 4, 5, 8, 16, 64, 1024, 1025, 2048, 2049}) {
            t.add(dynamicTest(Integer.toString(npages), () -> {
                PageAllocator pa = newPageAlloc(desc().c(0).c(1).c(2).c(3), null);
                int nAlloc = CHUNK * 4 / npages;
                locked(pa, () -> {
                    for (int i = 0; i < nAlloc; i++) {
                        long want = pageBase(0, i * npages);
                        assertEquals(want, pa.alloc(npages), "alloc #" + (i + 1));
                    }
                    assertEquals(0, pa.alloc(npages), "alloc past exhaustion");
                });
                pa.verify();
                int allocPages = nAlloc * npages;
                PageAllocatorTestSupport.Desc want = desc();
                for (int c = 0; c < 4; c++) {
                    int n = Math.min(CHUNK, allocPages);
                    want.c(c, 0, n);
                    allocPages -= n;
                }
                assertSameBitmaps(newPageAlloc(want, null), pa);
            }));
        }
        return t.stream();
    }

    // ------------------------------------------------------------ free

    @TestFactory
    Stream<DynamicTest> free() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(freeCase("Free1", 1, desc().c(0, 0, CHUNK),
                new long[] {pageBase(0, 0), pageBase(0, 1), pageBase(0, 2), pageBase(0, 3), pageBase(0, 4)},
                desc().c(0, 5, CHUNK - 5)));
        t.add(freeCase("ManyArena1", 1, desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK),
                new long[] {pageBase(0, CHUNK / 2), pageBase(1, 0), pageBase(2, CHUNK - 1)},
                desc().c(0, 0, CHUNK / 2, CHUNK / 2 + 1, CHUNK / 2 - 1).c(1, 1, CHUNK - 1).c(2, 0, CHUNK - 1)));
        t.add(freeCase("Free2", 2, desc().c(0, 0, CHUNK),
                new long[] {pageBase(0, 0), pageBase(0, 2), pageBase(0, 4), pageBase(0, 6), pageBase(0, 8)},
                desc().c(0, 10, CHUNK - 10)));
        t.add(freeCase("Straddle2", 2, desc().c(0, CHUNK - 1, 1).c(1, 0, 1),
                new long[] {pageBase(0, CHUNK - 1)}, desc().c(0).c(1)));
        t.add(freeCase("Free5", 5, desc().c(0, 0, CHUNK),
                new long[] {pageBase(0, 0), pageBase(0, 5), pageBase(0, 10), pageBase(0, 15), pageBase(0, 20)},
                desc().c(0, 25, CHUNK - 25)));
        t.add(freeCase("FreePallocChunkPages", CHUNK, desc().c(0, 0, CHUNK), new long[] {pageBase(0, 0)}, desc().c(0)));
        t.add(freeCase("StraddlePallocChunkPages", CHUNK, desc().c(0, CHUNK / 2, CHUNK / 2).c(1, 0, CHUNK / 2),
                new long[] {pageBase(0, CHUNK / 2)}, desc().c(0).c(1)));
        t.add(freeCase("StraddlePallocChunkPages+1", CHUNK + 1, desc().c(0, 0, CHUNK).c(1, 0, CHUNK),
                new long[] {pageBase(0, CHUNK / 2)},
                desc().c(0, 0, CHUNK / 2).c(1, CHUNK / 2 + 1, CHUNK / 2 - 1)));
        t.add(freeCase("FreePallocChunkPages*2", CHUNK * 2, desc().c(0, 0, CHUNK).c(1, 0, CHUNK),
                new long[] {pageBase(0, 0)}, desc().c(0).c(1)));
        t.add(freeCase("StraddlePallocChunkPages*2", CHUNK * 2, desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK),
                new long[] {pageBase(0, CHUNK / 2)},
                desc().c(0, 0, CHUNK / 2).c(1).c(2, CHUNK / 2, CHUNK / 2)));
        PageAllocatorTestSupport.Desc full8 = desc();
        PageAllocatorTestSupport.Desc after8 = desc();
        for (int c = 0; c < 8; c++) {
            full8.c(c, 0, CHUNK);
            if (c < 7) {
                after8.c(c);
            }
        }
        after8.c(7, 5, CHUNK - 5);
        t.add(freeCase("AllFreePallocChunkPages*7+5", CHUNK * 7 + 5, full8, new long[] {pageBase(0, 0)}, after8));
        t.add(freeCase("Free64", 64, desc().c(0, 0, CHUNK),
                new long[] {pageBase(0, 0), pageBase(0, 64), pageBase(0, 128)}, desc().c(0, 192, CHUNK - 192)));
        t.add(freeCase("Free65", 65, desc().c(0, 0, CHUNK),
                new long[] {pageBase(0, 0), pageBase(0, 65), pageBase(0, 130)}, desc().c(0, 195, CHUNK - 195)));
        return t.stream();
    }

    private static DynamicTest freeCase(String name, long npages, PageAllocatorTestSupport.Desc before, long[] frees,
                                        PageAllocatorTestSupport.Desc after) {
        return dynamicTest(name, () -> {
            PageAllocator pa = newPageAlloc(before, null);
            locked(pa, () -> {
                for (long a : frees) {
                    pa.free(a, npages);
                }
            });
            pa.verify();
            assertSameBitmaps(newPageAlloc(after, null), pa);
        });
    }

    // ------------------------------------------------------------ alloc and free

    @Test
    void allocAndFreeChunks8() {
        PageAllocator pa = newPageAlloc(new Desc8().free, null);
        long all = CHUNK * 8L;
        long b = pageBase(0, 0);
        locked(pa, () -> {
            for (int i = 0; i < 3; i++) {
                assertEquals(b, pa.alloc(all));
                pa.free(b, all);
            }
            assertEquals(b, pa.alloc(1));
            pa.free(b, 1);
            assertEquals(b, pa.alloc(all));
            assertEquals(0, pa.alloc(1));
        });
        pa.verify();
    }

    @Test
    void searchHintSkipsFullMemoryAndRecoversAfterFree() {
        PageAllocator pa = newPageAlloc(desc().c(0).c(1).c(2), null);
        locked(pa, () -> {
            for (int i = 0; i < 3 * CHUNK; i++) {
                assertEquals(pageBase(0, 0) + i * PAGE, pa.alloc(1));
            }
            assertEquals(0, pa.alloc(1));
            assertEquals(LIMIT, pa.searchAddress()); // exhausted
            pa.free(pageBase(1, 7), 1);
            assertEquals(pageBase(1, 7), pa.searchAddress());
            assertEquals(pageBase(1, 7), pa.alloc(1));
            pa.free(pageBase(2, 500), 3);
            pa.free(pageBase(0, 3), 1);
            assertEquals(0, pa.alloc(4));
            assertEquals(pageBase(2, 500), pa.alloc(3));
            assertEquals(pageBase(0, 3), pa.alloc(1));
        });
        pa.verify();
    }

    @Test
    void growLowersTheHintAndMemoryBecomesAllocatable() {
        PageAllocator pa = newPageAlloc(desc().c(10), null);
        locked(pa, () -> {
            assertEquals(pageBase(10, 0), pa.alloc(CHUNK));
            assertEquals(0, pa.alloc(1));
            pa.grow(pageBase(2, 0), 2 * PageAllocator.CHUNK_BYTES);
            assertEquals(pageBase(2, 0), pa.alloc(CHUNK + 1));
            assertEquals(CHUNK + 1, pa.lastAllocScavengedPages());
            assertEquals(pageBase(3, 1), pa.alloc(CHUNK - 1));
            assertEquals(0, pa.alloc(1));
            pa.grow(pageBase(11, 0), PageAllocator.CHUNK_BYTES);
            assertEquals(pageBase(11, 0), pa.alloc(1));
        });
        pa.verify();
    }

    // ------------------------------------------------------------ counters

    @Test
    void countersFollowAllocFreeAndScavengedBits() {
        PageAllocator pa = newPageAlloc(desc().c(0), desc().c(0, 0, 100));
        locked(pa, () -> {
            assertEquals(0, pa.inUsePages());
            assertEquals(CHUNK - 100, pa.freePages());
            assertEquals(100, pa.releasedPages());
            assertEquals(CHUNK, pa.grownPages());
            long a = pa.alloc(150);
            assertEquals(100, pa.lastAllocScavengedPages());
            assertEquals(150, pa.inUsePages());
            assertEquals(CHUNK - 150, pa.freePages());
            assertEquals(0, pa.releasedPages());
            pa.free(a, 150);
            assertEquals(0, pa.inUsePages());
            assertEquals(CHUNK, pa.freePages());
        });
        pa.verify();
    }

    // ------------------------------------------------------------ bad arguments

    @Test
    void constructorRejectsBadRanges() {
        assertThrowsWithValue(IllegalArgumentException.class, "0x0", () -> new PageAllocator(0, LIMIT));
        assertThrowsWithValue(IllegalArgumentException.class, "0xc000002000", () -> new PageAllocator(BASE + PAGE, LIMIT));
        assertThrowsWithValue(IllegalArgumentException.class, "0xc000000000", () -> new PageAllocator(BASE, BASE));
        assertThrowsWithValue(IllegalArgumentException.class, "0xc000002000", () -> new PageAllocator(BASE, BASE + PAGE));
        assertThrowsWithValue(IllegalArgumentException.class, "2^48", () -> new PageAllocator(BASE, BASE + (1L << 49)));
        assertThrowsWithValue(IllegalArgumentException.class, "0xffffffffffc00000",
                () -> new PageAllocator(-PageAllocator.CHUNK_BYTES, LIMIT));
    }

    @Test
    void badArgumentsChangeNothing() {
        PageAllocator pa = newPageAlloc(desc().c(0, 0, 10).c(1).c(5), null);
        long rangePages = (LIMIT - BASE) / PAGE;
        locked(pa, () -> {
            // alloc: zero, negative, oversized
            assertThrowsWithValue(IllegalArgumentException.class, ": 0", () -> pa.alloc(0));
            assertThrowsWithValue(IllegalArgumentException.class, "-3", () -> pa.alloc(-3));
            assertThrowsWithValue(IllegalArgumentException.class, Long.toString(rangePages + 1), () -> pa.alloc(rangePages + 1));
            assertThrowsWithValue(IllegalArgumentException.class, Long.toString(Long.MAX_VALUE), () -> pa.alloc(Long.MAX_VALUE));
            // free: bad counts, unaligned, foreign, never grown, crossing into never-grown memory
            assertThrowsWithValue(IllegalArgumentException.class, ": 0", () -> pa.free(pageBase(0, 0), 0));
            assertThrowsWithValue(IllegalArgumentException.class, "-1", () -> pa.free(pageBase(0, 0), -1));
            assertThrowsWithValue(IllegalArgumentException.class, "0xc000000008", () -> pa.free(pageBase(0, 0) + 8, 1));
            assertThrowsWithValue(IllegalArgumentException.class, "0x1000", () -> pa.free(0x1000, 1));
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", LIMIT), () -> pa.free(LIMIT, 1));
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", pageBase(2, 0)),
                    () -> pa.free(pageBase(2, 0), 1));
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", pageBase(2, 0)),
                    () -> pa.free(pageBase(1, 500), 20));
            assertThrowsWithValue(IllegalArgumentException.class, Long.toString(Long.MAX_VALUE),
                    () -> pa.free(pageBase(0, 0), Long.MAX_VALUE));
            // free of free pages: the whole range is rejected, even its allocated prefix
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", pageBase(0, 10)),
                    () -> pa.free(pageBase(0, 5), 6));
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", pageBase(0, 10)),
                    () -> pa.free(pageBase(0, 0), CHUNK + 1));
            // grow: unaligned, empty, outside, already grown (even partly)
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", pageBase(3, 1)),
                    () -> pa.grow(pageBase(3, 1), PageAllocator.CHUNK_BYTES));
            assertThrowsWithValue(IllegalArgumentException.class, Long.toString(PAGE),
                    () -> pa.grow(pageBase(3, 0), PAGE));
            assertThrowsWithValue(IllegalArgumentException.class, ": 0", () -> pa.grow(pageBase(3, 0), 0));
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", LIMIT),
                    () -> pa.grow(LIMIT, PageAllocator.CHUNK_BYTES));
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", LIMIT + PageAllocator.CHUNK_BYTES),
                    () -> pa.grow(LIMIT - PageAllocator.CHUNK_BYTES, 2 * PageAllocator.CHUNK_BYTES));
            assertThrowsWithValue(IllegalArgumentException.class, String.format("0x%x", BASE - PageAllocator.CHUNK_BYTES),
                    () -> pa.grow(BASE - PageAllocator.CHUNK_BYTES, PageAllocator.CHUNK_BYTES));
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", pageBase(5, 0)),
                    () -> pa.grow(pageBase(3, 0), 3 * PageAllocator.CHUNK_BYTES));
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", pageBase(0, 0)),
                    () -> pa.grow(pageBase(0, 0), PageAllocator.CHUNK_BYTES));
            // allocToCache on a non-empty cache
            PageCache cache = new PageCache();
            assertEquals(true, pa.allocToCache(cache));
            long cacheBase = cache.base();
            assertThrowsWithValue(IllegalStateException.class, String.format("0x%x", cacheBase), () -> pa.allocToCache(cache));
            cache.flush(pa);
        });
        pa.verify();
        assertSameBitmaps(newPageAlloc(desc().c(0, 0, 10).c(1).c(5), null), pa);
        // ... and the allocator keeps working.
        locked(pa, () -> {
            assertEquals(pageBase(0, 10), pa.alloc(CHUNK - 10 + 1));
            assertEquals(pageBase(5, 0), pa.alloc(CHUNK));
            pa.grow(pageBase(3, 0), PageAllocator.CHUNK_BYTES);
            assertEquals(pageBase(1, 1), pa.alloc(5));
            pa.free(pageBase(0, 10), CHUNK - 10 + 1);
        });
        pa.verify();
    }

    @Test
    void methodsRequireTheLock() {
        PageAllocator pa = new PageAllocator(BASE, LIMIT);
        assertThrows(IllegalStateException.class, () -> pa.grow(BASE, PageAllocator.CHUNK_BYTES));
        assertThrows(IllegalStateException.class, () -> pa.alloc(1));
        assertThrows(IllegalStateException.class, () -> pa.free(BASE, 1));
        assertThrows(IllegalStateException.class, () -> pa.allocToCache(new PageCache()));
        assertThrows(IllegalStateException.class, pa::inUsePages);
        assertThrows(IllegalStateException.class, pa::freePages);
        assertThrows(IllegalStateException.class, pa::releasedPages);
        assertThrows(IllegalStateException.class, pa::grownPages);
        assertThrows(IllegalStateException.class, pa::lastAllocScavengedPages);
        pa.verify();
    }

    @Test
    void verifyDetectsCorruptSummaries() {
        PageAllocator pa = newPageAlloc(desc().c(0, 0, 10).c(9), null);
        for (int level = 0; level < PageAllocator.LEVELS; level++) {
            int lv = level;
            int index = level == PageAllocator.LEAF ? 9 : 0;
            long good = locked(pa, () -> pa.summary(lv, index));
            locked(pa, () -> pa.pokeSummary(lv, index, PallocSum.pack(1, 1, 1)));
            IllegalStateException e = assertThrows(IllegalStateException.class, pa::verify);
            assertTrue(e.getMessage().contains(level == PageAllocator.LEAF ? "chunk 9" : "level " + level), e.getMessage());
            locked(pa, () -> pa.pokeSummary(lv, index, good));
            pa.verify();
        }
        locked(pa, () -> {
            assertEquals(pageBase(0, 10), pa.alloc(CHUNK - 10));
            assertEquals(pageBase(9, 0), pa.alloc(1));
        });
        pa.verify();
    }
}
