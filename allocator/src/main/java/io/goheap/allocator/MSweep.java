package io.goheap.allocator;

/**
 * Sweeping (Go's {@code mgcsweep}): after a mark phase, every span's unmarked objects are freed — lazily, by
 * whoever next takes the span from its mcentral, or eagerly by {@link #sweepOne}, one span at a time — and spans
 * left empty go back to the heap. The collector drives it: it marks ({@link #markObject}), then starts a cycle
 * ({@link #startCycle}) with the world stopped. Without a collector, nothing marks and no cycle starts.
 *
 * <h2>The sweepgen protocol</h2>
 * The heap's {@code sg} ({@link MHeap#sweepgen}) advances by 2 per cycle. Relative to it a span is:
 * <ul>
 *   <li>{@code sg − 2}: waiting for sweeping — its allocation bits are last cycle's, its mark bits this
 *       cycle's; it sits, uncached, on its mcentral's <em>unswept</em> list pair;</li>
 *   <li>{@code sg}: swept (or created in this cycle) — mark bits all zero; uncached on the <em>swept</em> pair,
 *       or cached by an mcache.</li>
 * </ul>
 * A cached span is not on a list; its {@code sweepgen} is the cycle in which it was cached:
 * <ul>
 *   <li>{@code sg}: cached in this cycle — swept, and its owner allocates from it;</li>
 *   <li>{@code sg − 2}, collected (Go's {@code sg + 1}, "cached before sweep began"): stale — its mark bits are
 *       the cycle's that just ended. Mark termination advances sg without touching any mcache (Go's lazy mcache
 *       flush): each P gives its stale spans back, sweeping them, before it next allocates
 *       ({@link MCache#prepareForSweep}, at every resume from a stop, every P acquisition, and for the stopper's
 *       own P at the restart); the cycle's thread does so for idle Ps after the restart, and the next mark
 *       setup for whatever P is left ({@link #prepareCaches}), so no stale span outlives the sweep cycle;</li>
 *   <li>manual: any older value — manual spans hold no garbage and stay cached across cycles (the stash and the
 *       retained large spans); the value is brought up to date when the span is uncached.</li>
 * </ul>
 * Go also has {@code sg − 1} (being swept): its sweepers claim spans with a CAS. Here a span is swept only by the
 * holder of its mcentral's lock with the span unlinked (or uncached), which makes that state invisible.
 * <p>Allowed: a P allocating from a span of {@code sg} while another P still holds a stale one; a remote free
 * into a stale span (its bit waits for the uncache, which merges before sweeping). Forbidden: an allocation or a
 * local free in a stale span (it would be unmarked and swept away, or freed twice) — every resume path prepares
 * first; a mark starting while a stale span is cached (its old mark bits would hide objects from the mark) —
 * mark setup prepares every P with the world stopped; a sweep cycle starting while a cache holds one —
 * {@link #startCycle} checks.
 *
 * <h2>Explicit frees and sweeping</h2>
 * An explicit free during a cycle only touches allocation bits (locally, in a swept cached span) or the remote
 * bitmap; sweeping merges remote frees first, then keeps {@code allocBits & gcmarkBits}, so an object freed
 * explicitly stays freed even if it was marked. Freeing an object the collector found unreachable is a use of a
 * dead object, as in Go: before its sweep it simply frees the object (the sweep then finds it free), after its
 * sweep it is reported as a double free; a remote free racing with the sweep itself is caught only as well as
 * any racing double free is (see {@link MSpan#mergeRemoteFrees}).
 *
 * <h2>Accounting</h2>
 * Objects freed by sweeping count as frees of their size class ({@link MHeap#sweptFrees}; large objects in
 * the heap's large-free counters), so {@code HeapObjects = Mallocs − Frees} keeps holding. An unswept span's
 * dead objects count as live until it is swept, as in Go's AllocStats between cycles.
 */
final class MSweep {
    private MSweep() {
    }

    /**
     * Sets the mark bit of the object holding {@code address} (any address inside it) — what the collector's marker does for every reachable object. Returns the object's
     * base address.
     */
    static long markObject(MHeap heap, long address) {
        MSpan s = heap.spanOfObject(address);
        if (s.isLarge()) {
            s.tryMark(0, heap);
            return s.base;
        }
        int idx = s.objectIndex(address - s.base);
        if (!s.isAllocatedRacy(idx)) {
            throw new IllegalArgumentException(String.format("0x%x is not inside an allocated object", address));
        }
        s.tryMark(idx, heap);
        return s.base + idx * s.elemSize;
    }

    /**
     * Starts a sweep cycle (the end of Go's {@code gcMarkTermination}): advances the heap's sweepgen by 2, turning
     * every uncached span into one that waits for sweeping and every cached collected span into a stale one, which
     * its P sweeps when it next resumes ({@link MCache#prepareForSweep}). The caller has stopped the world
     * ({@link Procs#stopTheWorld}): every P is taken, lent or its own, and every cache was prepared for the cycle
     * that ends ({@link #prepareCaches}). Each P's page cache is given back when the P is next prepared, not here:
     * the pause stays short.
     */
    static void startCycle(MHeap heap, Procs procs) {
        if (!procs.stoppedBy(Thread.currentThread())) {
            throw new IllegalStateException("a sweep cycle starts with the world stopped by the calling thread");
        }
        int sg = heap.sweepgen;
        for (int i = 0; i < procs.count(); i++) {
            if (procs.get(i).mcache.flushGen != sg) {
                throw new IllegalStateException("P " + i + "'s mcache was not prepared for sweep cycle " + sg
                        + ": it may hold stale spans");
            }
        }
        for (MCentral c : heap.central) {
            if (c.unsweptSpans() != 0) {
                throw new IllegalStateException("the previous sweep cycle has not finished: " + c.unsweptSpans()
                        + " spans of span class " + c.spanClass + " are unswept");
            }
        }
        heap.pagesToSweep = heap.inUsePages.get();
        heap.pagesSwept.set(0);
        heap.sweepgen += 2;
    }

    /**
     * Prepares every P's mcache for the current sweep cycle ({@link MCache#prepareForSweep}): the stale spans of Ps
     * that have not resumed since the last mark termination are swept and given back. World stopped by the caller.
     */
    static void prepareCaches(Procs procs) {
        if (!procs.stoppedBy(Thread.currentThread())) {
            throw new IllegalStateException("preparing every mcache needs the world stopped by the calling thread");
        }
        for (int i = 0; i < procs.count(); i++) {
            procs.get(i).mcache.prepareForSweep();
        }
    }

    /** Sweeps one span waiting for sweeping, if any (Go's {@code sweepone}); returns whether it found one. */
    static boolean sweepOne(MHeap heap) {
        for (MCentral c : heap.central) {
            if (c.sweepOne()) {
                return true;
            }
        }
        heap.noteSweepDone();
        return false;
    }

    /**
     * Sweeps until no span waits (Go's {@code finishsweep_m}); returns how many spans it swept. Drains one mcentral
     * after the other: no span starts waiting during a sweep cycle, so one pass leaves none (restarting from the
     * first mcentral for every span, as {@link #sweepOne} does, cost ~1.5 µs a span over the empty ones: 25 ms of
     * a 1 GiB freeOSMemory of 64 KiB objects).
     */
    static int finishSweep(MHeap heap) {
        int n = 0;
        for (MCentral c : heap.central) {
            while (c.sweepOne()) {
                n++;
            }
        }
        while (sweepOne(heap)) {         // finds none left: the one path that sees a sweep cycle end
            n++;
        }
        return n;
    }
}
