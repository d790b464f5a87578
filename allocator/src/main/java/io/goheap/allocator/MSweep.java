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
 * Go also has {@code sg − 1} (being swept) and {@code sg + 1 / + 3} (cached across a cycle start), because its
 * sweepers claim spans with a CAS and its mcaches are flushed lazily. Here a span is swept only by the holder of
 * its mcentral's lock with the span unlinked, which makes the "being swept" state invisible, and a cycle starts
 * only after every mcache was flushed, so no span is cached across it ({@link #startCycle} checks both).
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
     * Starts a sweep cycle (the end of Go's {@code gcMarkTermination}): flushes every mcache, so no span is cached
     * across the cycle, then advances the heap's sweepgen by 2, turning every span into one that waits for
     * sweeping. The caller has stopped the world ({@link Procs#stopTheWorld}): every P is taken, lent or its own.
     */
    static void startCycle(MHeap heap, Procs procs) {
        if (!procs.stoppedBy(Thread.currentThread())) {
            throw new IllegalStateException("a sweep cycle starts with the world stopped by the calling thread");
        }
        for (int i = 0; i < procs.count(); i++) {
            procs.get(i).mcache.releaseAll();
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

    /** Sweeps one span waiting for sweeping, if any (Go's {@code sweepone}); returns whether it found one. */
    static boolean sweepOne(MHeap heap) {
        for (MCentral c : heap.central) {
            if (c.sweepOne()) {
                return true;
            }
        }
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
