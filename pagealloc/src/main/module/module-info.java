/** The address space and Go's page allocator. */
module io.goheap.pagealloc {
    requires transitive io.goheap.ffi;
    exports io.goheap.pagealloc;
}
