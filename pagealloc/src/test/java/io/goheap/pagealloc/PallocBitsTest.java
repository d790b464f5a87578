// Invariants: pure unit tests of PallocBits over local arrays; no shared state, no locks.
package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocatorTestSupport.bits;
import static io.goheap.pagealloc.PageAllocatorTestSupport.hex;
import static io.goheap.pagealloc.PageAllocatorTestSupport.inverted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Go's mpallocbits_test.go cases, re-expressed. */
class PallocBitsTest {
    private static final int N = PallocBits.BITS;

    // ------------------------------------------------------------ brute-force references

    static boolean isSet(long[] b, int i) {
        return (b[i >>> 6] & (1L << i)) != 0;
    }

    static long summarizeSlow(long[] b) {
        int start = 0;
        while (start < N && !isSet(b, start)) {
            start++;
        }
        int end = 0;
        while (end < N && !isSet(b, N - 1 - end)) {
            end++;
        }
        int max = 0;
        int run = 0;
        for (int i = 0; i < N; i++) {
            run = isSet(b, i) ? 0 : run + 1;
            max = Math.max(max, run);
        }
        return PallocSum.pack(start, max, end);
    }

    /** Lowest i >= from with [i, i+n) free, or -1. */
    static int findSlow(long[] b, int n, int from) {
        int run = 0;
        for (int i = from; i < N; i++) {
            run = isSet(b, i) ? 0 : run + 1;
            if (run == n) {
                return i - n + 1;
            }
        }
        return -1;
    }

    static int findBitRange64Slow(long c, int n) {
        for (int i = 0; i + n <= 64; i++) {
            long m = PallocBits.mask(i, n);
            if ((c & m) == m) {
                return i;
            }
        }
        return 64;
    }

    private static void assertSum(long want, long got) {
        assertEquals(PallocSum.toString(want), PallocSum.toString(got));
        assertEquals(want, got);
    }

    // ------------------------------------------------------------ allocRange

    @TestFactory
    Stream<DynamicTest> allocRange() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(dynamicTest("OneLow", () -> checkRange(0, 1, w(0, 0x1L))));
        t.add(dynamicTest("OneHigh", () -> checkRange(N - 1, 1, w(7, 1L << 63))));
        t.add(dynamicTest("Inner", () -> checkRange(129, 5, w(2, 0x3eL))));
        t.add(dynamicTest("Aligned", () -> checkRange(128, 128, w(2, -1L, 3, -1L))));
        t.add(dynamicTest("Begin", () -> checkRange(0, 321, w(0, -1L, 1, -1L, 2, -1L, 3, -1L, 4, -1L, 5, 0x1L))));
        t.add(dynamicTest("End", () -> checkRange(N - (64 * 3 + 1), 64 * 3 + 1, w(7, -1L, 6, -1L, 5, -1L, 4, 1L << 63))));
        t.add(dynamicTest("All", () -> checkRange(0, N, w(0, -1L, 1, -1L, 2, -1L, 3, -1L, 4, -1L, 5, -1L, 6, -1L, 7, -1L))));
        return t.stream();
    }

    /** Words given as (index, value) pairs. */
    private static long[] w(long... pairs) {
        long[] b = new long[PallocBits.WORDS];
        for (int i = 0; i < pairs.length; i += 2) {
            b[(int) pairs[i]] = pairs[i + 1];
        }
        return b;
    }

    private static void checkRange(int i, int n, long[] want) {
        long[] b = new long[PallocBits.WORDS];
        PallocBits.setRange(b, 0, i, n);
        assertArrayEquals(want, b, () -> hex(b));
        long[] c = inverted(new long[PallocBits.WORDS]);
        PallocBits.clearRange(c, 0, i, n);
        assertArrayEquals(inverted(want), c, () -> hex(c));
    }

    @Test
    void rangesAtOffsetLeaveNeighboursAlone() {
        long[] arr = new long[3 * PallocBits.WORDS];
        PallocBits.setRange(arr, PallocBits.WORDS, 0, N);
        for (int k = 0; k < PallocBits.WORDS; k++) {
            assertEquals(0, arr[k]);
            assertEquals(-1L, arr[PallocBits.WORDS + k]);
            assertEquals(0, arr[2 * PallocBits.WORDS + k]);
        }
        assertEquals(N, PallocBits.popcount(arr, PallocBits.WORDS));
        assertEquals(N, PallocBits.popcountRange(arr, PallocBits.WORDS, 0, N));
    }

    @Test
    void randomRangesAgreeWithBruteForce() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int iter = 0; iter < 5000; iter++) {
            long[] b = new long[PallocBits.WORDS];
            for (int k = 0; k < b.length; k++) {
                b[k] = rnd.nextLong();
            }
            int i = rnd.nextInt(N);
            int n = 1 + rnd.nextInt(N - i);
            int want = 0;
            for (int p = i; p < i + n; p++) {
                want += isSet(b, p) ? 1 : 0;
            }
            assertEquals(want, PallocBits.popcountRange(b, 0, i, n));
            long[] s = b.clone();
            PallocBits.setRange(s, 0, i, n);
            long[] c = b.clone();
            PallocBits.clearRange(c, 0, i, n);
            for (int p = 0; p < N; p++) {
                boolean inside = p >= i && p < i + n;
                assertEquals(inside || isSet(b, p), isSet(s, p));
                assertEquals(!inside && isSet(b, p), isSet(c, p));
            }
        }
    }

    // ------------------------------------------------------------ popcntRange

    @TestFactory
    Stream<DynamicTest> popcntRange() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(popcnt("None", bits(), 0, 1, 0, 5, 3, 0, 2, 11, 0, N / 4 + 1, N / 2, 0, 0, N, 0));
        t.add(popcnt("All", bits(0, N), 0, 1, 1, 5, 3, 3, 2, 11, 11, N / 4 + 1, N / 2, N / 2, 0, N, N));
        t.add(popcnt("Half", bits(N / 2, N / 2), 0, 1, 0, 5, 3, 0, 2, 11, 0, N / 2 - 1, 1, 0, N / 2, 1, 1,
                N / 2 + 10, 1, 1, N / 2 - 1, 2, 1, N / 4, N / 4, 0, N / 4, N / 4 + 1, 1,
                N / 4 + 1, N / 2, N / 4 + 1, 0, N, N / 2));
        t.add(popcnt("OddBound", bits(0, 111), 0, 1, 1, 5, 3, 3, 2, 11, 11, 110, 2, 1, 99, 50, 12, 110, 1, 1,
                111, 1, 0, 99, 1, 1, 120, 1, 0, N / 2, N / 2, 0, 0, N, 111));
        t.add(popcnt("Scattered", bits(1, 3, 5, 1, 7, 1, 10, 2, 13, 1, 15, 4, 21, 1, 23, 1, 26, 2, 30, 5, 36, 2,
                40, 3, 44, 6, 51, 1, 53, 2, 58, 3, 63, 1, 67, 2, 71, 10, 84, 1, 89, 7, 99, 2, 103, 1, 107, 2,
                111, 1, 113, 1, 115, 1, 118, 1, 120, 2, 125, 5),
                0, 11, 6, 0, 64, 39, 13, 64, 40, 64, 64, 34, 0, 128, 73, 1, 128, 74, 0, N, 75));
        return t.stream();
    }

    private static DynamicTest popcnt(String name, long[] b, int... triples) {
        return dynamicTest(name, () -> {
            for (int k = 0; k < triples.length; k += 3) {
                int i = triples[k];
                int n = triples[k + 1];
                assertEquals(triples[k + 2], PallocBits.popcountRange(b, 0, i, n), "popcnt(" + i + ", " + n + ")");
            }
        });
    }

    // ------------------------------------------------------------ summarize

    @TestFactory
    Stream<DynamicTest> summarize() {
        List<DynamicTest> t = new ArrayList<>();
        // Ranges listed are the FREE pages.
        t.add(sum("NoneFree", bits(), 0, 0, 0));
        t.add(sum("OnlyStart", bits(0, 10), 10, 10, 0));
        t.add(sum("OnlyEnd", bits(N - 40, 40), 0, 40, 40));
        t.add(sum("StartAndEnd", bits(0, 11, N - 23, 23), 11, 23, 23));
        t.add(sum("StartMaxEnd", bits(0, 4, 50, 100, N - 4, 4), 4, 100, 4));
        t.add(sum("OnlyMax", bits(1, 20, 35, 241, N - 50, 30), 0, 241, 0));
        t.add(sum("MultiMax", bits(35, 2, 40, 5, 100, 5), 0, 5, 0));
        t.add(sum("One", bits(2, 1), 0, 1, 0));
        t.add(sum("AllFree", bits(0, N), N, N, N));
        t.add(sum("InteriorOfWord", bits(3, 60), 0, 60, 0));
        t.add(sum("InteriorBeatsBoundary", bits(62, 4, 130, 61), 0, 61, 0));
        return t.stream();
    }

    private static DynamicTest sum(String name, long[] free, int start, int max, int end) {
        return dynamicTest(name, () -> {
            long[] b = inverted(free);
            assertSum(PallocSum.pack(start, max, end), PallocBits.summarize(b, 0));
            assertSum(summarizeSlow(b), PallocBits.summarize(b, 0));
        });
    }

    @Test
    void summarizeRandom() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int iter = 0; iter < 1000; iter++) {
            long[] b = new long[PallocBits.WORDS];
            for (int k = 0; k < b.length; k++) {
                b[k] = rnd.nextLong();
            }
            assertSum(summarizeSlow(b), PallocBits.summarize(b, 0));
        }
        // Random bits rarely leave long runs: also try sparse bitmaps with runs of every length.
        for (int iter = 0; iter < 5000; iter++) {
            long[] b = randomRuns(rnd);
            assertSum(summarizeSlow(b), PallocBits.summarize(b, 0));
        }
    }

    /** A bitmap made of random-length runs of ones and zeros. */
    static long[] randomRuns(SplittableRandom rnd) {
        long[] b = new long[PallocBits.WORDS];
        int maxRun = 1 << rnd.nextInt(10);
        boolean set = rnd.nextBoolean();
        for (int i = 0; i < N; ) {
            int n = Math.min(N - i, 1 + rnd.nextInt(maxRun));
            if (set) {
                PallocBits.setRange(b, 0, i, n);
            }
            set = !set;
            i += n;
        }
        return b;
    }

    // ------------------------------------------------------------ find (Go's TestPallocBitsAlloc)

    @TestFactory
    Stream<DynamicTest> find() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(alloc("AllFree1", bits(), 1, new int[] {0, 1, 2, 3, 4, 5}, bits(0, 6)));
        t.add(alloc("AllFree2", bits(), 2, new int[] {0, 2, 4, 6, 8, 10}, bits(0, 12)));
        t.add(alloc("AllFree5", bits(), 5, new int[] {0, 5, 10, 15, 20}, bits(0, 25)));
        t.add(alloc("AllFree64", bits(), 64, new int[] {0, 64, 128}, bits(0, 192)));
        t.add(alloc("AllFree65", bits(), 65, new int[] {0, 65, 130}, bits(0, 195)));
        long[] some = bits(0, 32, 64, 32, 100, N - 100);
        t.add(alloc("SomeFree64", some, 64, new int[] {-1}, some));
        t.add(alloc("NoneFree1", bits(0, N), 1, new int[] {-1, -1}, bits(0, N)));
        t.add(alloc("NoneFree2", bits(0, N), 2, new int[] {-1, -1}, bits(0, N)));
        t.add(alloc("NoneFree5", bits(0, N), 5, new int[] {-1, -1}, bits(0, N)));
        t.add(alloc("NoneFree65", bits(0, N), 65, new int[] {-1, -1}, bits(0, N)));
        t.add(alloc("ExactFit1", bits(0, N / 2 - 3, N / 2 - 2, N / 2 + 2), 1, new int[] {N / 2 - 3, -1}, bits(0, N)));
        t.add(alloc("ExactFit2", bits(0, N / 2 - 3, N / 2 - 1, N / 2 + 1), 2, new int[] {N / 2 - 3, -1}, bits(0, N)));
        t.add(alloc("ExactFit5", bits(0, N / 2 - 3, N / 2 + 2, N / 2 - 2), 5, new int[] {N / 2 - 3, -1}, bits(0, N)));
        t.add(alloc("ExactFit65", bits(0, N / 2 - 31, N / 2 + 34, N / 2 - 34), 65, new int[] {N / 2 - 31, -1}, bits(0, N)));
        t.add(alloc("SomeFree161", bits(0, 185, 331, 1), 161, new int[] {332}, bits(0, 185, 331, 162)));
        return t.stream();
    }

    private static DynamicTest alloc(String name, long[] before, int npages, int[] hits, long[] after) {
        return dynamicTest(name, () -> {
            long[] b = before.clone();
            for (int k = 0; k < hits.length; k++) {
                int got = PallocBits.findIndex(PallocBits.find(b, 0, npages, 0));
                assertEquals(hits[k], got, "find #" + (k + 1));
                if (got >= 0) {
                    PallocBits.setRange(b, 0, got, npages);
                }
            }
            assertArrayEquals(after, b, () -> hex(b));
        });
    }

    @Test
    void findRandomAgreesWithBruteForce() {
        SplittableRandom rnd = new SplittableRandom(3);
        int[] sizes = {1, 2, 3, 5, 8, 31, 63, 64, 65, 100, 127, 128, 129, 200, 300, 511, 512};
        for (int iter = 0; iter < 20000; iter++) {
            long[] b = randomRuns(rnd);
            int n = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(N) : sizes[rnd.nextInt(sizes.length)];
            int from = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(N);
            long r = PallocBits.find(b, 0, n, from);
            assertEquals(findSlow(b, n, from), PallocBits.findIndex(r), () -> "n=" + n + " from=" + from + " " + hex(b));
            int firstFree = findSlow(b, 1, from);
            int ff = PallocBits.findFirstFree(r);
            // The hint is the first free page at or after the search index (N if there is none).
            assertEquals(firstFree < 0 ? N : firstFree, ff, () -> "first free, n=" + n + " from=" + from + " " + hex(b));
        }
    }

    // ------------------------------------------------------------ free (Go's TestPallocBitsFree)

    @TestFactory
    Stream<DynamicTest> free() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(freeCase("SomeFree", 1, bits(0, 32, 64, 32, 100, 1), new int[] {32}, bits(0, 33, 64, 32, 100, 1)));
        t.add(freeCase("NoneFree1", 1, bits(), new int[] {0, 1, 2, 3, 4, 5}, bits(0, 6)));
        t.add(freeCase("NoneFree2", 2, bits(), new int[] {0, 2, 4, 6, 8, 10}, bits(0, 12)));
        t.add(freeCase("NoneFree5", 5, bits(), new int[] {0, 5, 10, 15, 20}, bits(0, 25)));
        t.add(freeCase("NoneFree64", 64, bits(), new int[] {0, 64, 128}, bits(0, 192)));
        t.add(freeCase("NoneFree65", 65, bits(), new int[] {0, 65, 130}, bits(0, 195)));
        return t.stream();
    }

    /** Ranges given are FREE pages (inverted), as in Go's test. */
    private static DynamicTest freeCase(String name, int npages, long[] beforeFree, int[] frees, long[] afterFree) {
        return dynamicTest(name, () -> {
            long[] b = inverted(beforeFree);
            for (int i : frees) {
                PallocBits.clearRange(b, 0, i, npages);
            }
            assertArrayEquals(inverted(afterFree), b, () -> hex(b));
        });
    }

    // ------------------------------------------------------------ findBitRange64

    @Test
    void findBitRange64() {
        for (int n = 0; n <= 64; n++) {
            assertEquals(0, PallocBits.findBitRange64(-1L, n), "all ones, n=" + n);
        }
        assertEquals(0, PallocBits.findBitRange64(0, 0));
        for (int n = 1; n <= 64; n++) {
            assertTrue(PallocBits.findBitRange64(0, n) >= 64, "zero, n=" + n);
        }
        assertEquals(63, PallocBits.findBitRange64(0x8000000000000000L, 1));
        assertEquals(62, PallocBits.findBitRange64(0xc000010001010000L, 2));
        assertEquals(16, PallocBits.findBitRange64(0xc000010001030000L, 2));
        assertEquals(61, PallocBits.findBitRange64(0xe000030001030000L, 3));
        assertEquals(16, PallocBits.findBitRange64(0xe000030001070000L, 3));
        assertEquals(48, PallocBits.findBitRange64(0xffff03ff01070000L, 16));
        assertEquals(0, PallocBits.findBitRange64(0xffff03ff0107ffffL, 16));
        assertTrue(PallocBits.findBitRange64(0x0fff03ff01079fffL, 16) >= 64);
    }

    @Test
    void findBitRange64EveryLengthAgreesWithBruteForce() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int n = 1; n <= 64; n++) {
            for (int iter = 0; iter < 400; iter++) {
                long c;
                switch (iter % 4) {
                    case 0 -> c = rnd.nextLong();
                    case 1 -> c = rnd.nextLong() | rnd.nextLong() | rnd.nextLong();
                    case 2 -> {
                        int len = 1 + rnd.nextInt(64);
                        int at = rnd.nextInt(65 - len);
                        c = PallocBits.mask(at, len) | (rnd.nextLong() & rnd.nextLong() & rnd.nextLong());
                    }
                    default -> c = ~(1L << rnd.nextInt(64)) & ~(1L << rnd.nextInt(64));
                }
                int want = findBitRange64Slow(c, n);
                int got = PallocBits.findBitRange64(c, n);
                long cc = c;
                int nn = n;
                if (want == 64) {
                    assertTrue(got >= 64, () -> String.format("(%016x, %d): got %d, want failure", cc, nn, got));
                } else {
                    assertEquals(want, got, () -> String.format("(%016x, %d)", cc, nn));
                }
            }
        }
    }
}
