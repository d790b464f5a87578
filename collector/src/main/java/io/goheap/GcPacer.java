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
 *   <li>The trigger (Go 1.18+'s): the goal minus the <em>runway</em>, the heap the program allocates while a mark
 *       does the last mark's scan work with 25% of the CPUs — {@code consMark × (1 − 0.25) / 0.25 × scan work} —
 *       kept between {@link #TRIGGER_FRACTION} (0.7) and 0.95 of the way from the live heap to the goal (or the
 *       goal less 4 MiB on a large heap). consMark, the program's allocation rate over the mark's scan rate per
 *       CPU, is measured at each mark's end ({@link #endMark}); the pacer uses the largest of the last
 *       {@link #CONS_MARK_HISTORY} (Go 1.21+'s smoothing: a noisy low sample does not start the next mark late).
 *       While the memory limit sets the goal the trigger stays at 0.7, the earliest Go allows.</li>
 *   <li>The hard goal: 1.1 × the goal, but under a memory limit no further than what the limit leaves for heap
 *       objects; an allocating thread that reaches it during a mark waits for the cycle.</li>
 *   <li>The assist budget (Go's {@code revise}), recomputed at every payment: the scan work still expected this
 *       mark (the last mark's, less what the background workers and assists have done) over the heap still to
 *       allocate before the goal; once the work done passes the estimate, the estimate becomes the last one
 *       scaled by how the heap grew, and the goal moves out in proportion (Go's extrapolated goal, at most its
 *       hard goal); past the goal, toward the hard goal. An assist first takes the background workers' published
 *       work not yet claimed ({@link #assistBudget}: Go's {@code bgScanCredit}) and scans only the rest.
 *       While the memory limit sets the goal, a payment is at least the last mark's whole scan work over the heap
 *       left and takes no credit: a mark paced to end exactly at a goal 3% under the limit let resident memory
 *       reach the limit (fragmentation and free pages not yet released come on top of the heap), where ending the
 *       mark early keeps the margin.</li>
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
 * The writers ({@link #commit}, {@link #setGcPercent}, {@link #setMemoryLimit}, {@link #refreshLimitRoom},
 * {@link #startMark}, {@link #endMark}) run under the collector's cycle lock, so they never interleave. During a
 * mark the scan work done and the background credit are atomic counters any marking thread adds to; the credit
 * is taken by compare-and-set, so two assists never both take the same credit (allowed: an assist reads a work
 * count a slice behind and pays a little more or less; forbidden: credit taken twice, or going negative). Every field is volatile (or atomic: heapLive,
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
    /** Go's gcBackgroundUtilization (and goal utilization): the CPU share the background mark aims at. */
    static final double GOAL_UTILIZATION = 0.25;
    /** The latest trigger: this far from the live heap to the goal (Go's maxTriggerRatio). */
    static final double MAX_TRIGGER_FRACTION = 0.95;
    /** The cons/mark samples the pacer keeps (Go 1.21+: 4). */
    static final int CONS_MARK_HISTORY = 4;
    /** The least scan work an assist budget assumes is left (Go's: a mark that aims a little high misses a little). */
    static final long MIN_REMAINING_SCAN = 1000;
    /** The most scan work one payment asks for, and the least heap distance it divides by. */
    static final long MAX_PAYMENT_SCAN = 64L << 20;
    static final long MIN_ASSIST_DISTANCE = 64L << 10;

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

    // ---- the mark in progress (startMark resets them) ----
    /** Scan work (bytes of pointer slots) the background workers have published this mark. */
    private final AtomicLong backgroundWork = new AtomicLong();
    /** The background workers' published work no assist has claimed yet (Go's bgScanCredit). */
    private final AtomicLong backgroundCredit = new AtomicLong();
    /** heapLive when this mark began (Go's {@code triggered}), the basis of its cons/mark. */
    private volatile long markStartLive;
    /** The last mark's scan work and heapMarked, fixed for this mark (revise's estimate). */
    private volatile long markExpectedScan = 4L << 20;

    // ---- cons/mark (under the cycle lock) ----
    private final double[] consMarkHistory = new double[CONS_MARK_HISTORY];
    private int consMarkSamples;
    /** The largest recent cons/mark; 0 before the first measured mark (the trigger then stays at 0.7). */
    private volatile double consMark;
    /** Whether the memory limit, not GOGC, set the current goal (see the class comment). */
    private volatile boolean limitSetsGoal;

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
     * The scan work (bytes of pointer slots) an allocation of {@code bytes} still owes during a mark, with heapLive
     * at {@code live} and {@code assistWork} bytes scanned by assists so far this mark: {@link #assistWorkPerByte}
     * × bytes, at most {@link #MAX_PAYMENT_SCAN}, less the background credit it takes (Go's bgScanCredit). 0 with no
     * goal (GOGC off: only gc() marks, and nothing paces the threads).
     */
    long assistBudget(long bytes, long live, long assistWork) {
        long g = goal;
        if (g == Long.MAX_VALUE) {
            return 0;
        }
        double perByte = assistWorkPerByte(live, backgroundWork.get() + assistWork, g);
        if (limitSetsGoal) {
            // the memory limit's margin first: at least the last mark's whole scan work over the heap left, and no
            // credit, so the mark ends before the goal rather than at it (see the class comment)
            perByte = Math.max(perByte, (double) markExpectedScan / Math.max(g - live, 1L << 20));
            return (long) Math.min(bytes * perByte, MAX_PAYMENT_SCAN);
        }
        long owed = (long) Math.min(bytes * perByte, MAX_PAYMENT_SCAN);
        return owed - takeCredit(owed);
    }

    /** Takes up to {@code owed} bytes of the background credit; returns what it took. */
    long takeCredit(long owed) {
        for (;;) {
            long credit = backgroundCredit.get();
            long taken = Math.min(credit, owed);
            if (taken <= 0 || backgroundCredit.compareAndSet(credit, credit - taken)) {
                return Math.max(0, taken);
            }
        }
    }

    /** Go's revise for this pacer's state: see {@link #assistWorkPerByte(long, long, long, long, long, long, long)}. */
    private double assistWorkPerByte(long live, long workDone, long g) {
        return assistWorkPerByte(live, workDone, g, markExpectedScan, markStartLive, heapMarked, hardGoal(g));
    }

    /**
     * Go's {@code revise}: the scan work an assist does per byte allocated so that the mark's remaining work is
     * done when heapLive reaches the goal. {@code live}: heapLive now; {@code workDone}: scan work done this mark;
     * {@code goal}; {@code expected}: the last mark's scan work; {@code startLive}: heapLive when the mark began;
     * {@code marked}: the last live heap; {@code hard}: the hard goal. When the work done passes the estimate, the
     * heap grew: the estimate becomes the worst case (the last scan work scaled by startLive / marked) and the goal
     * moves out in the same proportion, at most to the hard goal; past the goal, the rest is paced to the hard goal.
     */
    static double assistWorkPerByte(long live, long workDone, long goal, long expected, long startLive, long marked,
                                    long hard) {
        long target = goal;
        long worst = marked > 0 && startLive > marked ? (long) ((double) expected * startLive / marked) : expected;
        if (workDone > expected && expected > 0) {
            long from = Math.min(startLive, goal);
            long extended = from + (long) ((double) (goal - from) / expected * worst);
            target = Math.min(Math.max(extended, goal), hard);
            expected = worst;
        }
        if (live > target) {
            target = hard;
            expected = worst;
        }
        long remaining = Math.max(expected - workDone, MIN_REMAINING_SCAN);
        long distance = Math.max(target - live, MIN_ASSIST_DISTANCE);
        return (double) remaining / distance;
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
        trigger = pacedTrigger(live, g);
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
        trigger = pacedTrigger(live, g);
    }

    /**
     * The trigger for {@code live} bytes and {@code goal} from the measured cons/mark (see the class comment):
     * {@link #trigger} (0.7 of the way) when none is measured yet or the memory limit sets the goal.
     */
    private long pacedTrigger(long live, long goal) {
        long earliest = trigger(live, goal);
        limitSetsGoal = goal < goal(live, gcPercent);
        if (goal == Long.MAX_VALUE || consMark <= 0 || limitSetsGoal) {
            return earliest;
        }
        return runwayTrigger(live, goal, consMark, lastScanWork);
    }

    /**
     * Go's trigger for a heap of {@code live} bytes, {@code goal}, cons/mark {@code consMark} and an expected
     * scan work of {@code scanWork} bytes: the goal less the runway, kept between 0.7 and 0.95 of the way from
     * live to goal (or the goal less 4 MiB, when that is later).
     */
    static long runwayTrigger(long live, long goal, double consMark, long scanWork) {
        if (goal == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        if (live >= goal) {
            return goal;
        }
        long earliest = trigger(live, goal);
        long latest = live + (long) ((goal - live) * MAX_TRIGGER_FRACTION);
        if (goal > HEAP_MINIMUM && goal - HEAP_MINIMUM > latest) {
            latest = goal - HEAP_MINIMUM;
        }
        latest = Math.max(latest, earliest);
        double runway = consMark * (1 - GOAL_UTILIZATION) / GOAL_UTILIZATION * scanWork;
        long t = runway >= goal ? earliest : goal - (long) runway;
        return Math.min(Math.max(t, earliest), latest);
    }

    // ------------------------------------------------------------------ the mark (Go's revise and credit)

    /** A concurrent mark begins (before assists may scan): the work counters restart from heapLive now. */
    void startMark() {
        backgroundWork.set(0);
        backgroundCredit.set(0);
        markStartLive = heapLive.get();
        markExpectedScan = lastScanWork;
    }

    /** A background worker published {@code scanWork} bytes of scan work: it counts as done, and as credit. */
    void addBackgroundWork(long scanWork) {
        if (scanWork > 0) {
            backgroundWork.addAndGet(scanWork);
            backgroundCredit.addAndGet(scanWork);
        }
    }

    /** Scan work the background workers have published this mark. */
    long backgroundWork() {
        return backgroundWork.get();
    }

    /**
     * A mark ended: measures this mark's cons/mark (Go's endCycle) from heapLive at its end, its scan work, its
     * duration with assists on, the assists' and idle workers' time and GOMAXPROCS, and keeps the largest of the
     * last {@link #CONS_MARK_HISTORY}. A mark with no allocation or no scan work measures nothing.
     */
    void endMark(long liveAtEnd, long scanWork, long markNanos, long assistNanos, long idleNanos, int procs) {
        double sample = consMark(liveAtEnd - markStartLive, scanWork, markNanos, assistNanos, idleNanos, procs);
        if (Double.isNaN(sample)) {
            return;
        }
        consMarkHistory[consMarkSamples++ % CONS_MARK_HISTORY] = sample;
        double max = 0;
        for (int i = 0; i < Math.min(consMarkSamples, CONS_MARK_HISTORY); i++) {
            max = Math.max(max, consMarkHistory[i]);
        }
        consMark = max;
    }

    /** The cons/mark the trigger uses now (0: none measured). */
    double consMark() {
        return consMark;
    }

    /**
     * One mark's cons/mark (Go's): the bytes allocated during it per CPU the program had, over the bytes scanned
     * per CPU the collector had — {@code allocated × (u + idle) / (scanWork × (1 − u))}, where u is the goal
     * utilization plus the assists' share of the CPUs and idle the idle workers' share. NaN when it measures
     * nothing (no allocation, no scan work or no time).
     */
    static double consMark(long allocated, long scanWork, long markNanos, long assistNanos, long idleNanos,
                           int procs) {
        if (allocated <= 0 || scanWork <= 0 || markNanos <= 0) {
            return Double.NaN;
        }
        double cpu = (double) markNanos * procs;
        double u = Math.min(0.95, GOAL_UTILIZATION + assistNanos / cpu);
        double idle = idleNanos / cpu;
        return allocated * (u + idle) / (scanWork * (1 - u));
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
