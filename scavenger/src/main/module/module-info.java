/**
 * Returning free pages to the OS. Exported only to the goheap modules above it: it acts on raw
 * memory. The targets are compiled after this module, so javac's "module not found" lint (category
 * {@code module}) is suppressed for this declaration only.
 */
@SuppressWarnings("module")
module io.goheap.scavenger {
    requires transitive io.goheap.pagealloc;
    requires java.management;              // the background scavenger paces itself by its thread's CPU time
    exports io.goheap.scavenger to io.goheap.allocator, io.goheap.collector;
}
