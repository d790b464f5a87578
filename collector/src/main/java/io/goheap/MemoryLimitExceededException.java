package io.goheap;

/**
 * Thrown by an allocation when the heap has been in a death spiral for the time the heap was built to tolerate
 * ({@link Heap.Builder#memoryLimitExit}): the live heap alone fills what the memory limit leaves for it, and the
 * GC CPU limiter has been saturated — the collector has been using about half of the CPU, cycle after cycle,
 * without freeing anything — for at least that long. Go keeps collecting in this state (golang/go #58106); this
 * exception lets the program shed data instead. The heap stays usable: free objects, drop roots, or raise the limit
 * ({@link Heap#setMemoryLimit}), and once a cycle finds the live heap under the limit's room allocation succeeds
 * again. Nothing was allocated by the failed call.
 */
public final class MemoryLimitExceededException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The live heap the last cycle found, in bytes. */
    private final long liveBytes;
    /** The memory limit, in bytes. */
    private final long memoryLimit;
    /** What the limit leaves for heap objects, in bytes. */
    private final long heapRoom;
    /** How long the GC CPU limiter had been saturated, in nanoseconds. */
    private final long saturatedNanos;

    MemoryLimitExceededException(long liveBytes, long memoryLimit, long heapRoom, long saturatedNanos) {
        super(String.format("goheap: live heap of %d MiB fills the %d MiB the memory limit of %d MiB leaves for the "
                        + "heap, and the GC CPU limiter has been saturated for %d ms: allocation refused "
                        + "(free memory or raise the limit to go on)",
                liveBytes >> 20, heapRoom >> 20, memoryLimit >> 20, saturatedNanos / 1_000_000));
        this.liveBytes = liveBytes;
        this.memoryLimit = memoryLimit;
        this.heapRoom = heapRoom;
        this.saturatedNanos = saturatedNanos;
    }

    /** {@return the live heap the last cycle found, in bytes} */
    public long liveBytes() {
        return liveBytes;
    }

    /** {@return the memory limit in bytes} */
    public long memoryLimit() {
        return memoryLimit;
    }

    /** {@return what the limit leaves for heap objects: the limit less non-heap memory and headroom} */
    public long heapRoom() {
        return heapRoom;
    }

    /** {@return how long the GC CPU limiter had been saturated, in nanoseconds} */
    public long saturatedNanos() {
        return saturatedNanos;
    }
}
