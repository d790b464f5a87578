/**
 * The collector and the public facade. Empty so far: the stop-the-world collector, then the concurrent one,
 * are the next milestones (see README). It already fixes the dependency direction: collector → allocator.
 */
module io.goheap.collector {
    requires transitive io.goheap.allocator;
}
