/** Returning free pages to the OS. */
module io.goheap.scavenger {
    requires transitive io.goheap.pagealloc;
    exports io.goheap.scavenger;
}
