package io.goheap;

/**
 * Benchmarks only: turns a heap's write barrier on without a cycle, so JMH can time a pointer store with the
 * barrier on (each store records the slot's old and new value; every 512 entries the Mutator shades them) beside
 * the same store with it off. The heap must not be collected while it is on (its marks would be stale): close it
 * after the benchmark.
 */
public final class BenchAccess {
    private BenchAccess() {
    }

    public static void setWriteBarrier(Heap heap, boolean on) {
        heap.collector.barrier.marking = on;
    }
}
