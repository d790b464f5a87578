package io.goheap.allocator;

/**
 * What a stop-the-world collector does around the sweeper, for tests until the collector exists: stop the
 * world, finish the previous cycle's sweeping (Go's {@code finishsweep_m}), mark the given objects as the marker
 * would, start the sweep cycle, restart the world. Sweeping then happens lazily and through {@link MSweep}.
 */
final class GcCycle {
    private GcCycle() {
    }

    static void run(Heap heap, Iterable<Long> reachable) {
        MHeap h = heap.mheap();
        Procs procs = heap.procs();
        procs.stopTheWorld();
        try {
            MSweep.finishSweep(h);
            for (long address : reachable) {
                MSweep.markObject(h, address);
            }
            MSweep.startCycle(h, procs);
        } finally {
            procs.startTheWorld();
        }
    }
}
