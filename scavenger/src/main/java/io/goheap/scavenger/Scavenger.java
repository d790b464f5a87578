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
 * allocator reports. Its {@link OsMemory} acts only on ranges reserved through that same object, so give it the
 * binding that reserved the page allocator's range (an {@link io.goheap.pagealloc.AddressSpace}'s
 * {@code os()}, as {@code Heap} does); for any other memory the binding throws IllegalArgumentException before
 * any system call. Within that range it trusts the page allocator: a run the allocator wrongly reports as free
 * is zeroed (or made inaccessible). A building block, exported only to goheap's own modules.
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
