package io.goheap;

/**
 * The heap goal a memory limit sets (Go's {@code memoryLimitHeapGoal}): the limit, minus the memory that is not
 * heap objects (metadata, fragmentation inside spans: everything mapped and ready that is neither an allocated
 * object nor a free heap page), minus any amount by which mapped memory already exceeds the limit (free pages the
 * scavenger has not released yet), minus a headroom of 3% (at least 1 MiB) so the collector finishes before the
 * limit is reached; never below the live heap, since a goal under it only makes the collector run without end.
 * Pure functions.
 */
final class MemoryLimitGoal {
    static final long MIN_HEADROOM = 1L << 20;
    static final int HEADROOM_PERCENT = 3;

    private MemoryLimitGoal() {
    }

    /**
     * @param limit       the memory limit (Long.MAX_VALUE: none, and so is the goal)
     * @param mappedReady memory mapped and usable: Sys − HeapReleased
     * @param heapFree    free heap pages not released: HeapIdle − HeapReleased
     * @param heapAlloc   bytes of allocated objects
     * @param heapMarked  the live heap the last cycle found
     */
    static long of(long limit, long mappedReady, long heapFree, long heapAlloc, long heapMarked) {
        if (limit == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        long nonHeap = Math.max(0, mappedReady - heapFree - heapAlloc);
        long overage = Math.max(0, mappedReady - limit);
        if (nonHeap + overage >= limit) {
            return heapMarked;
        }
        long goal = limit - (nonHeap + overage);
        long headroom = Math.max(goal / 100 * HEADROOM_PERCENT, MIN_HEADROOM);
        goal = goal - headroom < headroom ? headroom : goal - headroom;
        return Math.max(goal, heapMarked);
    }

    /** Memory outside the heap's objects and free pages (metadata, fragmentation): what the limit loses to it. */
    static long nonHeap(io.goheap.allocator.AllocStats s) {
        long mappedReady = s.sys() - s.heapReleased();
        return Math.max(0, mappedReady - (s.heapIdle() - s.heapReleased()) - s.heapAlloc());
    }
}
