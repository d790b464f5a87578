package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocator.BLOCK_MASK;
import static io.goheap.pagealloc.PageAllocator.BLOCK_SHIFT;
import static io.goheap.pagealloc.PageAllocator.CAND_OFF;
import static io.goheap.pagealloc.PageAllocator.CHUNK_PAGES;
import static io.goheap.pagealloc.PageAllocator.GROWN_OFF;
import static io.goheap.pagealloc.PageAllocator.LEAF;
import static io.goheap.pagealloc.PageAllocator.LEVELS;
import static io.goheap.pagealloc.PageAllocator.chunkOff;
import static io.goheap.pagealloc.PageAllocator.levelShift;

/**
 * The {@link PageAllocator}'s consistency check, the body of {@link PageAllocator#verify}: recomputes from the
 * bitmaps everything the allocator derives from them and compares. Checked, in this order: the search hint lies
 * in {@code [0, totalPages]}; every chunk block has its summary blocks at every level; a never-grown chunk has
 * summary 0 and no scavenge flag; a grown chunk's leaf summary equals its bitmap's, none of its pages is both in
 * use and scavenged, and its scavenge flag is set iff it has a free unscavenged page; every grown page below the
 * search hint is in use; every summary above the leaves equals the merge of its children; the recorded lowest and
 * highest grown chunks are the real ones; and the counters equal the bitmaps' popcounts. The first mismatch
 * throws {@link IllegalStateException} naming it.
 *
 * <h2>Locking</h2>
 * Only reads the allocator's state and holds none of its own; must run under the allocator's
 * {@link PageAllocator#lock() lock}, which {@link PageAllocator#verify} takes.
 */
final class PageAllocatorChecks {
    private PageAllocatorChecks() {}

    static void verifyLocked(PageAllocator pa) {
        if (pa.searchPage < 0 || pa.searchPage > pa.totalPages) {
            fail("search hint %d outside [0, %d]", pa.searchPage, pa.totalPages);
        }
        long hintChunk = pa.searchPage >>> 9;
        long countInUse = 0;
        long countScav = 0;
        long countGrown = 0;
        int lo = Integer.MAX_VALUE;
        int hi = -1;
        for (int blk = 0; blk < pa.chunkBlocks.length; blk++) {
            long[] b = pa.chunkBlocks[blk];
            if (b == null) {
                continue;
            }
            for (int l = 0; l < LEVELS; l++) {
                int sb = ((blk << BLOCK_SHIFT) >>> levelShift(l)) >>> BLOCK_SHIFT;
                if (pa.sums[l][sb] == null) {
                    fail("summary block %d of level %d missing for chunk block %d", sb, l, blk);
                }
            }
            long[] leaves = pa.sums[LEAF][blk];
            int firstChunk = blk << BLOCK_SHIFT;
            int end = Math.min(pa.nChunks, firstChunk + (1 << BLOCK_SHIFT));
            for (int c = firstChunk; c < end; c++) {
                long grownWord = b[GROWN_OFF + ((c & BLOCK_MASK) >>> 6)];
                long candWord = b[CAND_OFF + ((c & BLOCK_MASK) >>> 6)];
                long leaf = leaves[c & BLOCK_MASK];
                boolean cand = (candWord & (1L << c)) != 0;
                if ((grownWord & (1L << c)) == 0) {
                    if (leaf != 0 || cand) {
                        fail("never-grown chunk %d has summary %s, scavenge flag %b",
                                c, PallocSum.toString(leaf), cand);
                    }
                    continue;
                }
                int o = chunkOff(c);
                countGrown++;
                lo = Math.min(lo, c);
                hi = Math.max(hi, c);
                long want = PallocBits.summarize(b, o);
                if (want != leaf) {
                    fail("chunk %d summary %s, bitmap says %s",
                            c, PallocSum.toString(leaf), PallocSum.toString(want));
                }
                boolean anyFreeUnscav = false;
                for (int k = 0; k < PallocBits.WORDS; k++) {
                    long a = b[o + k];
                    long s = b[o + PallocBits.WORDS + k];
                    if ((a & s) != 0) {
                        fail("chunk %d word %d: in-use pages are marked scavenged: 0x%x", c, k, a & s);
                    }
                    anyFreeUnscav |= (a | s) != -1L;
                    countInUse += Long.bitCount(a);
                    countScav += Long.bitCount(s);
                }
                if (anyFreeUnscav != cand) {
                    fail("chunk %d scavenge flag %b but has free unscavenged pages: %b", c, cand, anyFreeUnscav);
                }
                // Every grown page below the search hint must be in use.
                if (c <= hintChunk) {
                    int n = c < hintChunk ? CHUNK_PAGES : (int) (pa.searchPage & (CHUNK_PAGES - 1));
                    if (PallocBits.popcountRange(b, o, 0, n) != n) {
                        fail("search hint 0x%x is above a free page in chunk %d", pa.pageAddress(pa.searchPage), c);
                    }
                }
            }
        }
        for (int l = LEAF - 1; l >= 0; l--) {
            long[][] level = pa.sums[l];
            for (int sb = 0; sb < level.length; sb++) {
                if (level[sb] == null) {
                    continue;
                }
                int end = Math.min(pa.levelCount[l], (sb + 1) << BLOCK_SHIFT);
                for (int i = sb << BLOCK_SHIFT; i < end; i++) {
                    long want = pa.mergeChildren(l, i);
                    long got = level[sb][i & BLOCK_MASK];
                    if (want != got) {
                        fail("level %d entry %d summary %s, children say %s",
                                l, i, PallocSum.toString(got), PallocSum.toString(want));
                    }
                }
            }
        }
        if (lo != pa.minGrown || hi != pa.maxGrown) {
            fail("grown chunk bounds [%d, %d], recorded [%d, %d]", lo, hi, pa.minGrown, pa.maxGrown);
        }
        if (countGrown != pa.grownChunks || countInUse != pa.inUse || countScav != pa.released
                || pa.grownChunks * CHUNK_PAGES - countInUse - countScav != pa.free) {
            fail("counters grown=%d inUse=%d free=%d released=%d; bitmaps say grown=%d inUse=%d free=%d released=%d",
                    pa.grownChunks, pa.inUse, pa.free, pa.released, countGrown, countInUse,
                    countGrown * CHUNK_PAGES - countInUse - countScav, countScav);
        }
    }

    private static void fail(String format, Object... args) {
        throw new IllegalStateException("page allocator verify: " + String.format(format, args));
    }
}
