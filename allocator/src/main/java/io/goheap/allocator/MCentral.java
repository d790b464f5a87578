package io.goheap.allocator;

/**
 * The central free list of one span class (Go's {@code mcentral}): the spans of that class that no mcache
 * holds, on a <em>partial</em> list (some free slot) and a <em>full</em> list (none, as of the last settle).
 *
 * <h2>Locking</h2>
 * Every field and every list link of an uncached span of this class is guarded by this object's monitor.
 * Lock order: mcentral, then the heap lock (freeing an empty span); the heap lock is never held while
 * taking an mcentral lock. Span growth ({@link MHeap#allocSmallSpan}) runs without this lock.
 *
 * <h2>Remote-free protocol</h2>
 * A free of an object whose span the freeing thread's P does not cache is <em>remote</em>. It never writes
 * the span's allocation state; it (1) adds one to the pending count in {@code span.remote}, (2) sets the
 * object's bit in {@code span.remoteFreed} (a bit already set means a double free: the count is taken back and
 * the free rejected), then (3) reads {@code span.remote} again, after its bit is set, and decides:
 * <ul>
 *   <li>{@code R_CACHED}: an mcache owns the span and merges the bits itself when the span looks full
 *       and when it gives the span back. Nothing else to do.</li>
 *   <li>uncached and {@code R_FULL}, or uncached with pending ≥ published allocation count (the span is now
 *       empty): the freer takes this lock and {@link #settle settles} the span, which merges all pending frees,
 *       moves a full span to the partial list and returns an empty span to the heap.</li>
 *   <li>otherwise the span is on the partial list; the bits wait until someone caches it.</li>
 * </ul>
 * The owner changes {@code R_CACHED}, {@code R_FULL} and the published count only under this lock and with a
 * single atomic update of {@code span.remote} each time, and merging subtracts the merged count from pending
 * and published count in the same atomic step, so a freer always reads a consistent triple. No free is
 * stranded on an uncached span: all of these are sequentially consistent atomics, so for a freer racing with
 * an uncache either the owner's merge (which runs after its publishing update) sees the freer's bit, or the
 * freer's read after setting the bit sees the published, uncached state and settles itself. Settling is
 * idempotent, so several freers settling the same span is harmless.
 */
final class MCentral {
    final int spanClass;
    private final MHeap heap;

    private MSpan partialHead;
    private MSpan fullHead;
    private int partialCount;
    private int fullCount;

    MCentral(int spanClass, MHeap heap) {
        this.spanClass = spanClass;
        this.heap = heap;
    }

    /**
     * Gives {@code cache} a span with at least one free slot (Go's {@code cacheSpan}): a partial span from this
     * list, else a fresh one from the heap. The span is marked cached before it is returned.
     */
    MSpan cacheSpan(MCache cache) {
        synchronized (this) {
            MSpan s;
            while ((s = partialHead) != null) {
                unlink(s);
                markCached(s, cache);
                s.mergeRemoteFrees(false, heap);
                if (s.hasFreeSlot()) {
                    s.resetAllocCursor();
                    return s;
                }
                // Raced with nothing (a partial span always has a slot) unless the heap was misused; keep it sound.
                uncacheLocked(s);
            }
        }
        MSpan fresh = heap.allocSmallSpan(spanClass);
        fresh.setCachedBy(cache);
        fresh.getAndAddRemote(MSpan.R_CACHED);
        return fresh;
    }

    /** Takes back a span from an mcache (Go's {@code uncacheSpan}). The caller is the span's owner. */
    void uncacheSpan(MSpan s) {
        synchronized (this) {
            uncacheLocked(s);
        }
    }

    /** A remote freer found the span uncached and in need of attention: merge, move or free it. */
    void settleAfterRemoteFree(MSpan s) {
        synchronized (this) {
            if (s.state() != MSpan.IN_USE || (s.remote() & MSpan.R_CACHED) != 0) {
                return; // freed already, or cached again: the new owner merges
            }
            settle(s);
        }
    }

    private void markCached(MSpan s, MCache cache) {
        s.setCachedBy(cache);
        long r;
        do {
            r = s.remote();
        } while (!s.casRemote(r, (r & MSpan.R_PENDING_MASK) | MSpan.R_CACHED));
    }

    private void uncacheLocked(MSpan s) {
        s.mergeRemoteFrees(false, heap);
        long r;
        do {
            r = s.remote();
            long flags = s.hasFreeSlot() ? 0 : MSpan.R_FULL;
            long published = ((long) s.allocCount << MSpan.R_COUNT_SHIFT);
            if (s.casRemote(r, (r & MSpan.R_PENDING_MASK) | published | flags)) {
                break;
            }
        } while (true);
        s.setCachedBy(null);
        settle(s);
    }

    /** Merges pending remote frees and puts the span where it belongs. Holds this lock; the span is uncached. */
    private void settle(MSpan s) {
        s.mergeRemoteFrees(true, heap);
        if (s.allocCount == 0) {
            if (s.list != MSpan.LIST_NONE) {
                unlink(s);
            }
            heap.freeSmallSpan(s);
            return;
        }
        boolean full = !s.hasFreeSlot();
        long r;
        do {
            r = s.remote();
        } while (!s.casRemote(r, full ? (r | MSpan.R_FULL) : (r & ~MSpan.R_FULL)));
        byte want = full ? MSpan.LIST_FULL : MSpan.LIST_PARTIAL;
        if (s.list != want) {
            if (s.list != MSpan.LIST_NONE) {
                unlink(s);
            }
            link(s, want);
        }
        if (!full) {
            s.resetAllocCursor();
        }
    }

    private void link(MSpan s, byte list) {
        s.list = list;
        s.prev = null;
        if (list == MSpan.LIST_PARTIAL) {
            s.next = partialHead;
            if (partialHead != null) {
                partialHead.prev = s;
            }
            partialHead = s;
            partialCount++;
        } else {
            s.next = fullHead;
            if (fullHead != null) {
                fullHead.prev = s;
            }
            fullHead = s;
            fullCount++;
        }
    }

    private void unlink(MSpan s) {
        if (s.prev != null) {
            s.prev.next = s.next;
        } else if (s.list == MSpan.LIST_PARTIAL) {
            partialHead = s.next;
        } else {
            fullHead = s.next;
        }
        if (s.next != null) {
            s.next.prev = s.prev;
        }
        if (s.list == MSpan.LIST_PARTIAL) {
            partialCount--;
        } else {
            fullCount--;
        }
        s.next = s.prev = null;
        s.list = MSpan.LIST_NONE;
    }

    /** Spans on this central's lists (for tests and statistics). */
    synchronized int uncachedSpans() {
        return partialCount + fullCount;
    }

    /** Visits the uncached spans under the lock (for the recount oracle in tests). */
    synchronized void forEachSpan(java.util.function.Consumer<MSpan> visitor) {
        for (MSpan s = partialHead; s != null; s = s.next) {
            visitor.accept(s);
        }
        for (MSpan s = fullHead; s != null; s = s.next) {
            visitor.accept(s);
        }
    }
}
