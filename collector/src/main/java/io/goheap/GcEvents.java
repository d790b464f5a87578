package io.goheap;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * goheap's JDK Flight Recorder events, category "goheap", named {@code io.goheap.*} (enable them all with the
 * {@code goheap.jfc} settings file shipped in this module, or by name). Each is committed where it happens, only
 * when a recording has it enabled ({@code shouldCommit()}), so a JVM without a recording pays one check per event.
 * <ul>
 *   <li>{@code io.goheap.GcCycle}: each completed cycle (phases, pause, heap before and after, goal, CPU split);</li>
 * </ul>
 * Stateless; any thread.
 */
final class GcEvents {
    private GcEvents() {
    }

    /** Commits a {@link CycleEvent} for {@code c} if a recording wants it. On the cycle's thread. */
    static void cycle(GcCycleSummary c) {
        CycleEvent e = new CycleEvent();
        if (!e.shouldCommit()) {
            return;
        }
        e.heap = c.heap();
        e.number = c.number();
        e.forced = c.forced();
        e.stopTheWorld = c.stopTheWorld();
        e.cycleDuration = c.durationNanos();
        e.sweepTermination = c.sweepTerminationNanos();
        e.markSetup = c.markSetupNanos();
        e.mark = c.markNanos();
        e.markTermination = c.markTerminationNanos();
        e.pause = c.pauseNanos();
        e.heapBefore = c.heapBeforeBytes();
        e.heapAfter = c.heapAfterBytes();
        e.goal = c.goalBytes();
        e.nextGoal = c.nextGoalBytes();
        e.assistCpu = c.assistCpuNanos();
        e.backgroundCpu = c.backgroundCpuNanos();
        e.idleCpu = c.idleCpuNanos();
        e.gcCpu = c.gcCpuNanos();
        e.commit();
    }

    @Name("io.goheap.GcCycle")
    @Label("goheap GC Cycle")
    @Category("goheap")
    @Description("A completed collection cycle of a goheap heap")
    @StackTrace(false)
    static final class CycleEvent extends Event {
        @Label("Heap") String heap;
        @Label("Cycle") long number;
        @Label("Forced") boolean forced;
        @Label("Stop The World") @Description("Marked with the world stopped (GODEBUG=gcstoptheworld=1)") boolean stopTheWorld;
        @Label("Cycle Duration") @Timespan long cycleDuration;
        @Label("Sweep Termination") @Timespan long sweepTermination;
        @Label("Mark Setup") @Timespan long markSetup;
        @Label("Mark") @Timespan long mark;
        @Label("Mark Termination") @Timespan long markTermination;
        @Label("Pause") @Description("Stop of the world plus the longest handshake step") @Timespan long pause;
        @Label("Heap Before") @DataAmount long heapBefore;
        @Label("Heap After") @Description("Live heap found by the mark") @DataAmount long heapAfter;
        @Label("Goal") @DataAmount long goal;
        @Label("Next Goal") @DataAmount long nextGoal;
        @Label("Assist CPU") @Timespan long assistCpu;
        @Label("Background Worker CPU") @Timespan long backgroundCpu;
        @Label("Idle Worker CPU") @Timespan long idleCpu;
        @Label("GC CPU") @Description("All of the cycle's CPU, pauses counted on every P") @Timespan long gcCpu;
    }
}
