/**
 * Go's allocator over off-heap memory. Internal: exported to the collector module only, which holds goheap's
 * public API (package {@code io.goheap}); a user never sees MSpan, MHeap or the allocator's own Heap.
 */
@SuppressWarnings("module") // io.goheap.collector is compiled after this module: javac cannot see it yet
module io.goheap.allocator {
    requires transitive io.goheap.scavenger;
    exports io.goheap.allocator to io.goheap.collector;
}
