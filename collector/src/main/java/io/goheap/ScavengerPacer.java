package io.goheap;

import io.goheap.scavenger.BackgroundScavenger;
import io.goheap.scavenger.Scavenger;
import java.io.PrintStream;
import java.util.concurrent.locks.Lock;

/**
 * The scavenger's side of the pacer (Go's {@code gcPaceScavenger}) and its trace: after every cycle it gives the
 * {@link BackgroundScavenger} the heap bytes to retain, the smaller of
 * <ul>
 *   <li>the GOGC goal: the heap in use when the cycle ended, scaled by how the heap goal moved (new goal over the
 *       finished cycle's), plus 10% — so RSS follows the heap goal, fragmentation included;</li>
 *   <li>the memory-limit goal: 95% of the limit, less the memory outside the heap (Go keeps mapped memory under
 *       95% of the limit; here the part that is not heap is fixed at the cycle's end).</li>
 * </ul>
 * Neither applies before the first cycle, nor with GOGC off (no heap goal) and no limit.
 *
 * <p>{@code GODEBUG=scavtrace=1} prints Go's line after every cycle and every {@code freeOSMemory}:
 * {@code scav <bg> KiB work (bg), <eager> KiB work (eager), <now> KiB now, <util>% util}, where bg and eager are
 * the bytes released since the previous line by the background scavenger and eagerly (freeOSMemory, memory limit),
 * now is HeapReleased and util the share of retained heap memory in use; {@code (forced)} ends freeOSMemory's line.
 *
 * <p>Thread-safety: {@link #afterCycle} and {@link #trace} are synchronized (the trace's deltas); the background
 * scavenger's goal is volatile.
 */
final class ScavengerPacer {
    static final int RETAIN_EXTRA_PERCENT = 10;
    static final int LIMIT_REDUCE_PERCENT = 5;
    private static final long PAGE = 8192;

    final Scavenger scavenger;
    final BackgroundScavenger background;
    private final boolean traceOn;
    private final PrintStream out;
    private long tracedBackground;
    private long tracedEager;

    /** {@code exclusion}: held around each background slice (the cycle lock with hard decommit), or null. */
    ScavengerPacer(Scavenger scavenger, Lock exclusion, boolean trace, PrintStream out) {
        this.scavenger = scavenger;
        this.background = new BackgroundScavenger(scavenger, exclusion, "goheap-scavenger");
        this.traceOn = trace;
        this.out = out;
    }

    /** The GOGC part of the retain goal; Long.MAX_VALUE when there is none. */
    static long gcPercentGoal(long heapInUse, long newGoal, long lastGoal) {
        if (lastGoal <= 0 || lastGoal == Long.MAX_VALUE || newGoal == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        double goal = (double) heapInUse * ((double) newGoal / lastGoal);
        goal += goal * RETAIN_EXTRA_PERCENT / 100;
        if (goal >= Long.MAX_VALUE / 2) {
            return Long.MAX_VALUE;
        }
        return ((long) Math.ceil(goal) + PAGE - 1) & -PAGE;
    }

    /** The memory-limit part of the retain goal: 95% of the limit less the non-heap memory; MAX when no limit. */
    static long memoryLimitGoal(long limit, long nonHeap) {
        if (limit == Long.MAX_VALUE) {
            return Long.MAX_VALUE;
        }
        long goal = (long) (limit * ((100.0 - LIMIT_REDUCE_PERCENT) / 100)) - nonHeap;
        return Math.max(0, goal);
    }

    /** After a cycle (or a new limit): sets the background scavenger's goal. */
    synchronized void afterCycle(long heapInUse, long newGoal, long lastGoal, long limit, long nonHeap) {
        long goal = Math.min(gcPercentGoal(heapInUse, newGoal, lastGoal), memoryLimitGoal(limit, nonHeap));
        background.setGoal(goal);
    }

    /** Prints the scavtrace line when on. */
    synchronized void trace(long heapInUse, long heapRetained, long heapReleased, boolean forced) {
        if (!traceOn) {
            return;
        }
        long bg = scavenger.releasedBackgroundBytes();
        long eager = scavenger.releasedEagerBytes();
        out.println(line(bg - tracedBackground, eager - tracedEager, heapReleased, heapInUse, heapRetained, forced));
        tracedBackground = bg;
        tracedEager = eager;
    }

    /** Go's scavtrace line (see the class comment). */
    static String line(long bg, long eager, long released, long heapInUse, long heapRetained, boolean forced) {
        long util = heapRetained <= 0 ? 0 : heapInUse * 100 / heapRetained;
        return "scav " + (bg >> 10) + " KiB work (bg), " + (eager >> 10) + " KiB work (eager), " + (released >> 10)
                + " KiB now, " + util + "% util" + (forced ? " (forced)" : "");
    }
}
