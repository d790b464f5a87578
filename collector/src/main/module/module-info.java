/**
 * The collector and goheap's public API, package {@code io.goheap} (one page of API, like java.lang.foreign):
 * so far the types of collected objects ({@link io.goheap.HeapType}, from FFM layouts); the heap, mutators, roots,
 * safepoints and the collector itself move in next (see README). Dependencies point down only: collector →
 * allocator.
 */
module io.goheap.collector {
    requires transitive io.goheap.allocator;
    requires java.management;              // the concurrent mark times its own CPU (ThreadMXBean)
    exports io.goheap;
}
