package io.goheap;

/**
 * Told when a measure of memory crosses a fraction of the memory limit (see {@link Heap#addMemoryPressureListener}).
 * Called on the heap's pressure thread ({@code goheap-pressure}), one event at a time, never on an allocating thread
 * and never under a heap lock: it may allocate, free, collect or change the limit. An exception it throws is
 * logged as a warning (logger {@code io.goheap.MemoryPressure}) and does not stop later events.
 */
@FunctionalInterface
public interface MemoryPressureListener {
    /**
     * Called once when the measure rises to the listener's fraction of the limit, and once when it falls below it
     * less the hysteresis.
     *
     * @param event what crossed, which way, and the figures
     */
    void onMemoryPressure(MemoryPressureEvent event);
}
