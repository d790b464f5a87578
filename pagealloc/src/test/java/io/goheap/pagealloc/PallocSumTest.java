// Invariants: pure unit tests of PallocSum packing and merging; no shared state, no locks.
package io.goheap.pagealloc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PallocSumTest {
    @Test
    void packRoundTrips() {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int i = 0; i < 10000; i++) {
            int max = rnd.nextInt(PallocSum.MAX_PACKED);
            int start = rnd.nextInt(max + 1);
            int end = rnd.nextInt(max + 1);
            long s = PallocSum.pack(start, max, end);
            assertEquals(start, PallocSum.start(s));
            assertEquals(max, PallocSum.max(s));
            assertEquals(end, PallocSum.end(s));
        }
        assertEquals(0, PallocSum.pack(0, 0, 0));
    }

    @Test
    void completelyFreeTopLevelRegionUsesTheSpecialEncoding() {
        int m = PallocSum.MAX_PACKED;
        long s = PallocSum.pack(m, m, m);
        assertEquals(PallocSum.ALL_FREE_TOP, s);
        assertEquals(m, PallocSum.start(s));
        assertEquals(m, PallocSum.max(s));
        assertEquals(m, PallocSum.end(s));
        // 8 completely free 2 GiB children make a completely free 16 GiB region.
        long child = PallocSum.pack(1 << 18, 1 << 18, 1 << 18);
        long[] kids = {child, child, child, child, child, child, child, child};
        assertEquals(PallocSum.ALL_FREE_TOP, PallocSum.merge(kids, 0, 8, 18));
    }

    @Test
    void freeChunkIsAllFree() {
        assertEquals(PallocSum.FREE_CHUNK, PallocBits.summarize(new long[PallocBits.WORDS], 0));
        assertEquals(512, PallocSum.max(PallocSum.FREE_CHUNK));
    }

    /** Merging children equals summarizing the concatenation of their pages. */
    @Test
    void mergeAgreesWithConcatenatedBitmap() {
        SplittableRandom rnd = new SplittableRandom(9);
        for (int iter = 0; iter < 5000; iter++) {
            int n = 1 + rnd.nextInt(8);
            long[][] chunks = new long[8][];
            long[] sums = new long[8];
            for (int k = 0; k < 8; k++) {
                chunks[k] = switch (rnd.nextInt(4)) {
                    case 0 -> new long[PallocBits.WORDS];
                    case 1 -> PageAllocatorTestSupport.inverted(new long[PallocBits.WORDS]);
                    default -> PallocBitsTest.randomRuns(rnd);
                };
                if (k >= n) {
                    chunks[k] = PageAllocatorTestSupport.inverted(new long[PallocBits.WORDS]); // missing = in use
                }
                sums[k] = PallocBits.summarize(chunks[k], 0);
            }
            int start = 0;
            int max = 0;
            int end = 0;
            int run = 0;
            boolean prefix = true;
            for (int k = 0; k < 8; k++) {
                for (int i = 0; i < 512; i++) {
                    boolean used = PallocBitsTest.isSet(chunks[k], i);
                    run = used ? 0 : run + 1;
                    max = Math.max(max, run);
                    if (used) {
                        prefix = false;
                    } else if (prefix) {
                        start++;
                    }
                }
            }
            end = run;
            long want = PallocSum.pack(start, max, end);
            long got = PallocSum.merge(sums, 0, n, 9);
            assertEquals(PallocSum.toString(want), PallocSum.toString(got));
        }
    }
}
