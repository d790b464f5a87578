package io.goheap;

import java.util.Map;

/**
 * The management interface of one {@link Heap}, registered in the platform MBean server under
 * {@code io.goheap:type=Heap,name=<heap name>} (see {@link Heap.Builder#jmx(boolean)}), so JConsole, VisualVM,
 * {@code jcmd} and JMX exporters see it. Every attribute comes from {@link Heap#readMetrics()}, which never stops
 * the world: reading them does not pause the heap's threads. Beside it, {@code io.goheap:type=GarbageCollector,
 * name=<heap name>} is a {@link java.lang.management.GarbageCollectorMXBean} with a notification at each cycle's end.
 *
 * <p>After the heap is closed every attribute and operation throws {@link IllegalStateException} (the beans are
 * unregistered by {@link Heap#close()}; a client may still hold their names for a moment).
 */
public interface HeapMXBean {
    /** {@return the heap's name ({@link Heap#name()})} */
    String getName();

    /** {@return bytes of allocated objects, live and not yet swept ({@code /memory/classes/heap/objects:bytes})} */
    long getHeapObjectsBytes();

    /** {@return bytes of spans in use that hold no object ({@code /memory/classes/heap/unused:bytes})} */
    long getHeapUnusedBytes();

    /** {@return free heap memory the OS still backs ({@code /memory/classes/heap/free:bytes})} */
    long getHeapFreeBytes();

    /** {@return free heap memory returned to the OS ({@code /memory/classes/heap/released:bytes})} */
    long getHeapReleasedBytes();

    /** {@return all memory the heap maps or keeps, metadata included ({@code /memory/classes/total:bytes})} */
    long getTotalBytes();

    /** {@return objects allocated and not yet freed or swept ({@code /gc/heap/objects:objects})} */
    long getObjects();

    /** {@return bytes allocated since the heap was built ({@code /gc/heap/allocs:bytes})} */
    long getAllocatedBytes();

    /** {@return the pacer's heap goal ({@code /gc/heap/goal:bytes}; Long.MAX_VALUE when none)} */
    long getHeapGoalBytes();

    /** {@return the live heap the last cycle found ({@code /gc/heap/live:bytes})} */
    long getLiveHeapBytes();

    /** {@return completed collection cycles ({@code /gc/cycles/total:gc-cycles})} */
    long getCycles();

    /** {@return gOGC; -1 when automatic collection is off} */
    long getGcPercent();

    /** {@return the soft memory limit (Long.MAX_VALUE: none)} */
    long getMemoryLimit();

    /** {@return every value of {@link Heap#readMetrics()}, by Go's name, as doubles} */
    Map<String, Double> getMetrics();

    /** Runs a full collection and waits for it ({@link Heap#gc()}). */
    void gc();

    /**
     * Returns every free page to the OS ({@link Heap#freeOSMemory()}).
     *
     * @return the bytes released
     */
    long freeOSMemory();
}
