package io.goheap.pagealloc;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Go's page allocator ({@code pageAlloc}): address-ordered first fit over 8 KiB pages of one reserved range
 * {@code [base, limit)}, pure bookkeeping over {@code long} addresses. This class is the allocator proper (Go's
 * mpagealloc.go): the chunk bitmaps, the radix tree of summaries over them, and find, alloc, free and grow. It
 * owns all the state; three package-private helpers work on that state and hold none of their own:
 * <ul>
 *   <li>{@link PageCacheFill}: filling a {@link PageCache} from the bitmaps ({@link #allocToCache}) and taking
 *       its pages back ({@link PageCache#flush}) (Go's mpagecache.go);</li>
 *   <li>{@link PageScavenging}: finding free unscavenged pages and releasing them, and the bookkeeping of the
 *       scavenged bitmaps and the "has free unscavenged pages" flags (Go's mgcscavenge.go);</li>
 *   <li>{@link PageAllocatorChecks}: {@link #verify}'s recomputation of everything from the bitmaps.</li>
 * </ul>
 *
 * <h2>Layout</h2>
 * <ul>
 *   <li>The range is cut into 4 MiB chunks of 512 pages, indexed from {@code base}. Each chunk has a 512-bit
 *       allocation bitmap (1 = in use) and a 512-bit scavenged bitmap (1 = released to the OS), stored as 16
 *       consecutive longs in flat per-block arrays of 512 chunks (2 GiB of address space, 64 KiB of bitmaps).
 *       Blocks are allocated when {@link #grow} first touches them, so metadata cost follows grown memory, not
 *       the range.</li>
 *   <li>A radix tree of {@link PallocSum summaries} with five levels: level 4 has one entry per chunk (4 MiB),
 *       each level above merges 8 children (32 MiB, 256 MiB, 2 GiB), and level 0 has one entry per 16 GiB, as
 *       many as the range needs. The tree is aligned to {@code base}, not to absolute addresses. Each level is
 *       stored in blocks of 512 entries allocated by {@link #grow}; a missing block reads as 0 ("all in use"),
 *       which is also the summary of every never-grown region.</li>
 *   <li>{@code searchPage}: a page index such that every grown page below it is in use. Searches start there;
 *       it moves up on allocation and down on free/grow/flush.</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>In use implies not scavenged.</li>
 *   <li>Never-grown chunks have all-zero bits and summary 0.</li>
 *   <li>Every summary equals the recomputation from its bitmap (leaves) or its children (levels above).</li>
 *   <li>Every grown page below {@code searchPage} is in use.</li>
 *   <li>The counters equal the bitmaps' popcounts.</li>
 * </ul>
 * {@link #verify} checks all of these, and the scavenge flags' invariant (see {@link PageScavenging}).
 *
 * <h2>Locking</h2>
 * All state is guarded by {@link #lock()} (the heap lock); only {@link #scavenge} runs its releaser outside it.
 * Every public method except {@link #scavenge} and {@link #verify} must be called with {@link #lock()} held by
 * the current thread (checked: {@link IllegalStateException} otherwise). {@code scavenge} must be called without
 * it and takes it itself; {@code verify} takes it. The state fields and the helper methods they need are
 * package-private only for the three helpers above, which touch them under the same lock; no other class does.
 */
public final class PageAllocator {
    public static final int PAGE_SHIFT = 13;
    public static final long PAGE_SIZE = 1L << PAGE_SHIFT;
    public static final int CHUNK_PAGES = 512;
    public static final long CHUNK_BYTES = CHUNK_PAGES * PAGE_SIZE;

    /** Largest managed range (Go's 48-bit heap address space). */
    static final long MAX_RANGE_BYTES = 1L << 48;
    static final int CHUNK_SHIFT = PAGE_SHIFT + 9;
    static final int LEVELS = 5;
    static final int LEAF = LEVELS - 1;
    /** log2 of the pages one entry covers at each level, root first. */
    static final int[] LEVEL_LOG_PAGES = {21, 18, 15, 12, 9};
    /** Pages in one per-P page cache window (Go: 64, one bitmap word). */
    public static final int CACHE_PAGES = 64;

    static final int BLOCK_SHIFT = 9;
    static final int BLOCK_MASK = (1 << BLOCK_SHIFT) - 1;
    private static final int CHUNK_LONGS = 2 * PallocBits.WORDS;
    /** In a chunk block: 8 words of "chunk is grown" bits, then 8 of "has free unscavenged pages". */
    static final int GROWN_OFF = (1 << BLOCK_SHIFT) * CHUNK_LONGS;
    static final int CAND_OFF = GROWN_OFF + 8;
    private static final int CHUNK_BLOCK_LONGS = CAND_OFF + 8;

    final long base;
    final long limit;
    final int nChunks;
    final long totalPages;
    final ReentrantLock lock = new ReentrantLock();

    /** Per 512 chunks: bitmaps (alloc words then scavenged words per chunk) and per-chunk flags. */
    final long[][] chunkBlocks;
    /** sums[level][block][index & 511]. */
    final long[][][] sums = new long[LEVELS][][];
    final int[] levelCount = new int[LEVELS];

    long searchPage;
    int minGrown = Integer.MAX_VALUE;
    int maxGrown = -1;
    long grownChunks;
    long inUse;
    long free;
    long released;
    long lastScavenged;
    /**
     * Where background scavenging resumes (a chunk index; Go's {@code searchAddrBg}): every chunk above it was
     * found dense or without free unscavenged pages since the last {@link #resetBackgroundSearch}, so the
     * background scavenger does not search them again; -1 when the whole heap was searched.
     */
    int backgroundCursor = Integer.MAX_VALUE;
    /** Second result of {@link #find}: the search hint it derived. */
    private long foundSearchPage;

    /**
     * Returns {@code [address, address + bytes)} to the OS (an madvise); called by {@link #scavenge} without the
     * lock.
     */
    public interface Releaser {
        void release(long address, long bytes);
    }

    /**
     * Manages {@code [base, limit)}: both multiples of {@link #CHUNK_BYTES}, {@code 0 < base <
     * limit}, at most 2^48 bytes. Nothing is allocatable until {@link #grow}.
     */
    public PageAllocator(long base, long limit) {
        if (base <= 0 || limit <= base || (base & (CHUNK_BYTES - 1)) != 0 || (limit & (CHUNK_BYTES - 1)) != 0) {
            throw new IllegalArgumentException(String.format(
                    "page allocator range [0x%x, 0x%x) must be non-empty, positive and %d-byte aligned",
                    base, limit, CHUNK_BYTES));
        }
        if (limit - base > MAX_RANGE_BYTES) {
            throw new IllegalArgumentException(String.format(
                    "page allocator range [0x%x, 0x%x) is larger than 2^48 bytes", base, limit));
        }
        this.base = base;
        this.limit = limit;
        this.nChunks = (int) ((limit - base) >>> CHUNK_SHIFT);
        this.totalPages = (limit - base) >>> PAGE_SHIFT;
        this.chunkBlocks = new long[blocksFor(nChunks)][];
        for (int l = 0; l < LEVELS; l++) {
            levelCount[l] = ((nChunks - 1) >>> levelShift(l)) + 1;
            sums[l] = new long[blocksFor(levelCount[l])][];
        }
        this.searchPage = totalPages;
    }

    private static int blocksFor(int entries) {
        return ((entries - 1) >>> BLOCK_SHIFT) + 1;
    }

    /** Level-l index of chunk c is c >>> levelShift(l). */
    static int levelShift(int l) {
        return 3 * (LEAF - l);
    }

    public ReentrantLock lock() {
        return lock;
    }

    void checkLocked() {
        if (!lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("the page allocator's lock must be held by the calling thread");
        }
    }

    // ================================================================ accessors

    long sum(int l, int i) {
        long[] b = sums[l][i >>> BLOCK_SHIFT];
        return b == null ? 0 : b[i & BLOCK_MASK];
    }

    private void setSum(int l, int i, long v) {
        sums[l][i >>> BLOCK_SHIFT][i & BLOCK_MASK] = v;
    }

    boolean isGrown(int c) {
        long[] b = chunkBlocks[c >>> BLOCK_SHIFT];
        return b != null && (b[GROWN_OFF + ((c & BLOCK_MASK) >>> 6)] & (1L << c)) != 0;
    }

    static int chunkOff(int c) {
        return (c & BLOCK_MASK) * CHUNK_LONGS;
    }

    long[] blockOf(int c) {
        return chunkBlocks[c >>> BLOCK_SHIFT];
    }

    long pageAddress(long page) {
        return base + (page << PAGE_SHIFT);
    }

    // ================================================================ growth

    /**
     * Makes {@code [address, address+bytes)} allocatable: chunk aligned, inside the range, not
     * grown before (IAE / ISE otherwise, nothing changed). The new pages are free and scavenged.
     */
    public void grow(long address, long bytes) {
        checkLocked();
        if (bytes <= 0 || (bytes & (CHUNK_BYTES - 1)) != 0) {
            throw new IllegalArgumentException(String.format(
                    "grow size must be a positive multiple of %d bytes: %d", CHUNK_BYTES, bytes));
        }
        if ((address & (CHUNK_BYTES - 1)) != 0 || address < base || address >= limit || bytes > limit - address) {
            throw new IllegalArgumentException(String.format(
                    "grow range [0x%x, 0x%x) is not chunk aligned or not inside [0x%x, 0x%x)",
                    address, address + bytes, base, limit));
        }
        int first = (int) ((address - base) >>> CHUNK_SHIFT);
        int last = first + (int) (bytes >>> CHUNK_SHIFT) - 1;
        for (int c = first; c <= last; c++) {
            if (isGrown(c)) {
                throw new IllegalStateException(String.format(
                        "chunk at 0x%x was already grown", base + ((long) c << CHUNK_SHIFT)));
            }
        }
        ensureMetadata(first, last);
        for (int c = first; c <= last; c++) {
            long[] b = blockOf(c);
            int o = chunkOff(c);
            for (int k = 0; k < PallocBits.WORDS; k++) {
                b[o + k] = 0;
                b[o + PallocBits.WORDS + k] = -1L;
            }
            b[GROWN_OFF + ((c & BLOCK_MASK) >>> 6)] |= 1L << c;
            PageScavenging.clearCandidate(b, c);
            setSum(LEAF, c, PallocSum.FREE_CHUNK);
        }
        minGrown = Math.min(minGrown, first);
        maxGrown = Math.max(maxGrown, last);
        long pages = (long) (last - first + 1) * CHUNK_PAGES;
        grownChunks += last - first + 1;
        released += pages;
        long firstPage = (long) first * CHUNK_PAGES;
        if (firstPage < searchPage) {
            searchPage = firstPage;
        }
        propagate(first, last);
    }

    /**
     * Makes the bitmap and summary blocks chunks [first, last] need, before any state changes: if the Java heap
     * runs out part way, the blocks made so far are dropped again (an absent block and a fresh one read alike)
     * and the allocator is as it was.
     */
    private void ensureMetadata(int first, int last) {
        int most = (last >>> BLOCK_SHIFT) - (first >>> BLOCK_SHIFT) + 1;
        for (int l = 0; l < LEVELS; l++) {
            int shift = levelShift(l) + BLOCK_SHIFT;
            most += (last >>> shift) - (first >>> shift) + 1;
        }
        long[][][] madeIn = new long[most][][];     // sized up front: recording a block made cannot fail
        int[] madeAt = new int[most];
        int made = 0;
        try {
            for (int cb = first >>> BLOCK_SHIFT; cb <= last >>> BLOCK_SHIFT; cb++) {
                if (chunkBlocks[cb] == null) {
                    chunkBlocks[cb] = new long[CHUNK_BLOCK_LONGS];
                    madeIn[made] = chunkBlocks;
                    madeAt[made++] = cb;
                }
            }
            for (int l = 0; l < LEVELS; l++) {
                int shift = levelShift(l) + BLOCK_SHIFT;
                for (int sb = first >>> shift; sb <= last >>> shift; sb++) {
                    if (sums[l][sb] == null) {
                        sums[l][sb] = new long[1 << BLOCK_SHIFT];
                        madeIn[made] = sums[l];
                        madeAt[made++] = sb;
                    }
                }
            }
        } catch (OutOfMemoryError e) {
            for (int i = 0; i < made; i++) {
                madeIn[i][madeAt[i]] = null;
            }
            throw e;
        }
    }

    // ================================================================ summaries

    /** Recomputes levels 3..0 above chunks [first, last], stopping at a level where nothing changed. */
    void propagate(int first, int last) {
        for (int l = LEAF - 1; l >= 0; l--) {
            int shift = levelShift(l);
            boolean changed = false;
            for (int i = first >>> shift, hi = last >>> shift; i <= hi; i++) {
                long m = mergeChildren(l, i);
                if (m != sum(l, i)) {
                    setSum(l, i, m);
                    changed = true;
                }
            }
            if (!changed) {
                return;
            }
        }
    }

    /** Summary of level-l entry i recomputed from its 8 children at level l+1. */
    long mergeChildren(int l, int i) {
        int child = i << 3;
        int n = Math.min(8, levelCount[l + 1] - child);
        long[] b = sums[l + 1][child >>> BLOCK_SHIFT];
        if (b == null) {
            return 0;
        }
        return PallocSum.merge(b, child & BLOCK_MASK, n, LEVEL_LOG_PAGES[l + 1]);
    }

    /** Re-summarizes chunk c; true if its leaf summary changed. */
    boolean resummarize(int c) {
        long[] b = blockOf(c);
        PageScavenging.refreshCandidate(b, c);
        long now = PallocBits.summarize(b, chunkOff(c));
        long[] leaves = sums[LEAF][c >>> BLOCK_SHIFT];
        if (leaves[c & BLOCK_MASK] == now) {
            return false;
        }
        leaves[c & BLOCK_MASK] = now;
        return true;
    }

    // ================================================================ allocation

    /**
     * Allocates the lowest-addressed run of {@code npages} free pages in grown memory and returns
     * its address, or 0 if there is none. Clears the run's scavenged bits; how many were set is
     * reported by {@link #lastAllocScavengedPages()}.
     */
    public long alloc(long npages) {
        checkLocked();
        if (npages <= 0 || npages > totalPages) {
            throw new IllegalArgumentException("page count must be in [1, " + totalPages + "]: " + npages);
        }
        if (searchPage >= (long) (maxGrown + 1) * CHUNK_PAGES) {
            return 0; // nothing free at or above the hint: the heap must grow
        }
        long page = -1;
        long hint = -1;
        int si = (int) (searchPage & (CHUNK_PAGES - 1));
        if (CHUNK_PAGES - si >= npages) {
            // Fast path: the run may fit in the rest of the hint's chunk.
            int c = (int) (searchPage >>> 9);
            if (PallocSum.max(sum(LEAF, c)) >= npages) {
                long r = PallocBits.find(blockOf(c), chunkOff(c), (int) npages, si);
                int idx = PallocBits.findIndex(r);
                if (idx < 0) {
                    throw new IllegalStateException(
                            corrupt(LEAF, c, "no run of " + npages + " pages after index " + si));
                }
                long chunkPage = (long) c * CHUNK_PAGES;
                page = chunkPage + idx;
                hint = chunkPage + PallocBits.findFirstFree(r);
            }
        }
        if (page < 0) {
            page = find(npages);
            if (page < 0) {
                if (npages == 1) {
                    searchPage = totalPages; // not a single free page: exhausted until free/grow
                }
                return 0;
            }
            hint = foundSearchPage;
        }
        lastScavenged = allocRange(page, npages);
        if (hint > searchPage) {
            searchPage = hint;
        }
        return pageAddress(page);
    }

    /** Pages of the last successful {@link #alloc} or {@link #allocToCache} that were scavenged. */
    public long lastAllocScavengedPages() {
        checkLocked();
        return lastScavenged;
    }

    /**
     * Radix-tree search for the lowest run of npages free pages at or after searchPage. Returns
     * its page index (-1 if none) and leaves in {@link #foundSearchPage} a valid new search hint:
     * the start of the narrowest region known to hold the first free page.
     */
    long find(long npages) {
        // [ffLo, ffHi]: window certain to contain the first free page; narrowed while the search
        // descends into the first region that has any free page.
        long ffLo = 0;
        long ffHi = Long.MAX_VALUE;
        int i = 0;
        for (int l = 0; l < LEVELS; l++) {
            int logPages = LEVEL_LOG_PAGES[l];
            long regionPages = 1L << logPages;
            int blockEnd;
            int j;
            int hintIdx = (int) Math.min(searchPage >>> logPages, Integer.MAX_VALUE);
            if (l == 0) {
                blockEnd = levelCount[0];
                j = hintIdx;
            } else {
                i <<= 3;
                blockEnd = Math.min(i + 8, levelCount[l]);
                j = (hintIdx >>> 3) == (i >>> 3) ? hintIdx : i;
            }
            long runStart = 0;
            long run = 0;
            boolean descend = false;
            for (; j < blockEnd; j++) {
                long s = sum(l, j);
                if (s == 0) {
                    run = 0;
                    continue;
                }
                long regionStart = (long) j << logPages;
                if (ffLo <= regionStart && regionStart + regionPages - 1 <= ffHi) {
                    ffLo = regionStart;
                    ffHi = regionStart + regionPages - 1;
                }
                int st = PallocSum.start(s);
                if (run + st >= npages) {
                    // A run straddling region boundaries (or starting this region) fits.
                    foundSearchPage = ffLo;
                    return run == 0 ? regionStart : runStart;
                }
                if (PallocSum.max(s) >= npages) {
                    i = j;
                    descend = true;
                    break;
                }
                if (run == 0 || st < regionPages) {
                    int e = PallocSum.end(s);
                    run = e;
                    runStart = regionStart + regionPages - e;
                } else {
                    run += regionPages;
                }
            }
            if (!descend) {
                if (l == 0) {
                    return -1;
                }
                throw new IllegalStateException(corrupt(l - 1, i >>> 3,
                        "it promised " + npages + " free pages that no child has"));
            }
        }
        int c = i;
        long r = PallocBits.find(blockOf(c), chunkOff(c), (int) npages, 0);
        int idx = PallocBits.findIndex(r);
        if (idx < 0) {
            throw new IllegalStateException(corrupt(LEAF, c, "no run of " + npages + " pages in the chunk"));
        }
        long chunkPage = (long) c * CHUNK_PAGES;
        long firstFree = chunkPage + PallocBits.findFirstFree(r);
        if (ffLo <= chunkPage && chunkPage + CHUNK_PAGES - 1 <= ffHi) {
            ffLo = firstFree;
        }
        foundSearchPage = ffLo;
        return chunkPage + idx;
    }

    private String corrupt(int level, int index, String what) {
        return "page allocator summary corrupt at level " + level + " index " + index + " "
                + PallocSum.toString(sum(level, index)) + ": " + what;
    }

    /**
     * Marks [page, page+n) in use (all free, all grown), clears its scavenged bits; returns how many were set.
     */
    long allocRange(long page, long n) {
        long lastPage = page + n - 1;
        int first = (int) (page >>> 9);
        int last = (int) (lastPage >>> 9);
        int si = (int) (page & (CHUNK_PAGES - 1));
        int ei = (int) (lastPage & (CHUNK_PAGES - 1));
        long scav;
        if (first == last) {
            long[] b = blockOf(first);
            int o = chunkOff(first);
            scav = PallocBits.popcountRange(b, o + PallocBits.WORDS, si, (int) n);
            PallocBits.setRange(b, o, si, (int) n);
            if (scav != 0) {
                PallocBits.clearRange(b, o + PallocBits.WORDS, si, (int) n);
            }
            if (resummarize(first)) {
                propagate(first, first);
            }
        } else {
            scav = allocInChunk(first, si, CHUNK_PAGES - si);
            for (int c = first + 1; c < last; c++) {
                long[] b = blockOf(c);
                int o = chunkOff(c);
                scav += PallocBits.popcount(b, o + PallocBits.WORDS);
                for (int k = 0; k < PallocBits.WORDS; k++) {
                    b[o + k] = -1L;
                    b[o + PallocBits.WORDS + k] = 0;
                }
                PageScavenging.clearCandidate(b, c);
                setSum(LEAF, c, 0);
            }
            scav += allocInChunk(last, 0, ei + 1);
            propagate(first, last);
        }
        inUse += n;
        released -= scav;
        free -= n - scav;
        return scav;
    }

    private long allocInChunk(int c, int i, int n) {
        long[] b = blockOf(c);
        int o = chunkOff(c);
        int scav = PallocBits.popcountRange(b, o + PallocBits.WORDS, i, n);
        PallocBits.setRange(b, o, i, n);
        if (scav != 0) {
            PallocBits.clearRange(b, o + PallocBits.WORDS, i, n);
        }
        resummarize(c);
        return scav;
    }

    /** Marks [page, page+n) free (all in use, all grown); scavenged bits are left as they are (all 0). */
    void freeRange(long page, long n) {
        if (page < searchPage) {
            searchPage = page;
        }
        long lastPage = page + n - 1;
        int first = (int) (page >>> 9);
        int last = (int) (lastPage >>> 9);
        int si = (int) (page & (CHUNK_PAGES - 1));
        int ei = (int) (lastPage & (CHUNK_PAGES - 1));
        if (first == last) {
            long[] b = blockOf(first);
            int o = chunkOff(first);
            if (n == 1) {
                b[o + (si >>> 6)] &= ~(1L << si);
            } else {
                PallocBits.clearRange(b, o, si, (int) n);
            }
            if (resummarize(first)) {
                propagate(first, first);
            }
        } else {
            PallocBits.clearRange(blockOf(first), chunkOff(first), si, CHUNK_PAGES - si);
            resummarize(first);
            for (int c = first + 1; c < last; c++) {
                long[] b = blockOf(c);
                int o = chunkOff(c);
                for (int k = 0; k < PallocBits.WORDS; k++) {
                    b[o + k] = 0;
                }
                PageScavenging.refreshCandidate(b, c);
                setSum(LEAF, c, PallocSum.FREE_CHUNK);
            }
            PallocBits.clearRange(blockOf(last), chunkOff(last), 0, ei + 1);
            resummarize(last);
            propagate(first, last);
        }
        inUse -= n;
        free += n;
    }

    /**
     * Frees {@code [address, address + npages*PAGE_SIZE)}. IAE if unaligned, outside grown
     * memory or {@code npages <= 0}; ISE if any page of the range is already free. Either way nothing
     * changes.
     */
    public void free(long address, long npages) {
        checkLocked();
        long page = checkGrownRange(address, npages, "free");
        long lastPage = page + npages - 1;
        for (int c = (int) (page >>> 9), last = (int) (lastPage >>> 9); c <= last; c++) {
            long from = Math.max(page, (long) c * CHUNK_PAGES);
            long to = Math.min(lastPage, (long) c * CHUNK_PAGES + CHUNK_PAGES - 1);
            int i = (int) (from & (CHUNK_PAGES - 1));
            int n = (int) (to - from + 1);
            long[] b = blockOf(c);
            int o = chunkOff(c);
            if (PallocBits.popcountRange(b, o, i, n) != n) {
                long p = (long) c * CHUNK_PAGES + i;
                while (isPageInUse(b, o, (int) (p & (CHUNK_PAGES - 1)))) {
                    p++;
                }
                throw new IllegalStateException(String.format(
                        "free of [0x%x, +%d pages): page 0x%x is already free", address, npages, pageAddress(p)));
            }
        }
        freeRange(page, npages);
    }

    /**
     * Frees {@code [address, address + npages*PAGE_SIZE)} as released memory: free, with every page marked
     * scavenged. For a caller that took pages, released their memory and could not make it usable again (a
     * failed re-commit): the next allocation of them then sees them as released. Same checks as {@link #free}.
     */
    public void freeReleased(long address, long npages) {
        free(address, npages);
        PageScavenging.markReleased(this, (address - base) >>> PAGE_SHIFT, npages);
    }

    private static boolean isPageInUse(long[] b, int o, int i) {
        return (b[o + (i >>> 6)] & (1L << i)) != 0;
    }

    /** Validates a page range lying in grown chunks; returns its first page index. */
    private long checkGrownRange(long address, long npages, String op) {
        if (npages <= 0) {
            throw new IllegalArgumentException(op + ": page count must be positive: " + npages);
        }
        if ((address & (PAGE_SIZE - 1)) != 0 || address < base || address >= limit
                || npages > (limit - address) >>> PAGE_SHIFT) {
            throw new IllegalArgumentException(String.format(
                    "%s: range [0x%x, +%d pages) is not page aligned or not inside [0x%x, 0x%x)",
                    op, address, npages, base, limit));
        }
        long page = (address - base) >>> PAGE_SHIFT;
        long lastPage = page + npages - 1;
        for (int c = (int) (page >>> 9), last = (int) (lastPage >>> 9); c <= last; c++) {
            if (!isGrown(c)) {
                throw new IllegalArgumentException(String.format(
                        "%s: range [0x%x, +%d pages) reaches chunk 0x%x, which was never grown",
                        op, address, npages, base + ((long) c << CHUNK_SHIFT)));
            }
        }
        return page;
    }

    // ================================================================ page cache

    /**
     * Fills the empty {@code cache} with the 64-page aligned block holding the first free page at
     * or after the search hint: every free page of the block becomes in use in the bitmap and
     * owned by the cache, which remembers which of them were scavenged. Returns false (cache left
     * empty) if no page is free. {@link #lastAllocScavengedPages()} becomes the number of
     * scavenged pages taken; the cache reports the same pages again as it hands them out, so
     * account for them on one side only.
     */
    public boolean allocToCache(PageCache cache) {
        return PageCacheFill.fill(this, cache);
    }

    // ================================================================ counters

    /** Pages whose alloc bit is set (including pages held by page caches). */
    public long inUsePages() {
        checkLocked();
        return inUse;
    }

    /** Free pages that are not scavenged. */
    public long freePages() {
        checkLocked();
        return free;
    }

    /** Free pages that are scavenged. */
    public long releasedPages() {
        checkLocked();
        return released;
    }

    /** All grown pages: {@code inUsePages() + freePages() + releasedPages()}. */
    public long grownPages() {
        checkLocked();
        return grownChunks * CHUNK_PAGES;
    }

    // ================================================================ scavenging

    /**
     * Releases free, unscavenged pages to the OS, highest addresses first, until {@code maxBytes}
     * (rounded up to whole pages) are released or none are left; returns the bytes released.
     * Must be called WITHOUT the lock. Each run is found under the lock, marked in use, then
     * {@code releaser.release(address, bytes)} runs unlocked, then under the lock the run is freed
     * with its scavenged bits set. While a run is being released it counts in
     * {@link #inUsePages()}. If the releaser throws, that run is freed unscavenged and the
     * exception propagates (earlier runs stay released). Runs never cross a chunk, and each run is
     * cut to the pages still wanted (its highest part is taken).
     */
    public long scavenge(long maxBytes, Releaser releaser) {
        return PageScavenging.scavenge(this, maxBytes, true, 0, releaser);
    }

    /**
     * {@link #scavenge} as Go's background scavenger does it: chunks with at least 496 of their 512 pages in use
     * (dense, so their free pages are likely reused soon and their huge page is worth keeping) are skipped, and
     * when {@code hugePages} (pages per transparent huge page, e.g. 256 for 2 MiB; 0 or 1 for none) is larger
     * than 1, a run that crosses a huge-page boundary is widened down to the huge page below when it is free
     * and unscavenged too, so whole huge pages go back (the result may then exceed {@code maxBytes}).
     */
    public long scavengeBackground(long maxBytes, int hugePages, Releaser releaser) {
        // (resumes where the last background search stopped: see resetBackgroundSearch)
        if (hugePages < 0) {
            throw new IllegalArgumentException("huge page size in pages must be >= 0: " + hugePages);
        }
        return PageScavenging.scavenge(this, maxBytes, false, hugePages, releaser);
    }

    /**
     * Makes the next {@link #scavengeBackground} search from the top of the heap again (Go's {@code nextGen}):
     * background searches resume below what earlier ones found dense or empty, so pages freed above that point
     * are found only after a reset. The background scavenger resets after every collection and before it looks
     * again after going idle.
     */
    public void resetBackgroundSearch() {
        checkLocked();
        backgroundCursor = Integer.MAX_VALUE;
    }

    /** Free pages not yet released plus pages in use: the heap memory the OS backs now (Go's heapRetained). */
    public long retainedPages() {
        checkLocked();
        return inUse + free;
    }

    // ================================================================ verification

    /**
     * Recomputes every grown chunk's summary and every radix level from the bitmaps and compares
     * them with what is stored; also checks in-use => not scavenged, the scavenge flags, the
     * counters and the search hint. Throws {@link IllegalStateException} naming the first
     * mismatch. Cost: O(chunks in the 2 GiB blocks grown so far). Takes the lock.
     */
    public void verify() {
        lock.lock();
        try {
            PageAllocatorChecks.verifyLocked(this);
        } finally {
            lock.unlock();
        }
    }

    // ================================================================ test support (package-private)

    long base() {
        return base;
    }

    long limit() {
        return limit;
    }

    int chunkCount() {
        return nChunks;
    }

    /** The search hint as an address (may be {@code limit} when exhausted). */
    long searchAddress() {
        return pageAddress(searchPage);
    }

    long summary(int level, int index) {
        return sum(level, index);
    }

    /** Overwrites one stored summary (tests of {@link #verify} only). */
    void pokeSummary(int level, int index, long value) {
        checkLocked();
        setSum(level, index, value);
    }

    /** Copy of chunk c's allocation bitmap (zeros if never grown). */
    long[] allocBits(int c) {
        return copyWords(c, 0);
    }

    /** Copy of chunk c's scavenged bitmap (zeros if never grown). */
    long[] scavengedBits(int c) {
        return copyWords(c, PallocBits.WORDS);
    }

    private long[] copyWords(int c, int shift) {
        long[] out = new long[PallocBits.WORDS];
        long[] b = blockOf(c);
        if (b != null && isGrown(c)) {
            System.arraycopy(b, chunkOff(c) + shift, out, 0, PallocBits.WORDS);
        }
        return out;
    }

    /**
     * Overwrites grown chunk c's bitmaps (scavenged bits of in-use pages are dropped), then fixes
     * summaries, flags and counters. The search hint is reset to the lowest grown chunk.
     */
    void setChunkBits(int c, long[] alloc, long[] scav) {
        checkLocked();
        if (!isGrown(c)) {
            throw new IllegalArgumentException("chunk " + c + " was never grown");
        }
        long[] b = blockOf(c);
        int o = chunkOff(c);
        int oldAlloc = PallocBits.popcount(b, o);
        int oldScav = PallocBits.popcount(b, o + PallocBits.WORDS);
        for (int k = 0; k < PallocBits.WORDS; k++) {
            b[o + k] = alloc[k];
            b[o + PallocBits.WORDS + k] = scav[k] & ~alloc[k];
        }
        int newAlloc = PallocBits.popcount(b, o);
        int newScav = PallocBits.popcount(b, o + PallocBits.WORDS);
        inUse += newAlloc - oldAlloc;
        released += newScav - oldScav;
        free += (CHUNK_PAGES - newAlloc - newScav) - (CHUNK_PAGES - oldAlloc - oldScav);
        resummarize(c);
        propagate(c, c);
        searchPage = (long) minGrown * CHUNK_PAGES;
    }

    /** Grown memory as sorted, merged [start, end) address pairs. */
    List<long[]> grownRanges() {
        checkLocked();
        List<long[]> out = new ArrayList<>();
        long runStart = -1;
        for (int c = Math.max(minGrown, 0); c <= maxGrown + 1; c++) {
            boolean g = c <= maxGrown && isGrown(c);
            if (g && runStart < 0) {
                runStart = c;
            } else if (!g && runStart >= 0) {
                out.add(new long[] {base + (runStart << CHUNK_SHIFT), base + ((long) c << CHUNK_SHIFT)});
                runStart = -1;
            }
        }
        return out;
    }
}
