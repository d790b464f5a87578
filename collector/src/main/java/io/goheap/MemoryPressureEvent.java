package io.goheap;

/**
 * A crossing of a memory-pressure threshold (see {@link Heap#addMemoryPressureListener}).
 *
 * @param measure   what crossed: the live heap the last cycle found, or the process's resident set
 * @param fraction  the threshold, as a fraction of the memory limit
 * @param rising    true when the measure rose to the threshold or above, false when it fell below the threshold
 *                  less its hysteresis
 * @param bytes     the measure's value when the crossing was seen
 * @param limit     the memory limit then
 */
public record MemoryPressureEvent(Measure measure, double fraction, boolean rising, long bytes, long limit) {

    /** What a pressure listener watches. */
    public enum Measure {
        /** The live heap the last collection found (marked objects plus manual ones). */
        LIVE_HEAP,
        /** The whole process's resident set ({@code Rss} of {@code /proc/self/smaps_rollup}). */
        RSS
    }
}
