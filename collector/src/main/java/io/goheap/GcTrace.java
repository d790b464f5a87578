package io.goheap;

/**
 * Go's {@code GODEBUG=gctrace=1} line, in Go's exact format, so it reads (and parses) as Go's:
 * {@code gc # @#s #%: #+#+# ms clock, #+#/#/#+# ms cpu, #->#-># MB, # MB goal, # MB stacks, # MB globals, # P}
 * and {@code (forced)} for an explicit collection. The three clock phases are Go's: the first pause (sweep
 * termination and mark setup), the mark (concurrent; with {@code gcstoptheworld=1}, with the world stopped), the
 * second pause (mark termination). The CPU column counts the pauses on every P, and the mark's CPU as Go's
 * assist/background/idle split: assists (the Mutators' time in them), the background thread's measured CPU time
 * (or the mark's wall time when the world is stopped), and no idle workers yet. Stateless.
 */
final class GcTrace {
    private GcTrace() {
    }

    static String line(int gc, long sinceStartNanos, double cpuFraction, long stopNanos, long markNanos,
                       long endNanos, int procs, long heap0, long heap1, long live, long goal, boolean forced) {
        return line(gc, sinceStartNanos, cpuFraction, stopNanos, markNanos, 0, markNanos, endNanos, procs, heap0,
                heap1, live, goal, forced);
    }

    /** As above, with the mark's CPU time apart from its wall time (a concurrent mark), assists apart. */
    static String line(int gc, long sinceStartNanos, double cpuFraction, long stopNanos, long markNanos,
                       long assistNanos, long markCpuNanos, long endNanos, int procs, long heap0, long heap1,
                       long live, long goal, boolean forced) {
        StringBuilder b = new StringBuilder();
        b.append("gc ").append(gc).append(" @").append(itoaDiv(sinceStartNanos / 1_000_000, 3)).append("s ")
                .append((int) (cpuFraction * 100)).append("%: ")
                .append(ms(stopNanos)).append('+').append(ms(markNanos)).append('+').append(ms(endNanos))
                .append(" ms clock, ")
                .append(ms(stopNanos * procs)).append('+').append(ms(assistNanos)).append('/').append(ms(markCpuNanos))
                .append('/').append(ms(0)).append('+').append(ms(endNanos * procs)).append(" ms cpu, ")
                .append(heap0 >> 20).append("->").append(heap1 >> 20).append("->").append(live >> 20).append(" MB, ")
                .append(goal == Long.MAX_VALUE ? 0 : goal >> 20).append(" MB goal, 0 MB stacks, 0 MB globals, ")
                .append(procs).append(" P");
        if (forced) {
            b.append(" (forced)");
        }
        return b.toString();
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
