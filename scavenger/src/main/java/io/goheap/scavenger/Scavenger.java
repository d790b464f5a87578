package io.goheap.scavenger;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.PageAllocator;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Returns free pages of a page allocator to the OS (Go's scavenger, {@code mgcscavenge.go}): the releasing every
 * policy shares. Free, not yet released runs go back highest addresses first, one {@code madvise} (or
 * {@code mprotect}) per run. Two kinds of release:
 * <ul>
 *   <li><b>eager</b> ({@link #release}, {@link #releaseAll}): forced, ignores how dense a chunk is — what
 *       {@code FreeOSMemory} and allocation above the memory limit do;</li>
 *   <li><b>background</b> ({@link #releaseBackground}): Go's background policy — dense chunks (≥ 496 of 512
 *       pages in use) are left alone and whole transparent huge pages go back together; called by the
 *       {@link BackgroundScavenger}.</li>
 * </ul>
 * Both count what they released, separately, for {@code scavtrace} and the metrics.
 *
 * <h2>The heap's close protocol</h2>
 * Every run is released holding {@code osCalls}' read lock, after checking that the heap is not closed; the heap's
 * close takes the write lock before it unmaps the range. So no {@code madvise} ever reaches a range that was
 * unmapped (and perhaps mapped again by someone else). A release that finds the heap closed throws
 * {@link IllegalStateException} "heap is closed"; the run it had hidden goes back to the (dead) page allocator.
 *
 * <h2>Runs in flight and statistics</h2>
 * A run being released is hidden from allocators (marked in use in the page allocator) from before its system call
 * until it is marked released after it: meanwhile it is neither in a span nor released, so a statistics read then
 * sees idle pages that are not released ({@code HeapIdle > HeapReleased} right after {@code FreeOSMemory}, found
 * by a test: one 2 MiB huge page or one 64 KiB quantum of the background scavenger). Go never shows that state:
 * its scavenger releases a run without reaching a safe point, so its stopped-world read falls between runs. Here
 * every call into the page allocator's scavenging holds {@code runs} shared, and {@link #withNoRunInFlight} holds
 * it exclusively: a statistics read waits for the runs in flight (one background quantum or one eager piece of at
 * most {@link #EAGER_PIECE_BYTES}) and no run starts until it is done. Allowed: a read before or after a run.
 * Forbidden: a read between a run's hiding and its marking as released. Lock order: the collector's cycle lock,
 * then {@code runs}, then the heap lock and {@code osCalls}; a holder of {@code runs} never waits for the cycle
 * lock (the background scavenger only try-locks it, before its slice).
 *
 * <p>Raw memory: the {@link OsMemory} binding acts only on ranges reserved through that same object, so give it the
 * binding that reserved the page allocator's range; within that range the scavenger trusts the page allocator: a
 * run the allocator wrongly reports as free is zeroed (or made inaccessible). A building block, exported only to
 * goheap's own modules.
 *
 * <p>Thread-safety: any thread may call; the page allocator's lock serialises the bitmap work and is not held
 * during the system calls (see {@link PageAllocator#scavenge}).
 */
public final class Scavenger {
    private final PageAllocator pages;
    private final OsMemory os;
    private final OsMemory.DecommitMode mode;
    private final ReadWriteLock osCalls;
    private final BooleanSupplier closed;
    private final PageAllocator.Releaser releaser;
    /** Pages per transparent huge page when the kernel may back the heap with them, else 0. */
    private final int hugePages;
    private final AtomicLong releasedEager = new AtomicLong();
    /** Shared around each call into the page allocator's scavenging; exclusive in {@link #withNoRunInFlight}. */
    private final ReentrantReadWriteLock runs = new ReentrantReadWriteLock();
    /** An eager release goes in pieces of at most this (one chunk), so a statistics read waits for one piece only. */
    static final long EAGER_PIECE_BYTES = PageAllocator.CHUNK_BYTES;
    private final AtomicLong releasedBackground = new AtomicLong();

    /**
     * @param osCalls held shared around each system call; the heap's close holds it exclusively while it unmaps
     * @param closed  whether the heap is closed (checked under {@code osCalls} before each system call)
     */
    public Scavenger(PageAllocator pages, OsMemory os, OsMemory.DecommitMode mode, ReadWriteLock osCalls,
                     BooleanSupplier closed) {
        this.pages = Objects.requireNonNull(pages, "pages");
        this.os = Objects.requireNonNull(os, "os");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.osCalls = Objects.requireNonNull(osCalls, "osCalls");
        this.closed = Objects.requireNonNull(closed, "closed");
        this.releaser = this::releaseRun;
        this.hugePages = (int) Math.min(PageAllocator.CHUNK_PAGES, os.hugePageSize() / PageAllocator.PAGE_SIZE);
    }

    private void releaseRun(long address, long bytes) {
        osCalls.readLock().lock();
        try {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("heap is closed");
            }
            os.decommit(address, bytes, mode);
        } finally {
            osCalls.readLock().unlock();
        }
    }

    /**
     * Releases up to {@code maxBytes} (rounded up to whole pages) of free memory, dense chunks included; returns
     * the bytes released (counted as eager).
     */
    public long release(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        long total = 0;
        long left = maxBytes;
        while (left > 0) {
            long piece = Math.min(left, EAGER_PIECE_BYTES);
            long n;
            runs.readLock().lock();
            try {
                n = pages.scavenge(piece, releaser);
            } finally {
                runs.readLock().unlock();
            }
            releasedEager.addAndGet(n);
            total += n;
            if (n < piece) {
                break;                              // nothing free and unreleased is left
            }
            left -= n;
        }
        return total;
    }

    /** Releases every free page not yet released; returns the bytes released. */
    public long releaseAll() {
        return release(Long.MAX_VALUE);
    }

    /**
     * Releases up to about {@code maxBytes} as Go's background scavenger does (dense chunks skipped, whole huge
     * pages released together, so a little more may go); returns the bytes released (counted as background). 0
     * means nothing is left that the background policy may release.
     */
    public long releaseBackground(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        long n;
        runs.readLock().lock();
        try {
            n = pages.scavengeBackground(maxBytes, hugePages, releaser);
        } finally {
            runs.readLock().unlock();
        }
        releasedBackground.addAndGet(n);
        return n;
    }

    /**
     * Runs {@code read} while no run is being released: waits for those in flight and holds new ones back until it
     * returns (see the class comment). For statistics reads; {@code read} must not release memory itself.
     */
    public <T> T withNoRunInFlight(Supplier<T> read) {
        runs.writeLock().lock();
        try {
            return read.get();
        } finally {
            runs.writeLock().unlock();
        }
    }

    /**
     * Makes the next background release search the whole heap again (after a collection freed pages, or after the
     * background scavenger was idle). Takes the heap lock.
     */
    public void resetBackgroundSearch() {
        pages.lock().lock();
        try {
            pages.resetBackgroundSearch();
        } finally {
            pages.lock().unlock();
        }
    }

    /** Heap bytes the OS backs now: in use plus free and not released (Go's heapRetained). Takes the heap lock. */
    public long retainedBytes() {
        pages.lock().lock();
        try {
            return pages.retainedPages() * PageAllocator.PAGE_SIZE;
        } finally {
            pages.lock().unlock();
        }
    }

    /** Bytes released since creation by {@link #release} and {@link #releaseAll} (Go's eager scavenging). */
    public long releasedEagerBytes() {
        return releasedEager.get();
    }

    /** Bytes released since creation by {@link #releaseBackground}. */
    public long releasedBackgroundBytes() {
        return releasedBackground.get();
    }

    /** Bytes this scavenger has released since it was created. */
    public long releasedBytes() {
        return releasedEager.get() + releasedBackground.get();
    }

    public OsMemory.DecommitMode mode() {
        return mode;
    }
}
