package io.goheap;

/**
 * Go's {@code GODEBUG=gctrace=1} line, in Go's exact format, so it reads (and parses) as Go's:
 * {@code gc # @#s #%: #+#+# ms clock, #+#/#/#+# ms cpu, #->#-># MB, # MB goal, # MB stacks, # MB globals, # P}
 * and {@code (forced)} for an explicit collection. The three clock phases are Go's: the first pause (sweep
 * termination and mark setup), the mark (concurrent; with {@code gcstoptheworld=1}, with the world stopped), the
 * second pause (mark termination). The CPU column counts the pauses on every P, and the mark's CPU as Go's
 * assist/background/idle split: assists (the Mutators' time in them), then the mark workers' measured CPU time
 * split between background (dedicated and fractional workers) and idle marking in proportion to the wall time each
 * mode marked (see {@link BackgroundMarkWorkers}); with the world stopped, the mark's wall time is background.
 * Stateless.
 */
final class GcTrace {
    private GcTrace() {
    }

    static String line(int gc, long sinceStartNanos, double cpuFraction, long stopNanos, long markNanos,
                       long endNanos, int procs, long heap0, long heap1, long live, long goal, boolean forced) {
        return line(gc, sinceStartNanos, cpuFraction, stopNanos, stopNanos * procs, markNanos, 0, markNanos, 0,
                endNanos, procs, heap0, heap1, live, goal, forced);
    }

    /**
     * As above, for a concurrent cycle: its setup's wall time and CPU time apart (handshakes, run by one thread while
     * the others go on), the mark's CPU time apart from its wall time: assists, background workers, idle workers.
     */
    static String line(int gc, long sinceStartNanos, double cpuFraction, long setupNanos, long setupCpuNanos,
                       long markNanos, long assistNanos, long markCpuNanos, long idleCpuNanos, long endNanos,
                       int procs, long heap0,
                       long heap1, long live, long goal, boolean forced) {
        StringBuilder b = new StringBuilder();
        b.append("gc ").append(gc).append(" @").append(itoaDiv(sinceStartNanos / 1_000_000, 3)).append("s ")
                .append((int) (cpuFraction * 100)).append("%: ")
                .append(ms(setupNanos)).append('+').append(ms(markNanos)).append('+').append(ms(endNanos))
                .append(" ms clock, ")
                .append(ms(setupCpuNanos)).append('+').append(ms(assistNanos)).append('/').append(ms(markCpuNanos))
                .append('/').append(ms(idleCpuNanos)).append('+').append(ms(endNanos * procs)).append(" ms cpu, ")
                .append(heap0 >> 20).append("->").append(heap1 >> 20).append("->").append(live >> 20).append(" MB, ")
                .append(goal == Long.MAX_VALUE ? 0 : goal >> 20).append(" MB goal, 0 MB stacks, 0 MB globals, ")
                .append(procs).append(" P");
        if (forced) {
            b.append(" (forced)");
        }
        return b.toString();
    }

    /**
     * gcpacertrace's line at a mark's start, as Go's {@code startCycle} prints it: the assist ratio (scan bytes owed
     * per byte allocated), the scan work expected, the heap at the trigger and the goal (MB), and the mark workers —
     * dedicated, then the fractional utilization goal (see {@link MarkUtilization}).
     */
    static String pacerStart(double assistRatio, long scanExpected, long liveAtStart, long goal, int dedicated,
                             double fractional) {
        return "pacer: assist ratio=" + goFloat(assistRatio) + " (scan " + (scanExpected >> 20) + " MB in "
                + (liveAtStart >> 20) + "->" + (goal == Long.MAX_VALUE ? 0 : goal >> 20) + " MB) workers="
                + dedicated + "+" + goFloat(fractional);
    }

    /**
     * gcpacertrace's line at a mark's end, as Go's {@code endCycle} prints it: the mark's CPU utilization and the
     * expected one (%), the scan work done — heap, local frames (Go's stacks), global roots — and expected (bytes),
     * the heap at the trigger and at the end (bytes), the distance to the goal, and the cons/mark ratio (bytes
     * allocated per byte scanned, scaled by the utilization, as Go's).
     */
    static String pacerEnd(double utilization, int expectedPercent, long heapScan, long frameScan, long rootScan,
                           long scanExpected, long triggered, long live, long goal) {
        double consMark = heapScan <= 0 || utilization >= 1 ? 0
                : (double) (live - triggered) * utilization / ((double) heapScan * (1 - utilization));
        long deltaGoal = goal == Long.MAX_VALUE ? 0 : live - goal;
        return "pacer: " + (int) (utilization * 100) + "% CPU (" + expectedPercent + " exp.) for " + heapScan + "+"
                + frameScan + "+" + rootScan + " B work (" + scanExpected + " B exp.) in " + triggered + " B -> "
                + live + " B (\u2206goal " + deltaGoal + ", cons/mark " + goFloat(consMark) + ")";
    }

    /**
     * gcstoptrace's line for one stop of the world or handshake ({@code what}): how long it waited in all, and the
     * P and thread it waited for longest — the thread whose next poll came last — or that it waited for no running
     * thread (every P idle, parked or the caller's).
     */
    static String safepointWait(String what, io.goheap.allocator.SafepointWait w) {
        if (w.slowestP() < 0) {
            return String.format("gcstop: %s %.3f ms; waited for no running thread", what, w.totalNanos() / 1e6);
        }
        return String.format("gcstop: %s %.3f ms; slowest P%d %.3f ms, held by \"%s\"", what, w.totalNanos() / 1e6,
                w.slowestP(), w.slowestNanos() / 1e6, w.slowestHolder());
    }

    /** gcpacertrace's line when a cycle's sweep is done, as Go's {@code sweepone} prints it. */
    static String pacerSweepDone(long live, long allocatedDuringSweep, long pagesSwept, double pagesPerByte) {
        return "pacer: sweep done at heap size " + (live >> 20) + "MB; allocated " + (Math.max(0, allocatedDuringSweep) >> 20)
                + "MB during sweep; swept " + pagesSwept + " pages at " + goFloat(pagesPerByte) + " pages/byte";
    }

    /**
     * A float64 as Go's runtime {@code print} writes it: sign, one digit, six decimals, {@code e}, signed
     * three-digit exponent ({@code +1.232155e+000}); {@code NaN}, {@code +Inf}, {@code -Inf}.
     */
    static String goFloat(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        String sign = v < 0 || (v == 0 && 1 / v < 0) ? "-" : "+";
        String s = String.format(java.util.Locale.ROOT, "%.6e", Math.abs(v));
        int e = s.indexOf('e');
        int exp = Integer.parseInt(s.substring(e + 1));
        return sign + s.substring(0, e) + "e" + (exp < 0 ? "-" : "+") + String.format(java.util.Locale.ROOT, "%03d", Math.abs(exp));
    }

    /** Go's fmtNSAsMS: whole milliseconds from 10 ms on, else two significant digits of the microseconds. */
    static String ms(long ns) {
        if (ns >= 10_000_000) {
            return Long.toString(ns / 1_000_000);
        }
        long x = ns / 1_000;
        if (x == 0) {
            return "0";
        }
        int dec = 3;
        while (x >= 100) {
            x /= 10;
            dec--;
        }
        return itoaDiv(x, dec);
    }

    /** Go's itoaDiv: {@code x} with a decimal point {@code dec} digits from the right. */
    static String itoaDiv(long x, int dec) {
        String digits = Long.toString(x);
        if (dec == 0) {
            return digits;
        }
        while (digits.length() <= dec) {
            digits = "0" + digits;
        }
        return digits.substring(0, digits.length() - dec) + "." + digits.substring(digits.length() - dec);
    }
}
