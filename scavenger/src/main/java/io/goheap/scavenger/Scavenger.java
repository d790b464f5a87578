package io.goheap.scavenger;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.PageAllocator;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Returns free pages of a page allocator to the OS (Go's scavenger, {@code mgcscavenge.go}).
 *
 * <p>This is the part every pacing policy shares: releasing free, not yet released runs, highest addresses
 * first, with one {@code madvise} per run. {@link #releaseAll()} is what {@code debug.FreeOSMemory} does after
 * its collection. The background worker paced to ~1% of a CPU and the memory-limit goal come with the
 * collector's pacer, which supplies the goal they aim at.
 *
 * <p>Raw memory: the scavenger calls {@code madvise} (or {@code mprotect}) on whatever free runs its page
 * allocator reports, without checking whose memory they are. Give it only a page allocator over a range reserved
 * for it (an {@link io.goheap.pagealloc.AddressSpace}, as {@code Heap} does); over any other memory it would zero
 * or revoke access to that memory. Like {@link OsMemory}, it is a building block, not a safe API.
 *
 * <p>Thread-safety: any thread may call; the page allocator's lock serialises the bitmap work and is not held
 * during the system calls (see {@link PageAllocator#scavenge}).
 */
public final class Scavenger {
    private final PageAllocator pages;
    private final OsMemory os;
    private final OsMemory.DecommitMode mode;
    private final AtomicLong released = new AtomicLong();

    public Scavenger(PageAllocator pages, OsMemory os, OsMemory.DecommitMode mode) {
        this.pages = pages;
        this.os = os;
        this.mode = mode;
    }

    /** Releases up to {@code maxBytes} (rounded up to whole pages) of free memory; returns the bytes released. */
    public long release(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        long n = pages.scavenge(maxBytes, (address, bytes) -> os.decommit(address, bytes, mode));
        released.addAndGet(n);
        return n;
    }

    /** Releases every free page not yet released; returns the bytes released. */
    public long releaseAll() {
        return release(Long.MAX_VALUE);
    }

    /** Bytes this scavenger has released since it was created. */
    public long releasedBytes() {
        return released.get();
    }

    public OsMemory.DecommitMode mode() {
        return mode;
    }
}
