package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocator.CACHE_PAGES;
import static io.goheap.pagealloc.PageAllocator.CHUNK_PAGES;
import static io.goheap.pagealloc.PageAllocator.LEAF;
import static io.goheap.pagealloc.PageAllocator.PAGE_SHIFT;
import static io.goheap.pagealloc.PageAllocator.PAGE_SIZE;
import static io.goheap.pagealloc.PageAllocator.chunkOff;

import java.util.Objects;

/**
 * The {@link PageAllocator}'s side of the per-P page cache (Go's mpagecache.go): filling an empty
 * {@link PageCache} with the free pages of one 64-page aligned block, and taking a cache's free pages back on
 * flush. The cache's own side (handing pages out without a lock) is {@link PageCache}. Static helpers over one
 * allocator's state; this class holds none of its own.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>A filled block is one 64-bit word of one chunk's bitmaps. Filling sets the whole word in use and clears
 *       its scavenged bits; the pages that were free go to the cache, with the scavenged ones among them
 *       remembered there. So a page a cache holds is in use in the allocator and belongs to that cache alone.</li>
 *   <li>Flushing frees exactly the cache's pages (all of which must be in use here) and sets the scavenged bits
 *       of those the cache still reports as scavenged.</li>
 *   <li>The allocator's counters, summaries, scavenge flag and search hint are updated as for any allocation or
 *       free: after filling, every page of the block and every page below the first free page is in use, so the
 *       hint moves to the block's last page; a flush moves it down to the block if it was above.</li>
 * </ul>
 *
 * <h2>Locking</h2>
 * Both methods must run under the allocator's {@link PageAllocator#lock() lock} (checked). The cache itself is
 * touched only by its owning P, which is the thread calling here.
 */
final class PageCacheFill {
    private PageCacheFill() {}

    /** The body of {@link PageAllocator#allocToCache}; see there. */
    static boolean fill(PageAllocator pa, PageCache cache) {
        pa.checkLocked();
        Objects.requireNonNull(cache, "cache");
        if (!cache.isEmpty()) {
            throw new IllegalStateException(String.format(
                    "allocToCache needs an empty page cache; this one holds 0x%x", cache.base()));
        }
        if (pa.searchPage >= (long) (pa.maxGrown + 1) * CHUNK_PAGES) {
            return false;
        }
        long page = -1;
        int c = (int) (pa.searchPage >>> 9);
        if (pa.sum(LEAF, c) != 0) {
            long r = PallocBits.find(pa.blockOf(c), chunkOff(c), 1, (int) (pa.searchPage & (CHUNK_PAGES - 1)));
            int idx = PallocBits.findIndex(r);
            if (idx >= 0) {
                page = (long) c * CHUNK_PAGES + idx;
            }
        }
        if (page < 0) {
            page = pa.find(1);
            if (page < 0) {
                pa.searchPage = pa.totalPages;
                return false;
            }
            c = (int) (page >>> 9);
        }
        long blockPage = page & -CACHE_PAGES;
        long[] b = pa.blockOf(c);
        int o = chunkOff(c);
        int w = (int) ((blockPage & (CHUNK_PAGES - 1)) >>> 6);
        long freeBits = ~b[o + w];
        long scavBits = b[o + PallocBits.WORDS + w] & freeBits;
        b[o + w] = -1L;
        b[o + PallocBits.WORDS + w] &= ~freeBits;
        if (pa.resummarize(c)) {
            pa.propagate(c, c);
        }
        long n = Long.bitCount(freeBits);
        long s = Long.bitCount(scavBits);
        pa.inUse += n;
        pa.released -= s;
        pa.free -= n - s;
        pa.lastScavenged = s;
        // Every page of the block is now in use, and all below the first free page were already.
        pa.searchPage = blockPage + CACHE_PAGES - 1;
        cache.fill(pa, pa.pageAddress(blockPage), freeBits, scavBits);
        return true;
    }

    /**
     * Returns a page cache's free pages (and their scavenged bits) to {@code pa}; called by {@link PageCache#flush}.
     */
    static void flush(PageAllocator pa, long cacheBase, long cacheBits, long scavBits) {
        pa.checkLocked();
        if (cacheBits == 0) {
            return;
        }
        if ((cacheBase & (CACHE_PAGES * PAGE_SIZE - 1)) != 0 || cacheBase < pa.base || cacheBase >= pa.limit) {
            throw new IllegalStateException(String.format(
                    "page cache at 0x%x does not belong to this page allocator", cacheBase));
        }
        long page = (cacheBase - pa.base) >>> PAGE_SHIFT;
        int c = (int) (page >>> 9);
        if (!pa.isGrown(c)) {
            throw new IllegalStateException(String.format(
                    "page cache at 0x%x lies in memory this page allocator never grew", cacheBase));
        }
        long[] b = pa.blockOf(c);
        int o = chunkOff(c);
        int w = (int) ((page & (CHUNK_PAGES - 1)) >>> 6);
        if ((b[o + w] & cacheBits) != cacheBits) {
            throw new IllegalStateException(String.format(
                    "page cache at 0x%x holds pages that are free in the page allocator: 0x%x",
                    cacheBase, cacheBits & ~b[o + w]));
        }
        long scav = scavBits & cacheBits;
        b[o + w] &= ~cacheBits;
        b[o + PallocBits.WORDS + w] |= scav;
        if (pa.resummarize(c)) {
            pa.propagate(c, c);
        }
        long n = Long.bitCount(cacheBits);
        long s = Long.bitCount(scav);
        pa.inUse -= n;
        pa.released += s;
        pa.free += n - s;
        if (page < pa.searchPage) {
            pa.searchPage = page;
        }
    }
}
