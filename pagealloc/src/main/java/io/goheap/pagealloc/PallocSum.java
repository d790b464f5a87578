package io.goheap.pagealloc;

/**
 * Packed free-run summaries of a region of pages, as used by every level of the page allocator's radix tree.
 *
 * <p>A summary describes a region by three counts of free pages: {@code start} (the free run beginning at the
 * region's first page), {@code max} (the longest free run anywhere in it) and {@code end} (the free run finishing
 * at its last page). Each count takes {@value #FIELD_BITS} bits: start in bits [0, 21), max in [21, 42), end in
 * [42, 63). A count of exactly {@code 2^21} pages (a completely free 16 GiB top-level region) does not fit in 21
 * bits; that one case is encoded as bit 63 alone. The value 0 means "no free page" — which is also what every
 * region that was never grown reports.
 *
 * <p>Invariants: a summary is an immutable packed long (start, max, end) with {@code start <= max},
 * {@code end <= max}.
 *
 * <p>Thread-safety: pure static helpers, no state, so no locking.
 */
final class PallocSum {
    static final int FIELD_BITS = 21;
    /** Largest count a summary can carry: pages in one top-level (16 GiB) region. */
    static final int MAX_PACKED = 1 << FIELD_BITS;
    private static final long FIELD_MASK = MAX_PACKED - 1;
    /** Encoding of start = max = end = MAX_PACKED. */
    static final long ALL_FREE_TOP = 1L << 63;
    /** Summary of a chunk whose 512 pages are all free. */
    static final long FREE_CHUNK = pack(PageAllocator.CHUNK_PAGES, PageAllocator.CHUNK_PAGES,
            PageAllocator.CHUNK_PAGES);

    private PallocSum() {}

    static long pack(int start, int max, int end) {
        if (max == MAX_PACKED) {
            // The only way to have a run that long is a completely free top-level region.
            return ALL_FREE_TOP;
        }
        return (start & FIELD_MASK) | (max & FIELD_MASK) << FIELD_BITS | (end & FIELD_MASK) << (2 * FIELD_BITS);
    }

    static int start(long sum) {
        return sum < 0 ? MAX_PACKED : (int) (sum & FIELD_MASK);
    }

    static int max(long sum) {
        return sum < 0 ? MAX_PACKED : (int) ((sum >>> FIELD_BITS) & FIELD_MASK);
    }

    static int end(long sum) {
        return sum < 0 ? MAX_PACKED : (int) ((sum >>> (2 * FIELD_BITS)) & FIELD_MASK);
    }

    /**
     * Combines {@code n} (at most 8) consecutive child summaries, each describing
     * {@code 1 << logChildPages} pages, starting at {@code children[off]}; children missing at the
     * end of a level (index past {@code n}) count as fully allocated.
     */
    static long merge(long[] children, int off, int n, int logChildPages) {
        int childPages = 1 << logChildPages;
        int start = 0;
        int max = 0;
        int end = 0;
        boolean prefixFree = true;
        for (int k = 0; k < 8; k++) {
            long s = k < n ? children[off + k] : 0;
            if (s == 0) {
                // Nothing free here: the prefix and any pending run stop.
                prefixFree = false;
                end = 0;
                continue;
            }
            int cs = start(s);
            int cm = max(s);
            if (prefixFree) {
                start += cs;
                prefixFree = cs == childPages;
            }
            int across = end + cs;
            if (across > max) {
                max = across;
            }
            if (cm > max) {
                max = cm;
            }
            end = cs == childPages ? end + childPages : end(s);
        }
        return pack(start, max, end);
    }

    static String toString(long sum) {
        return "(" + start(sum) + ", " + max(sum) + ", " + end(sum) + ")";
    }
}
