/**
 * The address space and Go's page allocator. Exported only to the goheap modules above it: it hands
 * out raw ranges and the segment over them. The targets are compiled after this module, so javac's "module not
 * found" lint (category {@code module}) is suppressed for this declaration only.
 */
@SuppressWarnings("module")
module io.goheap.pagealloc {
    requires transitive io.goheap.ffi;
    exports io.goheap.pagealloc to io.goheap.scavenger, io.goheap.allocator, io.goheap.collector;
}
