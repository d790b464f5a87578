// Invariants: single-threaded randomized test; the allocator is only touched under its lock (scavenge without it), and the BitSet model is updated exactly where the allocator is.
package io.goheap.pagealloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Randomized model test: every operation is mirrored on a page-level {@link BitSet} model of the
 * whole managed range, and after every step the results, the counters and {@link
 * PageAllocator#verify()} are checked; the bitmaps themselves are compared every 1000 steps.
 *
 * <p>The range spans two 16 GiB top-level regions; the grown chunk ranges straddle the radix
 * tree's boundaries at every level (32 MiB, 256 MiB, 2 GiB and 16 GiB) and are grown in random
 * order while the test runs.
 */
class PageAllocatorModelTest {
    private static final long BASE = PageAllocatorTestSupport.BASE;
    private static final int CHUNK = PageAllocator.CHUNK_PAGES;
    private static final long PAGE = PageAllocator.PAGE_SIZE;
    private static final int CHUNKS = 4096 + 128;
    private static final int PAGES = CHUNKS * CHUNK;
    private static final int STEPS = Integer.getInteger("goheap.pagealloc.modelSteps", 100_000);
    /** (first chunk, chunk count) of every grow call; discontiguous, across level boundaries. */
    private static final int[][] GROWS = {
        {0, 4}, {6, 3}, {60, 4}, {64, 6}, {509, 6}, {1000, 1}, {4090, 12}, {4200, 8}, {4208, 16},
    };

    private final PageAllocator pa = new PageAllocator(BASE, BASE + (long) CHUNKS * PageAllocator.CHUNK_BYTES);
    private final SplittableRandom rnd = new SplittableRandom(Long.getLong("goheap.pagealloc.modelSeed", 0x9e3779b97f4a7c15L));

    // ---- model
    /** In use, or never grown. */
    private final BitSet busy = new BitSet(PAGES);
    /** Free and scavenged. */
    private final BitSet scav = new BitSet(PAGES);
    /** Free and not scavenged. */
    private final BitSet fresh = new BitSet(PAGES);
    private long inUse;
    private long free;
    private long released;
    private long grown;
    private final List<long[]> live = new ArrayList<>(); // {page, npages}
    private final List<int[]> toGrow = new ArrayList<>();
    private final PageCache[] caches = {new PageCache(), new PageCache()};
    private final long[] cachePage = new long[2];
    private final long[] cacheBits = new long[2];
    private final long[] cacheScav = new long[2];
    private final int[] opCounts = new int[9];

    @Test
    void randomOperationsMatchTheModel() {
        busy.set(0, PAGES);
        for (int[] g : GROWS) {
            toGrow.add(g);
        }
        doGrow(); // start with something
        for (int step = 0; step < STEPS; step++) {
            int s = step;
            try {
                step();
                checkCounters();
                pa.verify();
                if (step % 1000 == 999) {
                    compareBitmaps();
                }
            } catch (Throwable t) {
                throw new AssertionError("step " + s + " failed", t);
            }
        }
        // Drain: flush caches, free everything, scavenge everything.
        for (int i = 0; i < caches.length; i++) {
            flushCache(i);
        }
        while (!live.isEmpty()) {
            long[] r = live.remove(live.size() - 1);
            lock(() -> pa.free(pageAddr(r[0]), r[1]));
            markFree(r[0], r[1]);
        }
        while (!toGrow.isEmpty()) {
            doGrow();
        }
        checkCounters();
        scavenge(Long.MAX_VALUE, -1);
        checkCounters();
        pa.verify();
        compareBitmaps();
        lock(() -> {
            assertEquals(0, pa.inUsePages());
            assertEquals(0, pa.freePages());
            assertEquals(grown, pa.releasedPages());
        });
        // Every operation kind actually ran.
        for (int k = 0; k < opCounts.length; k++) {
            assertTrue(opCounts[k] > 0, "operation kind " + k + " never ran");
        }
    }

    private void step() {
        double util = grown == 0 ? 0 : (double) inUse / grown;
        double r = rnd.nextDouble();
        if (!toGrow.isEmpty() && (r < 0.004 || util > 0.97)) {
            opCounts[0]++;
            doGrow();
            return;
        }
        r = rnd.nextDouble();
        double pAlloc = 0.45 - 0.3 * util;
        if ((r -= pAlloc) < 0) {
            opCounts[1]++;
            doAlloc();
        } else if ((r -= 0.30) < 0 && !live.isEmpty()) {
            opCounts[2]++;
            doFree();
        } else if ((r -= 0.04) < 0) {
            opCounts[3]++;
            doFill(rnd.nextInt(caches.length));
        } else if ((r -= 0.10) < 0) {
            opCounts[4]++;
            doCacheAlloc(rnd.nextInt(caches.length));
        } else if ((r -= 0.02) < 0) {
            opCounts[5]++;
            flushCache(rnd.nextInt(caches.length));
        } else if ((r -= 0.05) < 0) {
            opCounts[6]++;
            long bytes = switch (rnd.nextInt(4)) {
                case 0 -> Long.MAX_VALUE;
                case 1 -> 1 + rnd.nextLong(PAGE * 4);
                default -> PAGE * (1 + rnd.nextInt(200));
            };
            scavenge(bytes, rnd.nextInt(8) == 0 ? 1 + rnd.nextInt(3) : -1);
        } else if ((r -= 0.02) < 0) {
            opCounts[7]++;
            badArgument();
        } else {
            opCounts[8]++;
            doAlloc();
        }
    }

    // ------------------------------------------------------------ model helpers

    private long pageAddr(long page) {
        return BASE + page * PAGE;
    }

    private void lock(Runnable r) {
        PageAllocatorTestSupport.locked(pa, r);
    }

    /** Free pages [p, p+n) become in use; returns how many were scavenged. */
    private long markAlloc(long p, long n) {
        int from = (int) p;
        int to = (int) (p + n);
        long s = 0;
        for (int i = scav.nextSetBit(from); i >= 0 && i < to; i = scav.nextSetBit(i + 1)) {
            s++;
        }
        busy.set(from, to);
        scav.clear(from, to);
        fresh.clear(from, to);
        inUse += n;
        released -= s;
        free -= n - s;
        return s;
    }

    /** In-use pages [p, p+n) become free and unscavenged. */
    private void markFree(long p, long n) {
        busy.clear((int) p, (int) (p + n));
        fresh.set((int) p, (int) (p + n));
        inUse -= n;
        free += n;
    }

    private long lowestFit(long n) {
        int i = busy.nextClearBit(0);
        while (i < PAGES) {
            int j = busy.nextSetBit(i);
            if (j < 0) {
                j = PAGES;
            }
            if (j - i >= n) {
                return i;
            }
            i = busy.nextClearBit(j);
        }
        return -1;
    }

    private void checkCounters() {
        lock(() -> {
            assertEquals(inUse, pa.inUsePages(), "inUse");
            assertEquals(free, pa.freePages(), "free");
            assertEquals(released, pa.releasedPages(), "released");
            assertEquals(grown, pa.grownPages(), "grown");
        });
    }

    private void compareBitmaps() {
        lock(() -> {
            for (int[] g : GROWS) {
                if (toGrow.contains(g)) {
                    continue;
                }
                for (int c = g[0]; c < g[0] + g[1]; c++) {
                    long[] wantAlloc = new long[PallocBits.WORDS];
                    long[] wantScav = new long[PallocBits.WORDS];
                    for (int i = 0; i < CHUNK; i++) {
                        int p = c * CHUNK + i;
                        if (busy.get(p)) {
                            wantAlloc[i >>> 6] |= 1L << i;
                        }
                        if (scav.get(p)) {
                            wantScav[i >>> 6] |= 1L << i;
                        }
                    }
                    int cc = c;
                    assertArrayEquals(wantAlloc, pa.allocBits(c), () -> "alloc bits of chunk " + cc);
                    assertArrayEquals(wantScav, pa.scavengedBits(c), () -> "scavenged bits of chunk " + cc);
                }
            }
        });
    }

    // ------------------------------------------------------------ operations

    private void doGrow() {
        int[] g = toGrow.remove(rnd.nextInt(toGrow.size()));
        lock(() -> pa.grow(pageAddr((long) g[0] * CHUNK), g[1] * PageAllocator.CHUNK_BYTES));
        int from = g[0] * CHUNK;
        int to = (g[0] + g[1]) * CHUNK;
        busy.clear(from, to);
        scav.set(from, to);
        grown += to - from;
        released += to - from;
    }

    private long randomSize() {
        int k = rnd.nextInt(100);
        if (k < 60) {
            return 1 + rnd.nextInt(4);
        } else if (k < 85) {
            return 5 + rnd.nextInt(60);
        } else if (k < 96) {
            return 65 + rnd.nextInt(CHUNK - 64);
        }
        return CHUNK + 1 + rnd.nextInt(5 * CHUNK);
    }

    private void doAlloc() {
        long n = randomSize();
        long want = lowestFit(n);
        long[] got = new long[2];
        lock(() -> {
            got[0] = pa.alloc(n);
            got[1] = pa.lastAllocScavengedPages();
        });
        if (want < 0) {
            assertEquals(0, got[0], "alloc(" + n + ") should fail");
            return;
        }
        assertEquals(String.format("0x%x", pageAddr(want)), String.format("0x%x", got[0]), "alloc(" + n + ")");
        long s = markAlloc(want, n);
        assertEquals(s, got[1], "scavenged pages of alloc(" + n + ")");
        live.add(new long[] {want, n});
    }

    private void doFree() {
        int idx = rnd.nextInt(live.size());
        long[] r = live.get(idx);
        long p = r[0];
        long n = r[1];
        if (n > 1 && rnd.nextBoolean()) {
            // Free a random piece; keep the rest live.
            long a = rnd.nextLong(n);
            long b = a + 1 + rnd.nextLong(n - a);
            live.remove(idx);
            if (a > 0) {
                live.add(new long[] {p, a});
            }
            if (b < n) {
                live.add(new long[] {p + b, n - b});
            }
            p += a;
            n = b - a;
        } else {
            live.remove(idx);
        }
        long fp = p;
        long fn = n;
        lock(() -> pa.free(pageAddr(fp), fn));
        markFree(fp, fn);
    }

    private void doFill(int i) {
        PageCache c = caches[i];
        if (!c.isEmpty()) {
            long b = c.base();
            lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalStateException.class,
                    String.format("0x%x", b), () -> pa.allocToCache(c)));
            return;
        }
        boolean[] ok = new boolean[1];
        long[] lastScav = new long[1];
        lock(() -> {
            ok[0] = pa.allocToCache(c);
            if (ok[0]) {
                lastScav[0] = pa.lastAllocScavengedPages();
            }
        });
        int f = busy.nextClearBit(0);
        if (f >= PAGES) {
            assertFalse(ok[0], "allocToCache with no free page");
            assertTrue(c.isEmpty());
            return;
        }
        assertTrue(ok[0], "allocToCache should find page " + f);
        int block = f & -64;
        long bits = 0;
        long sbits = 0;
        for (int k = 0; k < 64; k++) {
            if (!busy.get(block + k)) {
                bits |= 1L << k;
                if (scav.get(block + k)) {
                    sbits |= 1L << k;
                }
            }
        }
        assertEquals(String.format("0x%x", pageAddr(block)), String.format("0x%x", c.base()), "cache base");
        assertEquals(Long.toHexString(bits), Long.toHexString(c.cacheBits()), "cache bits");
        assertEquals(Long.toHexString(sbits), Long.toHexString(c.scavBits()), "cache scav bits");
        assertEquals(Long.bitCount(sbits), lastScav[0]);
        for (int k = 0; k < 64; k++) {
            if ((bits & (1L << k)) != 0) {
                markAlloc(block + k, 1);
            }
        }
        cachePage[i] = block;
        cacheBits[i] = bits;
        cacheScav[i] = sbits;
    }

    private void doCacheAlloc(int i) {
        PageCache c = caches[i];
        long n = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(64) : 1 + rnd.nextInt(4);
        long got = c.alloc(n);
        int want = cacheBits[i] == 0 ? 64 : PallocBitsTest.findBitRange64Slow(cacheBits[i], (int) n);
        if (want >= 64) {
            assertEquals(0, got, "cache alloc(" + n + ") should fail");
            return;
        }
        long m = PallocBits.mask(want, (int) n);
        assertEquals(String.format("0x%x", pageAddr(cachePage[i] + want)), String.format("0x%x", got), "cache alloc(" + n + ")");
        assertEquals(Long.bitCount(cacheScav[i] & m), c.lastAllocScavengedPages());
        cacheBits[i] &= ~m;
        cacheScav[i] &= ~m;
        assertEquals(Long.bitCount(cacheBits[i]), c.freePageCount());
        assertEquals(Long.bitCount(cacheScav[i]), c.scavengedPageCount());
        live.add(new long[] {cachePage[i] + want, n});
    }

    private void flushCache(int i) {
        PageCache c = caches[i];
        lock(() -> c.flush(pa));
        assertTrue(c.isEmpty());
        for (int k = 0; k < 64; k++) {
            if ((cacheBits[i] & (1L << k)) != 0) {
                int p = (int) cachePage[i] + k;
                busy.clear(p);
                inUse--;
                if ((cacheScav[i] & (1L << k)) != 0) {
                    scav.set(p);
                    released++;
                } else {
                    fresh.set(p);
                    free++;
                }
            }
        }
        cacheBits[i] = 0;
        cacheScav[i] = 0;
    }

    /** Scavenges maxBytes; failAt > 0 makes the releaser throw on that call. */
    private void scavenge(long maxBytes, int failAt) {
        // Expected runs: highest chunk with free unscavenged pages, the top of its highest run.
        List<long[]> expect = new ArrayList<>();
        long want = (maxBytes - 1) / PAGE + 1;
        long done = 0;
        boolean fails = false;
        while (done < want) {
            int h = fresh.previousSetBit(PAGES - 1);
            if (h < 0) {
                break;
            }
            int chunkStart = h & -CHUNK;
            int lo = Math.max(chunkStart, fresh.previousClearBit(h) + 1);
            long size = Math.min(h + 1 - lo, want - done);
            long start = h + 1 - size;
            expect.add(new long[] {start, size});
            if (expect.size() == failAt) {
                fails = true;
                break;
            }
            fresh.clear((int) start, (int) (start + size));
            scav.set((int) start, (int) (start + size));
            free -= size;
            released += size;
            done += size;
        }
        List<long[]> calls = new ArrayList<>();
        RuntimeException boom = new RuntimeException("injected release failure");
        PageAllocator.Releaser releaser = (a, b) -> {
            assertFalse(pa.lock().isHeldByCurrentThread());
            calls.add(new long[] {(a - BASE) / PAGE, b / PAGE});
            if (calls.size() == failAt) {
                throw boom;
            }
        };
        if (fails) {
            assertSame(boom, assertThrows(RuntimeException.class, () -> pa.scavenge(maxBytes, releaser)));
        } else {
            assertEquals(done * PAGE, pa.scavenge(maxBytes, releaser), "scavenge(" + maxBytes + ")");
        }
        assertEquals(expect.size(), calls.size(), "number of releases");
        for (int k = 0; k < expect.size(); k++) {
            assertArrayEquals(expect.get(k), calls.get(k), "release #" + k);
        }
    }

    private void badArgument() {
        switch (rnd.nextInt(9)) {
            case 0 -> lock(() -> assertThrows(IllegalArgumentException.class, () -> pa.alloc(-rnd.nextInt(5))));
            case 1 -> lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalArgumentException.class,
                    Long.toString(PAGES + 1L), () -> pa.alloc(PAGES + 1L)));
            case 2 -> {
                long a = pageAddr(rnd.nextInt(PAGES)) + 1 + rnd.nextInt((int) PAGE - 1);
                lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalArgumentException.class,
                        String.format("0x%x", a), () -> pa.free(a, 1)));
            }
            case 3 -> {
                // A never-grown page (or a page outside the range).
                long a = toGrow.isEmpty() ? BASE - PAGE * 512 : pageAddr((long) toGrow.get(0)[0] * CHUNK + rnd.nextInt(CHUNK));
                lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalArgumentException.class,
                        String.format("0x%x", a), () -> pa.free(a, 1)));
            }
            case 4 -> {
                // Freeing a free page, possibly as the tail of a live run.
                int p = fresh.nextSetBit(rnd.nextInt(PAGES));
                if (p < 0) {
                    p = scav.nextSetBit(0);
                }
                if (p < 0) {
                    return;
                }
                long start = p;
                long n = 1;
                if (!live.isEmpty() && rnd.nextBoolean()) {
                    long[] r = live.get(rnd.nextInt(live.size()));
                    if (r[0] + r[1] < PAGES && !busy.get((int) (r[0] + r[1]))) {
                        start = r[0];
                        n = r[1] + 1;
                        p = (int) (r[0] + r[1]);
                    }
                }
                long fs = start;
                long fn = n;
                String page = String.format("0x%x", pageAddr(p));
                lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalStateException.class, page,
                        () -> pa.free(pageAddr(fs), fn)));
            }
            case 5 -> {
                int[] g = GROWS[rnd.nextInt(GROWS.length)];
                if (toGrow.contains(g)) {
                    return;
                }
                long a = pageAddr((long) g[0] * CHUNK);
                lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalStateException.class,
                        String.format("0x%x", a), () -> pa.grow(a, PageAllocator.CHUNK_BYTES)));
            }
            case 6 -> {
                long a = pageAddr(CHUNK * (long) (1 + rnd.nextInt(CHUNKS - 1))) + PAGE;
                lock(() -> PageAllocatorTestSupport.assertThrowsWithValue(IllegalArgumentException.class,
                        String.format("0x%x", a), () -> pa.grow(a, PageAllocator.CHUNK_BYTES)));
            }
            case 7 -> lock(() -> assertThrows(IllegalArgumentException.class, () -> pa.free(BASE, 0)));
            default -> {
                int i = rnd.nextInt(caches.length);
                PageCache c = caches[i];
                assertThrows(IllegalArgumentException.class, () -> c.alloc(65 + rnd.nextInt(10)));
                assertThrows(IllegalArgumentException.class, () -> c.alloc(0));
            }
        }
    }
}
