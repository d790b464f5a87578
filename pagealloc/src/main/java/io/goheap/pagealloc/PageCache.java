package io.goheap.pagealloc;

import java.util.Objects;

/**
 * Go's per-P page cache ({@code pageCache}): a 64-page (512 KiB) aligned window whose free pages were taken from a
 * {@link PageAllocator} in one go, so that small allocations need no lock. Bit i of the window stands for page
 * {@code base() + i * PAGE_SIZE}. The allocator's side of filling and flushing a cache is {@link PageCacheFill}.
 *
 * <p>Invariants: {@code scav} is a subset of {@code cache}; every page whose cache bit is set is marked in use in
 * the {@link PageAllocator} that filled it and belongs to this cache alone.
 *
 * <p>Thread-safety: none. Only the owning P touches a cache; fill and flush run under that {@link PageAllocator}'s
 * lock.
 */
public final class PageCache {
    private long base;
    /** 1 = free page owned by this cache. */
    private long cache;
    /** 1 = that free page is scavenged. */
    private long scav;
    private long lastScavenged;
    /** The allocator that filled this cache (null for a window built directly, in tests). */
    private PageAllocator filledBy;

    public PageCache() {}

    /** A cache holding the given window directly (tests). */
    PageCache(long base, long cache, long scav) {
        fill(base, cache, scav);
    }

    void fill(PageAllocator from, long base, long cache, long scav) {
        this.filledBy = from;
        fill(base, cache, scav);
    }

    void fill(long base, long cache, long scav) {
        this.base = base;
        this.cache = cache;
        this.scav = scav & cache;
    }

    public boolean isEmpty() {
        return cache == 0;
    }

    /** Address of the window, or 0 when the cache is empty. */
    public long base() {
        return cache == 0 ? 0 : base;
    }

    /**
     * Takes the lowest run of {@code npages} (1..64) free pages of the window and returns its
     * address, or 0 if no run fits. Lock-free; owner only.
     */
    public long alloc(long npages) {
        if (npages < 1 || npages > PageAllocator.CACHE_PAGES) {
            throw new IllegalArgumentException("page cache allocations take 1 to 64 pages: " + npages);
        }
        if (cache == 0) {
            return 0;
        }
        int i;
        long m;
        if (npages == 1) {
            i = Long.numberOfTrailingZeros(cache);
            m = 1L << i;
        } else {
            i = PallocBits.findBitRange64(cache, (int) npages);
            if (i >= 64) {
                return 0;
            }
            m = PallocBits.mask(i, (int) npages);
        }
        lastScavenged = Long.bitCount(scav & m);
        cache &= ~m;
        scav &= ~m;
        return base + ((long) i << PageAllocator.PAGE_SHIFT);
    }

    /** Pages of the last successful {@link #alloc} that were scavenged. */
    public long lastAllocScavengedPages() {
        return lastScavenged;
    }

    /**
     * Gives every free page back to {@code pages} (which must be the allocator that filled this
     * cache, with its lock held by the caller), restoring their scavenged bits; the cache is empty
     * afterwards. If {@code pages} rejects the window (ISE), the cache is left unchanged.
     */
    public void flush(PageAllocator pages) {
        Objects.requireNonNull(pages, "pages");
        if (filledBy != null && pages != filledBy && cache != 0) {
            throw new IllegalStateException(String.format(
                    "page cache at 0x%x was filled by another page allocator; flush it into that one", base));
        }
        PageCacheFill.flush(pages, base, cache, scav);
        filledBy = null;
        base = 0;
        cache = 0;
        scav = 0;
    }

    public int freePageCount() {
        return Long.bitCount(cache);
    }

    public int scavengedPageCount() {
        return Long.bitCount(scav);
    }

    long cacheBits() {
        return cache;
    }

    long scavBits() {
        return scav;
    }
}
