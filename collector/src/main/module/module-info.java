/**
 * goheap's public API, package {@code io.goheap}: the heap and its builder, mutators, object types from FFM layouts,
 * roots, pinning, finalizers and cleanups, statistics and the memory limit; and Go's concurrent mark-sweep collector
 * behind it. The packages of the modules below are exported to goheap's own modules only. Dependencies point down
 * only: collector → allocator.
 */
module io.goheap.collector {
    requires transitive io.goheap.allocator;
    requires java.management;              // ThreadMXBean for the mark's CPU; the heap's MXBeans (HeapManagement)
    requires jdk.jfr;                      // the heap's flight-recorder events (GcEvents)
    exports io.goheap;
}
