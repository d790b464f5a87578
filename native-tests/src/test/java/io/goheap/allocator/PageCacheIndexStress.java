package io.goheap.allocator;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.AddressSpace;
import io.goheap.pagealloc.ArenaIndex;
import io.goheap.pagealloc.PageAllocator;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * jcstress: a span carved from a P's page cache is indexed without the heap lock ({@link ArenaIndex#setPrepared}
 * into the page array made when the window was taken) while, in the same arena, another P makes a span under the
 * lock ({@link ArenaIndex#set}) and then looks a page of the first span up, as a remote free does (two actors: the
 * machines have two CPUs).
 *
 * <p>r1 = the arbiter's lookup of the cached span's page (1 = found), r2 = of the locked span's page, r3 = the
 * second thread's racing lookup (0 = not yet, 1 = the span; 2 = anything else). Forbidden: a lost index entry, and a
 * reader seeing a value no one wrote.
 */
@JCStressTest
@Outcome(id = {"1, 1, 0", "1, 1, 1"}, expect = Expect.ACCEPTABLE, desc = "both spans indexed; the reader saw none or the span")
@Outcome(expect = Expect.FORBIDDEN, desc = "an index entry lost, or a reader saw a value no one wrote")
@State
public class PageCacheIndexStress {
    private static final AddressSpace SPACE = new AddressSpace(OsMemory.ffm(), 2 * AddressSpace.ARENA_BYTES);

    static {
        SPACE.commitArenas(AddressSpace.ARENA_BYTES);
    }

    private static final long WINDOW = SPACE.base() + 4 * PageAllocator.CACHE_PAGES * PageAllocator.PAGE_SIZE;
    private static final long CACHED = WINDOW + 3 * PageAllocator.PAGE_SIZE;
    private static final long LOCKED = WINDOW + 2 * PageAllocator.CACHE_PAGES * PageAllocator.PAGE_SIZE;

    private final ArenaIndex<String> index = new ArenaIndex<>(SPACE);
    private final Object heapLock = new Object();

    public PageCacheIndexStress() {
        synchronized (heapLock) {                 // the P took its window under the lock
            index.prepare(WINDOW, PageAllocator.CACHE_PAGES);
        }
    }

    @Actor
    public void cachedSpan() {
        index.setPrepared(CACHED, 2, "cached");
    }

    @Actor
    public void lockedSpanThenRemoteLookup(III_Result r) {
        synchronized (heapLock) {
            index.set(LOCKED, 3, "locked");
        }
        String v = index.get(CACHED + PageAllocator.PAGE_SIZE);
        r.r3 = v == null ? 0 : v.equals("cached") ? 1 : 2;
    }

    @Arbiter
    public void check(III_Result r) {
        r.r1 = "cached".equals(index.get(CACHED)) && "cached".equals(index.get(CACHED + PageAllocator.PAGE_SIZE)) ? 1 : 0;
        r.r2 = "locked".equals(index.get(LOCKED + 2 * PageAllocator.PAGE_SIZE)) ? 1 : 0;
    }
}
