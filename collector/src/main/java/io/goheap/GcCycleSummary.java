package io.goheap;

/**
 * What one completed collection cycle did, published by the collector at the cycle's end to the heap's observers
 * (its JMX collector bean, its JFR event): when it ran, its phases, its pause, the heap before and after it, the goal
 * and the CPU each kind of marker used. Immutable.
 *
 * <p>Phases of a concurrent cycle: sweep termination (world running), mark setup (handshakes), concurrent mark,
 * mark termination (world stopped). Of a stop-the-world cycle ({@code GODEBUG=gcstoptheworld=1}): the stop as
 * "sweep termination", no setup, the whole mark as "mark", the restart as "termination".
 *
 * @param heap            the heap's name
 * @param number          the cycle's number, from 1
 * @param forced          started by {@code gc()} or {@code freeOSMemory()} rather than by the pacer
 * @param stopTheWorld    marked with the world stopped
 * @param startEpochMillis when the cycle began (wall clock)
 * @param startNanos      when the cycle began (System.nanoTime)
 * @param endNanos        when the world restarted after mark termination (System.nanoTime)
 * @param sweepTerminationNanos the first phase's length
 * @param markSetupNanos  the setup handshakes' length
 * @param markNanos       the concurrent (or stopped) mark's length
 * @param markTerminationNanos the termination pause's length
 * @param pauseNanos      the cycle's pause as MemStats counts it: the stop plus the longest handshake step
 * @param heapBeforeBytes the heap the pacer counted when the cycle started (Go's gctrace heap0)
 * @param heapAfterBytes  the live heap the mark found (marked collected objects and every manual object)
 * @param goalBytes       the goal the cycle ran against (Long.MAX_VALUE: none)
 * @param nextGoalBytes   the goal it set for the next cycle
 * @param assistCpuNanos  CPU of mutator assists
 * @param backgroundCpuNanos CPU of the dedicated and fractional background workers
 * @param idleCpuNanos    CPU of workers on idle Ps
 * @param gcCpuNanos      all of the cycle's CPU, pauses counted on every P (what GCCPUFraction adds up)
 */
record GcCycleSummary(String heap, long number, boolean forced, boolean stopTheWorld, long startEpochMillis, long startNanos,
                      long endNanos, long sweepTerminationNanos, long markSetupNanos, long markNanos,
                      long markTerminationNanos, long pauseNanos, long heapBeforeBytes, long heapAfterBytes,
                      long goalBytes, long nextGoalBytes, long assistCpuNanos, long backgroundCpuNanos,
                      long idleCpuNanos, long gcCpuNanos) {

    /** The cycle's wall time, start to the world's restart. */
    long durationNanos() {
        return endNanos - startNanos;
    }
}
