package io.goheap;

/**
 * One name of {@link Heap#readMetrics()}, as Go's {@code runtime/metrics.Description}: the name (path, colon, unit),
 * what it measures, the kind of its value and whether it only grows. Listed by {@link Heap#metricDescriptions()}.
 *
 * @param name        Go's form, {@code /path/to/it:unit}, e.g. {@code /gc/heap/goal:bytes}
 * @param description what the value measures, one sentence
 * @param kind        {@link Kind#UINT64}: the value is a {@link Long}; {@link Kind#FLOAT64}: a {@link Double}
 * @param cumulative  true when the value only grows over the heap's life (a counter: allocated bytes, cycles, CPU
 *                    seconds); false for a level that goes up and down (a gauge)
 */
public record MetricDescription(String name, String description, Kind kind, boolean cumulative) {
    /** Go's {@code metrics.ValueKind}, less the histogram ({@link Heap#readPauseHistogram()} is goheap's one). */
    public enum Kind {
        /**
         * A {@link Long} (Go's {@code KindUint64}): never negative, except {@code /gc/gogc:percent}, which is -1
         * while automatic collection is off.
         */
        UINT64,
        /** A {@link Double} (Go's {@code KindFloat64}). */
        FLOAT64
    }
}
