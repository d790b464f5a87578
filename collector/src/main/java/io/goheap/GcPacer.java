package io.goheap;

import io.goheap.allocator.AllocStats;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The collector's pacer (Go's {@code mgcpacer}): when the next cycle starts and how much the allocating threads
 * pay toward a mark in progress.
 *
 * <h2>Quantities</h2>
 * <ul>
 *   <li>{@link #heapLive()} (Go's {@code heapLive}): the live bytes the last cycle found, plus the bytes of
 *       collected objects allocated since (added by each Mutator every {@link #TRIGGER_CHECK_BYTES}). Spans that
 *       wait for the background sweeper do not count, so a sweeper that lags does not make the next cycle come
 *       early.</li>
 *   <li>{@link #heapMarked()}: the live heap the last cycle found — marked collected objects plus every manual
 *       object.</li>
 *   <li>The goal: Go's GOGC goal {@code heapMarked × (1 + GOGC/100)}, at least {@code 4 MiB × GOGC/100}, capped by
 *       what the memory limit leaves for the heap ({@link MemoryLimitGoal}) but never below the live heap.
 *       {@code Long.MAX_VALUE} when GOGC is off and there is no limit.</li>
 *   <li>The trigger: {@link #TRIGGER_FRACTION} of the way from the live heap to the goal; the concurrent mark has
 *       the rest of the runway.</li>
 *   <li>The hard goal: 1.1 × the goal, but under a memory limit no further than what the limit leaves for heap
 *       objects; an allocating thread that reaches it during a mark waits for the cycle.</li>
 *   <li>The assist budget: scan work a thread pays per byte it allocates during a mark.</li>
 *   <li>The sweep pace (Go's {@code sweepPagesPerByte}): every page in use at a cycle's end is swept before
 *       heapLive has covered 95% of the distance to the next goal.</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * After every {@link #commit}, {@link #setGcPercent} or {@link #setMemoryLimit}: {@code heapMarked ≤ trigger ≤ goal}
 * (or both {@code Long.MAX_VALUE}), and the goal is the GOGC goal of heapMarked capped by the limit's goal, never
 * below heapMarked.
 *
 * <h2>Locking</h2>
 * The writers ({@link #commit}, {@link #setGcPercent}, {@link #setMemoryLimit}, {@link #refreshLimitRoom}) run
 * under the collector's cycle lock, so they never interleave. Every field is volatile (or atomic: heapLive,
 * which every allocating thread adds to): readers on any thread see each value whole, though not necessarily the
 * goal and trigger of the same commit — a reader that sees a new goal with the previous trigger starts a cycle
 * a little early or late, never unsoundly.
 */
final class GcPacer {
    static final long HEAP_MINIMUM = 4L << 20;
    static final long TRIGGER_CHECK_BYTES = 64L << 10;
    static final double TRIGGER_FRACTION = 0.7;
    /** While the CPU limiter is on, allocating threads wait for a cycle only at this multiple of the hard goal. */
    static final long LIMITED_OVERSHOOT = 2;

    private volatile int gcPercent;
    private volatile long goal;
    private volatile long trigger;
    private final AtomicLong heapLive = new AtomicLong();
    private volatile long heapMarked;
    /** Bytes of pointer slots the last concurrent mark scanned (Go's scan work): what assists pay toward. */
    private volatile long lastScanWork = 4L << 20;
    /** heapLive when the current sweep cycle began, and the pages to sweep per byte allocated since (Go's). */
    private volatile long sweepBasis;
    private volatile double sweepPagesPerByte;

    /** GOMEMLIMIT in bytes; Long.MAX_VALUE when none. */
    private volatile long memoryLimit;
    /** The heap goal the limit allows (before the live-heap floor), at the last refresh; MAX when no limit. */
    private volatile long limitHeapRoom = Long.MAX_VALUE;
    /** Memory outside heap objects and free pages at the last refresh (see {@link MemoryLimitGoal#nonHeap}). */
    private volatile long nonHeapBytes;
    /** The heap goal the limit allows when no free page is retained (the death-spiral exit); MAX when no limit. */
    private volatile long limitExitRoom = Long.MAX_VALUE;
    /** What the memory limit leaves for heap objects, before the headroom; MAX when no limit. */
    private volatile long limitHeapCeiling = Long.MAX_VALUE;

    GcPacer(int gcPercent, long memoryLimit) {
        this.gcPercent = gcPercent;
        this.memoryLimit = memoryLimit;
        this.goal = heapGoal(0);
        this.trigger = trigger(0, goal);
    }

    // ------------------------------------------------------------------ readers (any thread)

    int gcPercent() {
        return gcPercent;
    }

    long goal() {
        return goal;
    }

    long trigger() {
        return trigger;
    }

    long heapLive() {
        return heapLive.get();
    }

    long heapMarked() {
        return heapMarked;
    }

    long lastScanWork() {
        return lastScanWork;
    }

    long memoryLimit() {
        return memoryLimit;
    }

    long nonHeapBytes() {
        return nonHeapBytes;
    }

    long limitExitRoom() {
        return limitExitRoom;
    }

    long sweepBasis() {
        return sweepBasis;
    }

    double sweepPagesPerByte() {
        return sweepPagesPerByte;
    }

    /** Adds a Mutator's allocation to heapLive; returns the new heapLive. */
    long addAllocated(long bytes) {
        return heapLive.addAndGet(bytes);
    }

    /** Pages the proportional sweep should have swept when heapLive is {@code live}; 0 when nothing is paced. */
    long sweepTarget(long live) {
        double perByte = sweepPagesPerByte;
        return perByte <= 0 ? 0 : (long) ((live - sweepBasis) * perByte);
    }

    /**
     * Scan work (bytes of pointer slots) an allocation of {@code bytes} pays during a mark with heapLive at
     * {@code live}: the last mark's scan work over the heap still to allocate before the goal (at least 1 MiB
     * of it), at most 64 MiB per call. 0 with no goal (GOGC off: only gc() marks, nothing paces the threads).
     */
    long assistBudget(long bytes, long live) {
        long g = goal;
        if (g == Long.MAX_VALUE) {
            return 0;
        }
        long distance = Math.max(g - live, 1L << 20);
        return (long) Math.min((double) bytes * lastScanWork / distance, 64L << 20);
    }

    /**
     * Go's hard goal for {@code goal}: 1.1 × the goal, but under a memory limit no further than what the limit
     * leaves for the heap (before its headroom), so the limit holds also while a mark runs.
     */
    long hardGoal(long goal) {
        long hard = goal + goal / 10;
        long ceiling = limitHeapCeiling;
        return ceiling == Long.MAX_VALUE ? hard : Math.min(hard, Math.max(goal, ceiling));
    }

    // ------------------------------------------------------------------ writers (under the cycle lock)

    /**
     * A cycle ended having found {@code live} bytes live and scanned {@code scanWork} bytes of pointer slots (0
     * for a stop-the-world cycle: the estimate stays); {@code pagesToSweep} pages wait for sweeping and {@code
     * stats} (null when there is no memory limit) is the allocator's snapshot for the limit's goal. Sets the new
     * goal, trigger and sweep pace.
     */
    void commit(long live, long scanWork, long pagesToSweep, AllocStats stats) {
        heapMarked = live;
        heapLive.set(live);
        if (scanWork > 0) {
            lastScanWork = Math.max(1L << 20, scanWork);
        }
        if (stats != null) {
            refreshLimitRoom(stats);
        }
        long g = heapGoal(live);
        goal = g;
        trigger = trigger(live, g);
        // every page in use now waits for sweeping; sweep them all before heapLive reaches the goal (Go's
        // sweepPagesPerByte, with Go's margin: done by 95% of the distance)
        long distance = Math.max(1, (long) ((g == Long.MAX_VALUE ? live : g - live) * 0.95));
        sweepBasis = live;
        sweepPagesPerByte = (double) pagesToSweep / distance;
    }

    /** Sets GOGC (negative: off) and re-paces from the last live heap; returns the previous value. */
    int setGcPercent(int percent) {
        int previous = gcPercent;
        gcPercent = percent;
        repace();
        return previous;
    }

    /** Sets the memory limit (Long.MAX_VALUE: none) and re-paces from {@code stats}; returns the previous limit. */
    long setMemoryLimit(long limit, AllocStats stats) {
        long previous = memoryLimit;
        memoryLimit = limit;
        refreshLimitRoom(stats);
        repace();
        return previous;
    }

    private void repace() {
        long live = heapMarked;
        long g = heapGoal(live);
        goal = g;
        trigger = trigger(live, g);
    }

    /**
     * Recomputes what the memory limit leaves for the heap from a statistics snapshot (Go evaluates it live; here
     * at every cycle's end and on {@link #setMemoryLimit}).
     */
    void refreshLimitRoom(AllocStats s) {
        nonHeapBytes = MemoryLimitGoal.nonHeap(s);
        long limit = memoryLimit;
        long mappedReady = s.sys() - s.heapReleased();
        limitHeapRoom = limit == Long.MAX_VALUE ? Long.MAX_VALUE
                : MemoryLimitGoal.of(limit, mappedReady, s.heapIdle() - s.heapReleased(), s.heapAlloc(), 0);
        limitHeapCeiling = limit == Long.MAX_VALUE ? Long.MAX_VALUE
                : Math.max(0, limit - nonHeapBytes - Math.max(0, mappedReady - limit));
        // the death-spiral test: what the limit leaves for objects once free pages are released (not the overage
        // of free pages the scavenger has yet to release, which is no reason to refuse an allocation)
        limitExitRoom = limit == Long.MAX_VALUE ? Long.MAX_VALUE
                : MemoryLimitGoal.of(limit, nonHeapBytes + s.heapAlloc(), 0, s.heapAlloc(), 0);
    }

    // ------------------------------------------------------------------ arithmetic

    /** The heap goal for a live heap of {@code live} bytes: the GOGC goal, capped by the memory limit's. */
    long heapGoal(long live) {
        long g = goal(live, gcPercent);
        long room = limitHeapRoom;
        if (room != Long.MAX_VALUE) {
            g = Math.min(g, Math.max(room, live));
        }
        return g;
    }

    /** Where the pacer starts a cycle for a heap of {@code live} bytes and {@code goal}. */
    static long trigger(long live, long goal) {
        return goal == Long.MAX_VALUE ? Long.MAX_VALUE : live + (long) ((goal - live) * TRIGGER_FRACTION);
    }

    /** Go's GOGC goal for {@code live} bytes; Long.MAX_VALUE when off. */
    static long goal(long live, int percent) {
        if (percent < 0) {
            return Long.MAX_VALUE;
        }
        long minimum = HEAP_MINIMUM * percent / 100;
        long goal = live + live / 100 * percent + live % 100 * percent / 100;
        return Math.max(goal, minimum);
    }
}
