package io.goheap.pagealloc;

/**
 * Bit-level algorithms over one chunk's 512-bit bitmaps (the allocation bitmap, where 1 means in use, and the
 * scavenged bitmap, where 1 means returned to the OS). Every method takes the array and the offset of the chunk's
 * first word, so bitmaps can live inside larger flat arrays.
 *
 * <p>Results that carry two numbers are packed into one long: see {@link #findIndex(long)},
 * {@link #findFirstFree(long)}, {@link #candidateStart(long)} and {@link #candidateSize(long)}.
 *
 * <p>Invariants: a chunk bitmap is 8 consecutive longs (bit i of word w = page 64*w+i; 1 = in use, or
 * 1 = scavenged).
 *
 * <p>Thread-safety: pure static helpers over caller-owned arrays, so the caller's lock ({@link PageAllocator}'s
 * heap lock) guards every array passed in.
 */
final class PallocBits {
    static final int WORDS = PageAllocator.CHUNK_PAGES / 64;
    static final int BITS = PageAllocator.CHUNK_PAGES;

    private PallocBits() {}

    // ---------------------------------------------------------------- single words

    /** Mask of {@code n} (1..64) one bits starting at bit {@code from} (from + n <= 64). */
    static long mask(int from, int n) {
        return n == 64 ? -1L : ((1L << n) - 1) << from;
    }

    /**
     * Lowest index i such that bits i..i+n-1 of {@code c} are all 1, or a value >= 64 when there
     * is no such run. n = 0 yields 0.
     */
    static int findBitRange64(long c, int n) {
        if (n <= 0) {
            return 0;
        }
        // After the loop, bit i of c says "bits i .. i+have-1 of the input are all ones".
        // Zeros shift in at the top, so runs never wrap around.
        int have = 1;
        while (have < n && c != 0) {
            int s = Math.min(have, n - have);
            c &= c >>> s;
            have += s;
        }
        return Long.numberOfTrailingZeros(c);
    }

    /**
     * Length of the longest run of ones in {@code y} if it is at least {@code need} (>= 1), else 0.
     * Costs O(log need) plus one step per page by which the run exceeds {@code need}.
     */
    static int longestRunAtLeast(long y, int need) {
        long r = y;
        int have = 1;
        while (have < need) {
            if (r == 0) {
                return 0;
            }
            int s = Math.min(have, need - have);
            r &= r >>> s;
            have += s;
        }
        if (r == 0) {
            return 0;
        }
        for (;;) {
            long longer = r & (r >>> 1);
            if (longer == 0) {
                return have;
            }
            r = longer;
            have++;
        }
    }

    /**
     * Every m-aligned group of m bits (m in 1, 2, 4, ..., 64) of x becomes all ones if any of its
     * bits is set, else stays zero.
     */
    static long fillAligned(long x, int m) {
        switch (m) {
            case 1:
                return x;
            case 64:
                return x == 0 ? 0 : -1L;
            case 2: case 4: case 8: case 16: case 32:
                break;
            default:
                throw new IllegalArgumentException("fillAligned: group size must be a power of two in [1, 64]: " + m);
        }
        // Fold each group onto its lowest bit, keep only those lowest bits, then multiply by a
        // group of m ones: each surviving bit becomes its whole group, and groups never overlap,
        // so the product has no carries.
        long y = x;
        for (int s = 1; s < m; s <<= 1) {
            y |= y >>> s;
        }
        long lows = y & groupLows(m);
        return lows * ((1L << m) - 1);
    }

    private static long groupLows(int m) {
        switch (m) {
            case 2: return 0x5555_5555_5555_5555L;
            case 4: return 0x1111_1111_1111_1111L;
            case 8: return 0x0101_0101_0101_0101L;
            case 16: return 0x0001_0001_0001_0001L;
            default: return 0x0000_0001_0000_0001L; // 32
        }
    }

    // ---------------------------------------------------------------- ranges

    /** Sets bits [i, i+n) (n >= 1, i + n <= 512). */
    static void setRange(long[] a, int off, int i, int n) {
        int w = i >>> 6;
        int last = (i + n - 1) >>> 6;
        if (w == last) {
            a[off + w] |= mask(i & 63, n);
            return;
        }
        a[off + w] |= -1L << (i & 63);
        for (int k = w + 1; k < last; k++) {
            a[off + k] = -1L;
        }
        a[off + last] |= -1L >>> (63 - ((i + n - 1) & 63));
    }

    /** Clears bits [i, i+n) (n >= 1, i + n <= 512). */
    static void clearRange(long[] a, int off, int i, int n) {
        int w = i >>> 6;
        int last = (i + n - 1) >>> 6;
        if (w == last) {
            a[off + w] &= ~mask(i & 63, n);
            return;
        }
        a[off + w] &= ~(-1L << (i & 63));
        for (int k = w + 1; k < last; k++) {
            a[off + k] = 0;
        }
        a[off + last] &= ~(-1L >>> (63 - ((i + n - 1) & 63)));
    }

    /** Number of set bits in [i, i+n) (n >= 0, i + n <= 512). */
    static int popcountRange(long[] a, int off, int i, int n) {
        if (n == 0) {
            return 0;
        }
        int w = i >>> 6;
        int last = (i + n - 1) >>> 6;
        if (w == last) {
            return Long.bitCount(a[off + w] & mask(i & 63, n));
        }
        int c = Long.bitCount(a[off + w] & (-1L << (i & 63)));
        for (int k = w + 1; k < last; k++) {
            c += Long.bitCount(a[off + k]);
        }
        return c + Long.bitCount(a[off + last] & (-1L >>> (63 - ((i + n - 1) & 63))));
    }

    /** Number of set bits in the whole chunk bitmap. */
    static int popcount(long[] a, int off) {
        int c = 0;
        for (int k = 0; k < WORDS; k++) {
            c += Long.bitCount(a[off + k]);
        }
        return c;
    }

    // ---------------------------------------------------------------- summaries

    /** Summary (see {@link PallocSum}) of the free (zero) runs of an allocation bitmap. */
    static long summarize(long[] a, int off) {
        int start = 0;
        for (int k = 0; k < WORDS; k++) {
            long x = a[off + k];
            if (x != 0) {
                start += Long.numberOfTrailingZeros(x);
                break;
            }
            start += 64;
        }
        if (start == BITS) {
            return PallocSum.FREE_CHUNK;
        }
        int end = 0;
        for (int k = WORDS - 1; k >= 0; k--) {
            long x = a[off + k];
            if (x != 0) {
                end += Long.numberOfLeadingZeros(x);
                break;
            }
            end += 64;
        }
        // Runs that touch a word boundary: carry the free bits at the top of each word into the
        // next one.
        int max = Math.max(start, end);
        int run = 0;
        for (int k = 0; k < WORDS; k++) {
            long x = a[off + k];
            if (x == 0) {
                run += 64;
                continue;
            }
            run += Long.numberOfTrailingZeros(x);
            if (run > max) {
                max = run;
            }
            run = Long.numberOfLeadingZeros(x);
        }
        // Runs strictly inside a word lie between its lowest and highest set bit, so they are at
        // most 62 long; only look for ones that would beat max.
        if (max < 62) {
            for (int k = 0; k < WORDS; k++) {
                long x = a[off + k];
                if (x == 0) {
                    continue;
                }
                int lo = Long.numberOfTrailingZeros(x);
                int hi = 63 - Long.numberOfLeadingZeros(x);
                if (hi - lo - 1 <= max) {
                    continue;
                }
                long inner = ~x & (-1L << lo) & ((1L << hi) - 1);
                int len = longestRunAtLeast(inner, max + 1);
                if (len > max) {
                    max = len;
                }
            }
        }
        return PallocSum.pack(start, max, end);
    }

    // ---------------------------------------------------------------- searching

    /** Packed "not found" answer of {@link #find}: index -1, first free page 512 (none). */
    static final long NOT_FOUND = packFind(-1, BITS);

    static long packFind(int index, int firstFree) {
        return ((long) firstFree << 32) | (index & 0xFFFF_FFFFL);
    }

    /** Index of the run {@link #find} found, or -1. */
    static int findIndex(long r) {
        return (int) r;
    }

    /** First free page at or after the search index that {@link #find} saw (512 if none). */
    static int findFirstFree(long r) {
        return (int) (r >>> 32);
    }

    /**
     * Lowest index >= searchIdx of a run of {@code npages} (1..512) free pages in an allocation
     * bitmap, packed with the first free page at or after searchIdx (for the allocator's search
     * hint). Pages below searchIdx are treated as in use.
     */
    static long find(long[] a, int off, int npages, int searchIdx) {
        if (npages == 1) {
            return find1(a, off, searchIdx);
        }
        if (npages <= 64) {
            return findSmall(a, off, npages, searchIdx);
        }
        return findLarge(a, off, npages, searchIdx);
    }

    private static long find1(long[] a, int off, int searchIdx) {
        int w = searchIdx >>> 6;
        long x = a[off + w] | ((1L << (searchIdx & 63)) - 1);
        for (;;) {
            if (x != -1L) {
                int idx = (w << 6) + Long.numberOfTrailingZeros(~x);
                return packFind(idx, idx);
            }
            if (++w == WORDS) {
                return NOT_FOUND;
            }
            x = a[off + w];
        }
    }

    /** Runs of 2..64 pages: either across one word boundary or inside one word. */
    private static long findSmall(long[] a, int off, int npages, int searchIdx) {
        int carried = 0; // free pages at the top of the previous word
        int firstFree = -1;
        for (int w = searchIdx >>> 6; w < WORDS; w++) {
            long x = a[off + w];
            if (w == searchIdx >>> 6) {
                x |= (1L << (searchIdx & 63)) - 1;
            }
            if (x == -1L) {
                carried = 0;
                continue;
            }
            if (firstFree < 0) {
                firstFree = (w << 6) + Long.numberOfTrailingZeros(~x);
            }
            int low = Long.numberOfTrailingZeros(x);
            if (carried + low >= npages) {
                return packFind((w << 6) - carried, firstFree);
            }
            int inside = findBitRange64(~x, npages);
            if (inside < 64) {
                return packFind((w << 6) + inside, firstFree);
            }
            carried = Long.numberOfLeadingZeros(x);
        }
        return packFind(-1, firstFree < 0 ? BITS : firstFree);
    }

    /** Runs of more than 64 pages: they span at least one word boundary. */
    private static long findLarge(long[] a, int off, int npages, int searchIdx) {
        int runStart = -1;
        int size = 0;
        int firstFree = -1;
        for (int w = searchIdx >>> 6; w < WORDS; w++) {
            long x = a[off + w];
            if (w == searchIdx >>> 6) {
                x |= (1L << (searchIdx & 63)) - 1;
            }
            if (x == -1L) {
                size = 0;
                continue;
            }
            if (firstFree < 0) {
                firstFree = (w << 6) + Long.numberOfTrailingZeros(~x);
            }
            if (size > 0) {
                int low = Long.numberOfTrailingZeros(x);
                if (size + low >= npages) {
                    return packFind(runStart, firstFree);
                }
                if (low == 64) {
                    size += 64;
                    continue;
                }
            }
            // Start a new candidate with the free pages at the top of this word.
            size = Long.numberOfLeadingZeros(x);
            runStart = (w << 6) + 64 - size;
        }
        return packFind(size >= npages ? runStart : -1, firstFree < 0 ? BITS : firstFree);
    }

    // ---------------------------------------------------------------- scavenging

    static long packCandidate(int start, int size) {
        return ((long) start << 32) | (size & 0xFFFF_FFFFL);
    }

    static int candidateStart(long c) {
        return (int) (c >>> 32);
    }

    static int candidateSize(long c) {
        return (int) c;
    }

    /**
     * Highest run of free and unscavenged pages at or below {@code searchIdx}, searching
     * backwards, packed as (start, size); size 0 when there is none.
     *
     * <p>{@code min} (a power of two, 1..64) is the OS page size in runtime pages: runs are
     * built from whole min-aligned groups, any partly used group counting as used. The run is cut
     * to its top {@code alignUp(max, min)} pages ({@code max = 0} means {@code min}). If
     * {@code hugePages} (pages per huge page, 0 or 1 = none) is larger than 1 and the cut run
     * crosses a huge-page boundary while the full run reaches down to the huge page below its
     * start, the start is lowered to that boundary so the huge page is released whole.
     */
    static long findScavengeCandidate(long[] alloc, int allocOff, long[] scav, int scavOff,
                                      int searchIdx, int min, int max, int hugePages) {
        if (min < 1 || min > 64 || (min & (min - 1)) != 0) {
            throw new IllegalArgumentException("scavenge minimum must be a power of two in [1, 64]: " + min);
        }
        if (max < 0) {
            throw new IllegalArgumentException("scavenge maximum must be >= 0: " + max);
        }
        int limit = max == 0 ? min : (int) Math.min(BITS, ((long) max + min - 1) & -min);
        // Bits above searchIdx are out of bounds: treat them as used.
        int w = searchIdx >>> 6;
        long highMask = (searchIdx & 63) == 63 ? 0 : -1L << ((searchIdx & 63) + 1);
        long x = 0;
        for (; w >= 0; w--) {
            x = fillAligned(alloc[allocOff + w] | scav[scavOff + w] | highMask, min);
            highMask = 0;
            if (x != -1L) {
                break;
            }
        }
        if (w < 0) {
            return packCandidate(0, 0);
        }
        // The run ends at the top of the highest zero bit of x.
        int usedAbove = Long.numberOfLeadingZeros(~x);
        int end = (w << 6) + 64 - usedAbove;
        long rest = x << usedAbove; // the run's zeros now sit at the top
        int run;
        if (rest != 0) {
            run = Long.numberOfLeadingZeros(rest);
        } else {
            run = 64 - usedAbove;
            for (int k = w - 1; k >= 0; k--) {
                long y = fillAligned(alloc[allocOff + k] | scav[scavOff + k], min);
                run += Long.numberOfLeadingZeros(y);
                if (y != 0) {
                    break;
                }
            }
        }
        int size = Math.min(run, limit);
        int start = end - size;
        if (hugePages > 1) {
            int hugeAbove = (start + hugePages - 1) / hugePages * hugePages;
            if (hugeAbove <= end) {
                int hugeBelow = start / hugePages * hugePages;
                if (hugeBelow >= end - run) {
                    size += start - hugeBelow;
                    start = hugeBelow;
                }
            }
        }
        return packCandidate(start, size);
    }
}
