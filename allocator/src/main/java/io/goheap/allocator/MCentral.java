package io.goheap.allocator;

/**
 * The central free list of one span class (Go's {@code mcentral}): the spans of that class that no mcache
 * holds, on a <em>partial</em> list (some free slot) and a <em>full</em> list (none, as of the last settle),
 * each twice over — swept and unswept — as Go's {@code partial[2]} / {@code full[2]} span sets. Which of the two
 * pairs is the swept one follows the heap's sweepgen: pair {@code (sg / 2) mod 2} holds the spans swept in this
 * cycle, the other one those still to sweep; advancing sg by 2 turns every swept span into an unswept one
 * without touching a list (see {@link MSweep}). The large-object classes (size class 0) keep every live large
 * span on their full lists, so the sweeper finds them as Go's does.
 *
 * <h2>Locking</h2>
 * Every field and every list link of an uncached span of this class is guarded by this object's monitor, and
 * so is sweeping: a span is swept only by whoever holds this lock with the span unlinked. Lock order:
 * mcentral, then the heap lock (freeing an empty span); the heap lock is never held while taking an mcentral
 * lock. Small-span growth ({@link MHeap#allocSmallSpan}) runs without this lock; large spans are allocated and
 * freed under it, so a large span is on a list exactly while it is in use.
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
    /** Whether this mcentral's spans hold collected objects (see {@link MSpan#collected}). */
    final boolean collected;
    final int cacheClass;
    private final MHeap heap;

    /** Heads of the lists, indexed by list pair (0 or 1, see the class comment). */
    private final MSpan[] partialHead = new MSpan[2];
    private final MSpan[] fullHead = new MSpan[2];
    private final int[] partialCount = new int[2];
    private final int[] fullCount = new int[2];

    MCentral(int spanClass, boolean collected, MHeap heap) {
        this(spanClass, MSpan.cacheClass(spanClass, collected), heap);
    }

    /** The mcentral of mcache slot {@code cacheClass} (see {@link MSpan#cacheClass}), of span class {@code spanClass}. */
    MCentral(int spanClass, int cacheClass, MHeap heap) {
        this.spanClass = spanClass;
        this.collected = cacheClass >= SizeClasses.NUM_SPAN_CLASSES;
        this.cacheClass = cacheClass;
        this.heap = heap;
    }

    /** The list pair of spans swept in the cycle of heap sweepgen {@code sg}. */
    static int sweptSet(int sg) {
        return (sg >>> 1) & 1;
    }

    /**
     * Gives {@code cache} a span with at least one free slot (Go's {@code cacheSpan}): a swept partial span, else
     * an unswept partial or full span swept here that turns out to have room, else a fresh one from the heap.
     * The span is marked cached before it is returned.
     */
    MSpan cacheSpan(MCache cache) {
        synchronized (this) {
            int sg = heap.sweepgen;
            int swept = sweptSet(sg);
            MSpan s;
            while ((s = partialHead[swept]) != null) {
                unlink(s);
                unretain(s);
                markCached(s, cache);
                s.mergeRemoteFrees(false, heap);
                if (s.hasFreeSlot()) {
                    s.resetAllocCursor();
                    noteManual(s);
                    return s;
                }
                // Raced with nothing (a partial span always has a slot) unless the heap was misused; keep it sound.
                uncacheLocked(s);
            }
            int unswept = swept ^ 1;
            while ((s = partialHead[unswept]) != null || (s = fullHead[unswept]) != null) {
                unlink(s);
                unretain(s);
                if (!sweepLocked(s, sg)) {
                    continue;                 // every object was garbage: the span went back to the heap
                }
                if (s.hasFreeSlot()) {
                    markCached(s, cache);
                    s.mergeRemoteFrees(false, heap);
                    s.resetAllocCursor();
                    noteManual(s);
                    return s;
                }
                place(s);
            }
        }
        MSpan fresh = heap.allocSmallSpan(cacheClass, cache);
        fresh.setCachedBy(cache);
        fresh.getAndAddRemote(MSpan.R_CACHED);
        noteManual(fresh);
        return fresh;
    }

    /**
     * While a concurrent mark's snapshot of the manual spans is being taken ({@link ManualRoots#take}), records a
     * manual span that moves between this mcentral and an mcache, or is made: the walk of the lists and the Ps'
     * caches, done at different moments, then cannot both miss it.
     */
    private void noteManual(MSpan s) {
        if (!collected) {
            ManualRoots.Recorder r = heap.manualRecorder;
            if (r != null) {
                r.add(s);
            }
        }
    }


    /** Takes back a span from an mcache (Go's {@code uncacheSpan}). The caller is the span's owner. */
    void uncacheSpan(MSpan s) {
        synchronized (this) {
            uncacheLocked(s);
        }
    }

    /**
     * A remote freer of object {@code idx} found the span uncached and in need of attention: merge, move or free
     * it. Returns false if the free did not happen: the span had gone back to the heap with the freer's bit still
     * set, which means nobody merged it — the object had been freed already, by the free that emptied the span
     * (a double free racing with the first). The bit and its pending count are then taken back.
     */
    boolean settleAfterRemoteFree(MSpan s, int idx) {
        synchronized (this) {
            if (s.state() != MSpan.IN_USE) {
                if (s.clearRemoteFreed(idx)) {
                    s.getAndAddRemote(-1);
                    return false;
                }
                return true;      // merged (and counted) before the span was freed
            }
            if ((s.remote() & MSpan.R_CACHED) == 0) {
                // Uncached, so its allocation bits are ours to read under this lock. The freer's bit still set on
                // an object that is not allocated: the free that emptied the span took it first (the span may
                // have stayed in use, retained empty) — a double free racing with the first; take it back.
                if (!s.isAllocated(idx) && s.clearRemoteFreed(idx)) {
                    s.getAndAddRemote(-1);
                    return false;
                }
                settle(s);        // else cached again: the new owner merges
            }
            return true;
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
        noteManual(s);
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
        int sg = heap.sweepgen;
        if (s.sweepgen != sg) {
            if (collected) {
                // stale: cached since before the current sweep cycle began (MCache.prepareForSweep); its mark
                // bits are the last cycle's, so sweep it now, as Go's uncacheSpan does
                if (sweepLocked(s, sg)) {
                    place(s);
                }
                return;
            }
            s.sweepgen = sg;                  // a manual span cached across cycles: nothing to sweep
        }
        settle(s);
    }

    /**
     * Merges pending remote frees and puts the span where it belongs. Holds this lock; the span is uncached.
     *
     * <p>An empty span goes back to the heap — unless it holds manual objects and the heap's budget for empty
     * spans ({@link MHeap#RETAIN_EMPTY_MAX_BYTES}) has room: then it stays in use on the partial list, so a
     * program that allocates and frees batches of objects takes the same spans again without the heap lock, the
     * page allocator or a new span descriptor (jemalloc keeps dirty pages for the same reason; Go frees spans only
     * by sweeping). Such a span is like any span with free slots: counted in HeapInuse, its free slots checked on
     * free. Collections and {@code freeOSMemory} give the retained spans back ({@link #releaseRetainedEmpty}).
     */
    private void settle(MSpan s) {
        s.mergeRemoteFrees(true, heap);
        if (s.allocCount == 0) {
            if (!collected && !s.retainedEmpty && heap.tryRetainEmpty(s)) {
                s.retainedEmpty = true;
                s.clearMarks();               // (manual spans carry none; a test may have set one)
                place(s);
                return;
            }
            if (s.list != MSpan.LIST_NONE) {
                unlink(s);
            }
            unretain(s);
            heap.freeSmallSpan(s);
            return;
        }
        place(s);
    }

    /** The span leaves the retained-empty state (taken for allocation, swept or freed). Holds this lock. */
    private void unretain(MSpan s) {
        if (s.retainedEmpty) {
            s.retainedEmpty = false;
            heap.retainedEmptyBytes.addAndGet(-(long) s.npages * MHeap.PAGE_SIZE);
        }
    }

    /** Returns every retained empty span of this class to the heap. */
    synchronized void releaseRetainedEmpty() {
        for (int set = 0; set < 2; set++) {
            MSpan s = partialHead[set];
            while (s != null) {
                MSpan next = s.next;
                if (s.retainedEmpty && s.allocCount == 0 && (s.remote() & MSpan.R_PENDING_MASK) == 0) {
                    unlink(s);
                    unretain(s);
                    heap.freeSmallSpan(s);
                }
                s = next;
            }
        }
    }

    /**
     * Sweeps the unlinked, uncached span {@code s} whose sweepgen is {@code sg − 2} (Go's {@code sweepLocked.sweep}):
     * merges its remote frees, frees its unmarked objects (counted as frees of its class), marks it swept, and
     * returns its pages to the heap if nothing in it survived. Returns whether the span is still in use; if so
     * the caller links it somewhere. Holds this lock.
     */
    private boolean sweepLocked(MSpan s, int sg) {
        if (s.sweepgen != sg - 2) {
            throw new IllegalStateException("sweeping a span that is not waiting for it: sweepgen " + s.sweepgen
                    + " in cycle " + sg + ", " + s);
        }
        heap.pagesSwept.addAndGet(s.npages);      // (Go's pagesSwept: the sweep pacer's progress)
        if (!s.collected) {
            s.sweepgen = sg;                   // manual objects live until freed: nothing to sweep
            return true;
        }
        boolean debug = heap.quarantineCycles > 0 || heap.clobberFree;
        if (s.isLarge()) {
            s.sweepgen = sg;
            boolean marked = s.isMarked(0);
            if (marked || debug && s.isAllocatedRacy(0) && Quarantine.keepLarge(heap, s, false)) {
                if (debug && marked) {
                    Quarantine.keepLarge(heap, s, true);
                }
                s.clearMarks();
                return true;
            }
            heap.releaseLarge(s);
            return false;
        }
        s.mergeRemoteFrees(true, heap);
        if (debug) {
            Quarantine.beforeSweep(heap, s);
        }
        int freed = s.sweepMarks();
        s.sweepgen = sg;
        if (freed > 0) {
            heap.sweptFrees.addAndGet(s.sizeClass, freed);
            // The published count (remote-free protocol) drops to the new allocation count. A remote freer that
            // read the old, higher count did not settle, so merge what it left — as uncacheLocked does, publish
            // first, merge after: a freer counts itself pending before setting its bit, so either this check sees
            // it, or the freer reads the lowered count and settles itself (waiting for this lock).
            s.getAndAddRemote(-((long) freed << MSpan.R_COUNT_SHIFT));
            if ((s.remote() & MSpan.R_PENDING_MASK) != 0) {
                s.mergeRemoteFrees(true, heap);
            }
        }
        if (s.allocCount == 0) {
            heap.freeSmallSpan(s);
            return false;
        }
        return true;
    }

    /**
     * Sweeps one span of this class that waits for sweeping, if there is one (the unit of Go's
     * {@code sweepone}); returns whether it found one.
     */
    synchronized boolean sweepOne() {
        int unswept = sweptSet(heap.sweepgen) ^ 1;
        MSpan s = partialHead[unswept] != null ? partialHead[unswept] : fullHead[unswept];
        if (s == null) {
            return false;
        }
        unlink(s);
        if (sweepLocked(s, heap.sweepgen)) {
            place(s);
        }
        return true;
    }

    /** Links a new large span as in use (full, swept). Holds this lock while the heap allocates it. */
    void linkLarge(MSpan s) {
        assert Thread.holdsLock(this) && s.isLarge();
        link(s, MSpan.LIST_FULL, s.sweepgen);
        noteManual(s);
    }

    /** Explicit free of large object {@code s}: checked under this lock so it cannot race with its sweep. */
    synchronized void freeLarge(MSpan s, long address) {
        if (s.state() != MSpan.IN_USE || !s.claimLargeFree()) {
            throw largeDoubleFree(s, address);
        }
        unlink(s);
        heap.releaseLarge(s);
    }

    static IllegalStateException largeDoubleFree(MSpan s, long address) {
        return new IllegalStateException(String.format(
                "free(0x%x): double free or never allocated (the large object of %d bytes there is free)",
                address, s.elemSize));
    }

    /** Returns a large span an mcache retained (its object freed and counted already) to the heap. */
    synchronized void releaseRetained(MSpan s) {
        unlink(s);
        heap.releaseRetained(s);
    }

    /** Puts an uncached, in-use span on the list its fullness and sweep state call for. Holds this lock. */
    private void place(MSpan s) {
        if (s.isLarge()) {
            if (s.list != MSpan.LIST_NONE) {
                unlink(s);
            }
            link(s, MSpan.LIST_FULL, s.sweepgen);
            return;
        }
        boolean full = !s.hasFreeSlot();
        long r;
        do {
            r = s.remote();
        } while (!s.casRemote(r, full ? (r | MSpan.R_FULL) : (r & ~MSpan.R_FULL)));
        byte want = full ? MSpan.LIST_FULL : MSpan.LIST_PARTIAL;
        int set = sweptSet(s.sweepgen);
        if (s.list != want || s.listSet != set) {
            if (s.list != MSpan.LIST_NONE) {
                unlink(s);
            }
            link(s, want, s.sweepgen);
        }
        if (!full) {
            s.resetAllocCursor();
        }
    }

    /** Links {@code s} at the head of {@code list} in the pair its {@code sweepgen} selects. */
    private void link(MSpan s, byte list, int sweepgen) {
        int set = sweptSet(sweepgen);
        s.list = list;
        s.listSet = (byte) set;
        s.prev = null;
        MSpan[] heads = list == MSpan.LIST_PARTIAL ? partialHead : fullHead;
        s.next = heads[set];
        if (heads[set] != null) {
            heads[set].prev = s;
        }
        heads[set] = s;
        (list == MSpan.LIST_PARTIAL ? partialCount : fullCount)[set]++;
    }

    private void unlink(MSpan s) {
        int set = s.listSet;
        MSpan[] heads = s.list == MSpan.LIST_PARTIAL ? partialHead : fullHead;
        if (s.prev != null) {
            s.prev.next = s.next;
        } else {
            heads[set] = s.next;
        }
        if (s.next != null) {
            s.next.prev = s.prev;
        }
        (s.list == MSpan.LIST_PARTIAL ? partialCount : fullCount)[set]--;
        s.next = s.prev = null;
        s.list = MSpan.LIST_NONE;
    }

    /** Spans on this central's lists (for tests and statistics). */
    synchronized int uncachedSpans() {
        return partialCount[0] + partialCount[1] + fullCount[0] + fullCount[1];
    }

    /** Spans of this class waiting for sweeping in the current cycle. */
    synchronized int unsweptSpans() {
        int unswept = sweptSet(heap.sweepgen) ^ 1;
        return partialCount[unswept] + fullCount[unswept];
    }

    /** Visits the uncached spans with the list (partial or full) and pair each is on, under the lock (tests). */
    synchronized void forEachSpan(ListVisitor visitor) {
        for (int set = 0; set < 2; set++) {
            for (MSpan s = partialHead[set]; s != null; s = s.next) {
                visitor.visit(s, MSpan.LIST_PARTIAL, set);
            }
            for (MSpan s = fullHead[set]; s != null; s = s.next) {
                visitor.visit(s, MSpan.LIST_FULL, set);
            }
        }
    }

    interface ListVisitor {
        void visit(MSpan s, byte list, int set);
    }
}
