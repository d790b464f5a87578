/**
 * Micrometer meters for goheap heaps: {@link io.goheap.micrometer.GoheapMetrics}. Optional: only this module
 * depends on Micrometer.
 */
module io.goheap.micrometer {
    requires transitive io.goheap.collector;
    requires transitive micrometer.core;
    requires java.management;
    exports io.goheap.micrometer;
}
