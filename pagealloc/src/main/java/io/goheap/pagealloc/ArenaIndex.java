package io.goheap.pagealloc;

import java.util.Arrays;
import java.util.Objects;

/**
 * Page → value map over an {@link AddressSpace}, Go's {@code heapArena.spans}: for every 8 KiB runtime page of an
 * in-use span it holds that span, so {@code spanOf(p)} is two array loads. One {@code Object[8192]} per 64 MiB
 * arena, created the first time part of that arena is set; an arena whose pages all map to one value (the
 * middle of a huge object) has no page array but that value in {@code wholeArenas}.
 *
 * <p>Why whole arenas: with a page array per arena, one 8 TiB object cost 4 GiB of Java heap (a
 * reference per 8 KiB page) and ran the JVM out of memory. Now an object's index entries cost at most two page
 * arrays (its first and last arena) plus one reference per 64 MiB.
 *
 * <p>Invariants: only pages of committed arenas ({@code [base, committedEnd)} when set) ever hold a value; for
 * each arena at most one of {@code arenas[a]} and {@code wholeArenas[a]} is non-null; an arena's page array
 * exists from the first set of part of it until a set or {@link #clear} covers the whole arena, so {@link
 * #metadataBytes} follows the arenas in use. A set or clear that covers part of a whole arena first copies its
 * value into a new page array; the heap never does that (it sets and clears each span's range whole), so a
 * racing {@link #get} only ever sees a page array whose entries it could see before, or the whole value.
 *
 * <p>Thread-safety: {@link #set}, {@link #clear} and {@link #prepare} must be called under the caller's heap lock
 * (one writer at a time). {@link #setPrepared} is the one lock-free writer (a P's page cache, Go's {@code
 * setSpans} without the heap lock): it writes only entries of a page array {@link #prepare} made under the lock,
 * for pages no one else may set (the caller owns them), and that array cannot be dropped meanwhile because only
 * a set or clear covering the whole arena drops it, which the heap never does while another span or a page cache
 * holds part of the arena. Distinct array elements never interfere. {@link #get} is lock-free and uses plain reads: it never throws and sees either null or a value some
 * writer stored; like Go's {@code spanOf}, its answer is only trustworthy for a page the caller knows to be in
 * use (the caller's own synchronisation orders the write it depends on). A racing reader cannot see a
 * half-built arena array: a new array's null elements and its length are visible to every thread (JLS 17.4.4).
 */
public final class ArenaIndex<T> {

    /** Go's {@code _PageShift}: runtime pages are 8 KiB (not the OS page). */
    public static final int PAGE_SHIFT = 13;

    /** Runtime page size in bytes. */
    public static final long PAGE_BYTES = 1L << PAGE_SHIFT;

    /** Go's {@code pagesPerArena}: 64 MiB / 8 KiB = 8192. */
    public static final int PAGES_PER_ARENA = (int) (AddressSpace.ARENA_BYTES >>> PAGE_SHIFT);

    /** Approximate Java-heap size of an object array: 16-byte header plus 4-byte (compressed) references. */
    private static final long ARRAY_HEADER_BYTES = 16;
    private static final long REFERENCE_BYTES = 4;

    private final AddressSpace space;
    private final long base;
    private final long size;
    private final Object[][] arenas;
    private final Object[] wholeArenas;
    private volatile long metadataBytes; // written under the heap lock, read by MemStats from any thread

    /** An empty index covering all of {@code space}'s reservation. */
    public ArenaIndex(AddressSpace space) {
        this.space = Objects.requireNonNull(space, "space");
        this.base = space.base();
        this.size = space.limit() - base;
        this.arenas = new Object[Math.toIntExact(size >>> AddressSpace.ARENA_SHIFT)][];
        this.wholeArenas = new Object[arenas.length];
        this.metadataBytes = 2 * arrayBytes(arenas.length);
    }

    /**
     * The value of the page holding {@code address}, or null when the address is outside the reservation, in an
     * arena never set, or on an unset page. Never throws.
     */
    @SuppressWarnings("unchecked")
    public T get(long address) {
        long offset = address - base;
        if (Long.compareUnsigned(offset, size) >= 0) { // also catches address < base (offset wraps to >= 2^63)
            return null;
        }
        int arena = (int) (offset >>> AddressSpace.ARENA_SHIFT);
        Object[] pages = arenas[arena];
        if (pages == null) {
            return (T) wholeArenas[arena];
        }
        return (T) pages[(int) (offset >>> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)];
    }

    /**
     * Maps each of the {@code npages} runtime pages from {@code address} to {@code value}. Caller holds the heap lock.
     *
     * @throws IllegalArgumentException when {@code address} is not 8 KiB aligned, {@code npages <= 0}, or the range
     *                                  is not inside {@code [base, committedEnd)}
     * @throws NullPointerException     when {@code value} is null (use {@link #clear})
     */
    public void set(long address, long npages, T value) {
        Objects.requireNonNull(value, "value (use clear to unset pages)");
        requireCommittedRange(address, npages);
        fill(address, npages, value);
    }

    /**
     * Unsets each of the {@code npages} runtime pages from {@code address}. Caller holds the heap lock.
     *
     * @throws IllegalArgumentException when {@code address} is not 8 KiB aligned, {@code npages <= 0}, or the range
     *                                  is not inside {@code [base, committedEnd)}
     */
    public void clear(long address, long npages) {
        requireCommittedRange(address, npages);
        fill(address, npages, null);
    }

    /**
     * Makes sure the pages {@code [address, address + npages pages)} have a page array, so that {@link
     * #setPrepared} can write them without the lock. The range must lie in one arena. Caller holds the heap lock.
     */
    public void prepare(long address, long npages) {
        requireCommittedRange(address, npages);
        int arena = requireOneArena(address, npages);
        if (arenas[arena] == null) {
            Object[] pages = new Object[PAGES_PER_ARENA];
            Object whole = wholeArenas[arena];
            if (whole != null) {
                Arrays.fill(pages, whole);
            }
            arenas[arena] = pages;
            wholeArenas[arena] = null;
            metadataBytes += arrayBytes(PAGES_PER_ARENA);
        }
    }

    /**
     * Lock-free {@link #set} of pages the caller owns exclusively, whose page array {@link #prepare} made (see the
     * class comment). The range must lie in one arena.
     *
     * @throws IllegalStateException when the pages were not prepared
     */
    public void setPrepared(long address, long npages, T value) {
        Objects.requireNonNull(value, "value (use clear to unset pages)");
        requireCommittedRange(address, npages);
        int arena = requireOneArena(address, npages);
        Object[] pages = arenas[arena];
        if (pages == null) {
            throw new IllegalStateException("pages [0x" + Long.toHexString(address) + ", +" + npages
                    + " pages) were not prepared for a lock-free set");
        }
        int from = (int) ((address - base) >>> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
        Arrays.fill(pages, from, from + (int) npages, value);
    }

    private int requireOneArena(long address, long npages) {
        long first = (address - base) >>> AddressSpace.ARENA_SHIFT;
        long last = (address - base + (npages << PAGE_SHIFT) - 1) >>> AddressSpace.ARENA_SHIFT;
        if (first != last) {
            throw new IllegalArgumentException("pages [0x" + Long.toHexString(address) + ", +" + npages
                    + " pages) cross an arena boundary");
        }
        return (int) first;
    }

    /** Approximate Java-heap bytes of this index's arrays (the top-level table and every arena array made). */
    public long metadataBytes() {
        return metadataBytes;
    }

    private void fill(long address, long npages, Object value) {
        long page = (address - base) >>> PAGE_SHIFT;
        long end = page + npages;
        while (page < end) {
            int arena = (int) (page / PAGES_PER_ARENA);
            int from = (int) (page % PAGES_PER_ARENA);
            int to = (int) Math.min(PAGES_PER_ARENA, from + (end - page));
            page += to - from;
            Object[] pages = arenas[arena];
            if (from == 0 && to == PAGES_PER_ARENA) {   // the whole arena: one value, no page array
                wholeArenas[arena] = value;               // before dropping the array: a racing get sees either
                if (pages != null) {
                    arenas[arena] = null;
                    metadataBytes -= arrayBytes(PAGES_PER_ARENA);
                }
                continue;
            }
            if (pages == null) {
                Object whole = wholeArenas[arena];
                if (value == null && whole == null) {
                    continue;                             // nothing was set in this arena: nothing to clear
                }
                pages = new Object[PAGES_PER_ARENA];
                if (whole != null) {
                    Arrays.fill(pages, whole);
                }
                arenas[arena] = pages;
                wholeArenas[arena] = null;
                metadataBytes += arrayBytes(PAGES_PER_ARENA);
            }
            Arrays.fill(pages, from, to, value);
        }
    }

    private void requireCommittedRange(long address, long npages) {
        if ((address & (PAGE_BYTES - 1)) != 0) {
            throw new IllegalArgumentException(
                    "address 0x" + Long.toHexString(address) + " is not a multiple of the page size " + PAGE_BYTES);
        }
        if (npages <= 0) {
            throw new IllegalArgumentException("npages " + npages + " is not positive");
        }
        long committedEnd = space.committedEnd();
        if (address < base || address >= committedEnd
                || npages > (committedEnd - address) >>> PAGE_SHIFT) {
            throw new IllegalArgumentException("pages [0x" + Long.toHexString(address) + ", +" + npages
                    + " pages) are not inside the committed range [0x" + Long.toHexString(base) + ", 0x"
                    + Long.toHexString(committedEnd) + ")");
        }
    }

    private static long arrayBytes(long length) {
        return ARRAY_HEADER_BYTES + length * REFERENCE_BYTES;
    }
}
