/** Go's allocator over off-heap memory. */
module io.goheap.allocator {
    requires transitive io.goheap.scavenger;
    exports io.goheap.allocator;
}
