package io.goheap.allocator;

/**
 * What a collector does around the sweeper, for the allocator's tests: stop the world, prepare every mcache for
 * the cycle and finish the previous cycle's sweeping (Go's {@code finishsweep_m}), mark the given objects as the
 * marker would, start the sweep cycle, restart the world. Cached collected spans then go stale and are swept by
 * their P when it next resumes (Go's lazy mcache flush); the rest lazily, through {@link MSweep}, or all at once
 * by {@link #sweepAll}.
 */
final class GcCycle {
    private GcCycle() {
    }

    static void run(Heap heap, Iterable<Long> reachable) {
        run(heap, reachable, false);
    }

    /**
     * As {@link #run(Heap, Iterable)}; with {@code flushFirst} every mcache is flushed before the mark, as the
     * stop-the-world collector does, so every span waits on its mcentral for the sweep (none goes stale in a cache).
     */
    static void run(Heap heap, Iterable<Long> reachable, boolean flushFirst) {
        MHeap h = heap.mheap();
        Procs procs = heap.procs();
        procs.stopTheWorld();
        try {
            MSweep.prepareCaches(procs);
            MSweep.finishSweep(h);
            if (flushFirst) {
                for (int i = 0; i < procs.count(); i++) {
                    procs.get(i).mcache.releaseAll();
                }
            }
            for (long address : reachable) {
                MSweep.markObject(h, address);
            }
            MSweep.startCycle(h, procs);
        } finally {
            procs.startTheWorld();
        }
    }

    /**
     * Sweeps everything the last cycle left, stale cached spans included (what Go's {@code GC()} does before it
     * returns); returns the spans swept from the mcentrals.
     */
    static int sweepAll(Heap heap) {
        Procs procs = heap.procs();
        procs.stopTheWorld();
        try {
            MSweep.prepareCaches(procs);
        } finally {
            procs.startTheWorld();
        }
        return MSweep.finishSweep(heap.mheap());
    }
}
