package io.goheap.pagealloc;

import io.goheap.ffi.OsMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The heap's one contiguous virtual address range (ARCHITECTURE.md §2): reserved once, aligned to
 * {@link #ARENA_BYTES}, and committed 64 MiB arena by arena, in address order, as the heap grows. One range
 * makes "which arena, which page" plain arithmetic on {@code address - base} and lets the whole heap be one
 * {@link MemorySegment}, whose accesses throw once the space is closed instead of touching unmapped memory.
 *
 * <p>Invariants: {@code base} is a multiple of {@link #ARENA_BYTES}; {@code base <= committedEnd <= limit} and
 * {@code committedEnd - base} is a multiple of {@link #ARENA_BYTES}; {@code [base, committedEnd)} is committed
 * and {@code [committedEnd, limit)} is reserved only; committed arenas are never given back here (returning
 * pages to the OS is the scavenger's business, through {@link #os()}).
 *
 * <p>Thread-safety: {@link #commitArenas} and {@link #close} are synchronized; {@link #committedEnd} is a
 * volatile read; everything else is immutable. The segment belongs to a shared {@link Arena}, so any thread may
 * use it until {@link #close}.
 */
public final class AddressSpace implements AutoCloseable {
    /** Warnings (a failed delayed unmap) go to this logger, which the application routes. */
    private static final System.Logger LOG = System.getLogger(AddressSpace.class.getName());


    /** Go's {@code heapArenaBytes}: the unit of commitment and of the arena index. */
    public static final long ARENA_BYTES = 64L << 20;

    /** Default reservation: 256 GiB of address space (no RSS until committed and touched). */
    public static final long DEFAULT_RESERVATION = 256L << 30;

    /** {@code log2(ARENA_BYTES)}: Go's {@code logHeapArenaBytes}. */
    static final int ARENA_SHIFT = 26;

    private final OsMemory os;
    private final long base;
    private final long limit;
    private final Arena arena;
    private final MemorySegment segment;

    private volatile long committedEnd;
    private boolean closed; // guarded by this

    /**
     * Reserves {@code reservationBytes} of address space aligned to {@link #ARENA_BYTES}; nothing is committed yet.
     *
     * @param os               the OS binding that reserves, commits and finally releases the range; it owns the
     *                         range, so commits and decommits of it must go through this same object ({@link #os()})
     * @param reservationBytes a positive multiple of {@link #ARENA_BYTES}
     * @throws IllegalArgumentException when {@code reservationBytes} is not a positive multiple of 64 MiB
     * @throws io.goheap.ffi.OsMemoryException when the kernel cannot reserve that much address space
     */
    public AddressSpace(OsMemory os, long reservationBytes) {
        this.os = Objects.requireNonNull(os, "os");
        if (reservationBytes < ARENA_BYTES || reservationBytes % ARENA_BYTES != 0) {
            throw new IllegalArgumentException("reservation " + reservationBytes
                    + " is not a positive multiple of the arena size " + ARENA_BYTES);
        }
        long reserved = os.reserveAligned(reservationBytes, ARENA_BYTES);
        Arena shared = Arena.ofShared();
        try {
            this.segment = os.segment(reserved, reservationBytes, shared);
        } catch (RuntimeException | Error e) { // e.g. native access disabled: do not leak the reservation
            shared.close();
            os.release(reserved, reservationBytes);
            throw e;
        }
        this.arena = shared;
        this.base = reserved;
        this.limit = reserved + reservationBytes;
        this.committedEnd = reserved;
    }

    /** The OS binding this space was reserved with. */
    public OsMemory os() {
        return os;
    }

    /** First byte of the reservation, a multiple of {@link #ARENA_BYTES}. */
    public long base() {
        return base;
    }

    /** One past the last byte of the reservation. */
    public long limit() {
        return limit;
    }

    /** One past the last committed byte: {@code [base, committedEnd)} is committed. */
    public long committedEnd() {
        return committedEnd;
    }

    /**
     * Commits {@code ceil(minBytes / ARENA_BYTES)} more arenas at {@link #committedEnd}.
     *
     * @return the start of the newly committed range (the old {@code committedEnd}), or 0 when the reservation has
     *         no room for them, in which case nothing is committed
     * @throws IllegalArgumentException when {@code minBytes <= 0}
     * @throws IllegalStateException    when the space is closed
     */
    public synchronized long commitArenas(long minBytes) {
        if (minBytes <= 0) {
            throw new IllegalArgumentException("minBytes " + minBytes + " is not positive");
        }
        if (closed) {
            throw new IllegalStateException("address space at 0x" + Long.toHexString(base) + " is closed");
        }
        long arenas = (minBytes - 1) / ARENA_BYTES + 1; // ceil without overflow
        long start = committedEnd;
        if (arenas > (limit - start) / ARENA_BYTES) {
            return 0;
        }
        long bytes = arenas * ARENA_BYTES;
        os.commit(start, bytes);
        committedEnd = start + bytes;
        return start;
    }

    /**
     * Gives back the arenas {@link #commitArenas} committed from {@code start} on, after growth failed: {@link
     * #committedEnd} returns to {@code start}, so the next growth commits them again. Their pages were never
     * handed out, so they are left as they are (readable, untouched: no memory).
     *
     * @throws IllegalArgumentException when {@code start} is not an arena boundary in {@code [base, committedEnd]}
     */
    public synchronized void uncommitArenasFrom(long start) {
        if (start < base || start > committedEnd || (start - base) % ARENA_BYTES != 0) {
            throw new IllegalArgumentException("0x" + Long.toHexString(start) + " is not an arena boundary in [0x"
                    + Long.toHexString(base) + ", 0x" + Long.toHexString(committedEnd) + "]");
        }
        committedEnd = start;
    }

    /**
     * The arena number of {@code address}: {@code (address - base) >>> 26}.
     *
     * @throws IllegalArgumentException when {@code address} is outside {@code [base, limit)}
     */
    public int arenaIndex(long address) {
        if (!contains(address)) {
            throw new IllegalArgumentException("address 0x" + Long.toHexString(address)
                    + " is outside the address space [0x" + Long.toHexString(base)
                    + ", 0x" + Long.toHexString(limit) + ")");
        }
        return (int) ((address - base) >>> ARENA_SHIFT);
    }

    /** Whether {@code base <= address < limit}. */
    public boolean contains(long address) {
        return address >= base && address < limit;
    }

    /**
     * The whole reservation as one segment: {@code address() == base}, {@code byteSize() == limit - base}. Only
     * {@code [base, committedEnd)} may be touched; accesses after {@link #close} throw {@link IllegalStateException}.
     */
    public MemorySegment segment() {
        return segment;
    }

    /** Whether {@link #close} has been called. */
    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Closes the segment's arena (so every later access through {@link #segment} throws), gives the committed
     * memory back to the OS at once ({@code MADV_DONTNEED}) and unmaps the whole reservation {@link
     * #UNMAP_GRACE_MILLIS} later. Idempotent.
     *
     * <p>Why not unmap at once: closing a shared arena stops every thread in a handshake and makes any thread it
     * finds inside an access of the segment throw, but the JDK can let such a thread make one more access after
     * the close has returned (JDK-8364167, fixed after JDK 25: the handshake may run at a poll where the
     * exception cannot be raised yet). A heap closed while another thread allocates would then write into an
     * unmapped range and crash the JVM, as goheap's own close-race test once did on JDK 25. During the grace
     * period such a straggler touches mapped, readable and writable memory with nothing behind it; nobody else
     * can be given those addresses until they are unmapped.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        arena.close(); // first: every later access through the segment throws
        closed = true;
        long committed = committedEnd - base;
        long size = limit - base;
        try {
            if (committed > 0) {
                os.decommit(base, committed, OsMemory.DecommitMode.DONTNEED);
            }
        } finally {
            UNMAPPER.schedule(() -> {
                try {
                    os.release(base, size);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "goheap: unmapping a closed heap's range failed", e);
                }
            }, UNMAP_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /** How long a closed reservation stays mapped (see {@link #close}). */
    public static final long UNMAP_GRACE_MILLIS = 1000;

    /** One daemon thread for every heap's delayed unmapping. */
    private static final ScheduledThreadPoolExecutor UNMAPPER = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "goheap-unmapper");
        t.setDaemon(true);
        return t;
    });

    @Override
    public String toString() {
        return "AddressSpace[0x" + Long.toHexString(base) + ", 0x" + Long.toHexString(limit) + "), committed "
                + ((committedEnd - base) >> 20) + " MiB, " + os.name();
    }
}
