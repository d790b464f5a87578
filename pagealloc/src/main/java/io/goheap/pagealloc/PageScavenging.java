package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocator.BLOCK_MASK;
import static io.goheap.pagealloc.PageAllocator.BLOCK_SHIFT;
import static io.goheap.pagealloc.PageAllocator.CAND_OFF;
import static io.goheap.pagealloc.PageAllocator.CHUNK_PAGES;
import static io.goheap.pagealloc.PageAllocator.PAGE_SHIFT;
import static io.goheap.pagealloc.PageAllocator.PAGE_SIZE;
import static io.goheap.pagealloc.PageAllocator.chunkOff;

import java.util.Objects;

/**
 * The scavenging side of the {@link PageAllocator} (Go's mgcscavenge.go): finding free pages that are not yet
 * scavenged, handing them to a {@link PageAllocator.Releaser}, and the bookkeeping of what is scavenged — each
 * chunk's scavenged bitmap (the second 8 words of its bitmaps) and its "has free unscavenged pages" flag (the
 * {@code CAND_OFF} words of its chunk block, Go's scavenge index). Static helpers over one allocator's state;
 * this class holds none of its own.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>A page is never both in use and scavenged: allocation clears the scavenged bits of what it takes
 *       ({@code PageAllocator.allocRange}), and only free pages get them set ({@link #markScavenged}).</li>
 *   <li>A grown chunk's flag is set iff some page of it is free and not scavenged; a never-grown chunk's flag is
 *       clear. Whoever changes a chunk's bits refreshes its flag ({@link #refreshCandidate}, or
 *       {@link #clearCandidate} when the chunk is known to be fully in use or fully scavenged).</li>
 *   <li>A run being released is marked in use, so no allocation can take it and it counts in
 *       {@link PageAllocator#inUsePages()}; it never crosses a chunk, and nobody else may free it meanwhile.</li>
 * </ul>
 *
 * <h2>Locking</h2>
 * Every method here reads and writes the allocator's bitmaps, flags and counters and must run under the
 * allocator's {@link PageAllocator#lock() lock}, except {@link #scavenge}: it must be called without the lock,
 * takes it for each step of finding, hiding and freeing a run, and calls the releaser with it released.
 */
final class PageScavenging {
    private PageScavenging() {}

    /**
     * A chunk with at least this many pages in use is dense (Go: 496 of 512, 96.875%): the background scavenger
     * leaves its few free pages alone, since they are likely to be reused soon and releasing them would break
     * up a huge page the kernel may back the chunk with. Forced scavenging (memory limit, FreeOSMemory) ignores
     * density.
     */
    static final int DENSE_PAGES = CHUNK_PAGES * 31 / 32;

    /**
     * The body of {@link PageAllocator#scavenge} and {@link PageAllocator#scavengeBackground}; see there. Called
     * without the lock. {@code force} ignores density; {@code hugePages} (pages per huge page, 0 or 1 = none)
     * widens a run down to a huge-page boundary when the free run reaches it, so whole huge pages go back.
     */
    static long scavenge(PageAllocator pa, long maxBytes, boolean force, int hugePages,
                         PageAllocator.Releaser releaser) {
        Objects.requireNonNull(releaser, "releaser");
        if (maxBytes < 0) {
            throw new IllegalArgumentException("scavenge byte count must be >= 0: " + maxBytes);
        }
        if (pa.lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("scavenge must be called without the page allocator's lock");
        }
        long wantPages = maxBytes == 0 ? 0 : (maxBytes - 1) / PAGE_SIZE + 1;
        long donePages = 0;
        int cursor = Integer.MAX_VALUE;
        while (donePages < wantPages) {
            long page;
            int size;
            pa.lock.lock();
            try {
                if (cursor == Integer.MAX_VALUE) {
                    cursor = force ? pa.maxGrown : Math.min(pa.backgroundCursor, pa.maxGrown);
                }
                cursor = highestCandidate(pa, cursor);
                while (!force && cursor >= 0 && isDense(pa, cursor)) {
                    cursor = highestCandidate(pa, cursor - 1);
                }
                if (!force) {
                    pa.backgroundCursor = cursor;   // everything above was searched: the next call starts here
                }
                if (cursor < 0) {
                    break; // nothing free and unscavenged is left (in chunks this scavenge may touch)
                }
                long[] b = pa.blockOf(cursor);
                int o = chunkOff(cursor);
                int max = (int) Math.min(CHUNK_PAGES, wantPages - donePages);
                long cand = PallocBits.findScavengeCandidate(b, o, b, o + PallocBits.WORDS, CHUNK_PAGES - 1, 1, max,
                        hugePages > CHUNK_PAGES ? 0 : hugePages);
                if (PallocBits.candidateSize(cand) == 0) {
                    throw new IllegalStateException(
                            "chunk " + cursor + " is flagged as having free unscavenged pages but has none");
                }
                size = PallocBits.candidateSize(cand);
                page = (long) cursor * CHUNK_PAGES + PallocBits.candidateStart(cand);
                pa.allocRange(page, size); // hide the run from allocators while it is released
            } finally {
                pa.lock.unlock();
            }
            try {
                releaser.release(pa.pageAddress(page), (long) size << PAGE_SHIFT);
            } catch (Throwable t) {
                pa.lock.lock();
                try {
                    if (stillHidden(pa, page, size)) {
                        pa.freeRange(page, size);
                    } else {
                        t.addSuppressed(new IllegalStateException(freedMeanwhile(pa, page, size)));
                    }
                } finally {
                    pa.lock.unlock();
                }
                throw t;
            }
            pa.lock.lock();
            try {
                if (!stillHidden(pa, page, size)) {
                    throw new IllegalStateException(freedMeanwhile(pa, page, size));
                }
                pa.freeRange(page, size);
                markScavenged(pa, page, size);
            } finally {
                pa.lock.unlock();
            }
            donePages += size;
        }
        return donePages << PAGE_SHIFT;
    }

    /** Whether chunk c has at least {@link #DENSE_PAGES} pages in use. */
    private static boolean isDense(PageAllocator pa, int c) {
        return PallocBits.popcount(pa.blockOf(c), chunkOff(c)) >= DENSE_PAGES;
    }

    /** The run being released (one chunk) must still be in use: nobody may free it meanwhile. */
    private static boolean stillHidden(PageAllocator pa, long page, int n) {
        int c = (int) (page >>> 9);
        return PallocBits.popcountRange(pa.blockOf(c), chunkOff(c), (int) (page & (CHUNK_PAGES - 1)), n) == n;
    }

    private static String freedMeanwhile(PageAllocator pa, long page, int n) {
        return String.format("pages [0x%x, +%d) were freed by someone else while being scavenged",
                pa.pageAddress(page), n);
    }

    /** Highest chunk <= from flagged as having free unscavenged pages, or -1. */
    private static int highestCandidate(PageAllocator pa, int from) {
        if (from < 0 || pa.maxGrown < 0) {
            return -1;
        }
        from = Math.min(from, pa.maxGrown);
        for (int blk = from >>> BLOCK_SHIFT, lowBlk = pa.minGrown >>> BLOCK_SHIFT; blk >= lowBlk; blk--) {
            long[] b = pa.chunkBlocks[blk];
            if (b == null) {
                continue;
            }
            int topWord = 7;
            long topMask = -1L;
            if (blk == from >>> BLOCK_SHIFT) {
                topWord = (from & BLOCK_MASK) >>> 6;
                topMask = -1L >>> (63 - (from & 63));
            }
            for (int w = topWord; w >= 0; w--) {
                long m = b[CAND_OFF + w] & topMask;
                topMask = -1L;
                if (m != 0) {
                    return (blk << BLOCK_SHIFT) + (w << 6) + 63 - Long.numberOfLeadingZeros(m);
                }
            }
        }
        return -1;
    }

    /** Sets the scavenged bits of the free pages [page, page+npages), which may span chunks. */
    static void markReleased(PageAllocator pa, long page, long npages) {
        long end = page + npages;
        while (page < end) {
            int n = (int) Math.min(end - page, CHUNK_PAGES - (page & (CHUNK_PAGES - 1)));
            markScavenged(pa, page, n);
            page += n;
        }
    }

    /** Sets the scavenged bits of free pages [page, page+n) inside one chunk. */
    private static void markScavenged(PageAllocator pa, long page, int n) {
        int c = (int) (page >>> 9);
        long[] b = pa.blockOf(c);
        PallocBits.setRange(b, chunkOff(c) + PallocBits.WORDS, (int) (page & (CHUNK_PAGES - 1)), n);
        refreshCandidate(b, c);
        pa.free -= n;
        pa.released += n;
    }

    /** After changing chunk c's bits: refresh its "has free unscavenged pages" flag. */
    static void refreshCandidate(long[] b, int c) {
        int o = chunkOff(c);
        boolean any = false;
        for (int k = 0; k < PallocBits.WORDS; k++) {
            if ((b[o + k] | b[o + PallocBits.WORDS + k]) != -1L) {
                any = true;
                break;
            }
        }
        int w = CAND_OFF + ((c & BLOCK_MASK) >>> 6);
        if (any) {
            b[w] |= 1L << c;
        } else {
            b[w] &= ~(1L << c);
        }
    }

    /** Clears chunk c's flag: every page of it is in use or scavenged. */
    static void clearCandidate(long[] b, int c) {
        b[CAND_OFF + ((c & BLOCK_MASK) >>> 6)] &= ~(1L << c);
    }
}
