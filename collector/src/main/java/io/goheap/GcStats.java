package io.goheap;

import java.util.concurrent.TimeUnit;

/**
 * The collector's statistics (Go's GC fields of {@code mstats}): cycles completed and forced, the rings of the
 * last 256 pauses and their end times, the total pause, when the last cycle ended, and the collector's share of
 * the CPU since the heap was built (GCCPUFraction).
 *
 * <h2>Invariants</h2>
 * {@code pauseNs[i % 256]} and {@code pauseEnd[i % 256]} belong to cycle {@code i} (0-based) for the last 256
 * cycles; {@code pauseTotalNs} is the sum of every cycle's pause; {@code numForcedGC ≤ numGC}. A cycle is
 * recorded whole by one {@link #recordCycle}: a reader never sees the count of a cycle without its pause.
 *
 * <h2>Locking</h2>
 * Every field is guarded by this object's monitor. It is never held across a stop of the world or while calling
 * out, so any thread may read it at any time (the cycle's thread records, {@link Heap#readMemStats} fills).
 */
final class GcStats {
    private static final int RING = 256;

    private final long startNanos = System.nanoTime();
    private final int procs;
    private int numGC;
    private int numForcedGC;
    private final long[] pauseNs = new long[RING];
    private final long[] pauseEnd = new long[RING];
    private long pauseTotalNs;
    private long lastGC;
    private long gcNanos;

    /** {@code procs}: GOMAXPROCS, the CPUs GCCPUFraction divides by. */
    GcStats(int procs) {
        this.procs = procs;
    }

    /** System.nanoTime() when the heap was built (gctrace's @time origin). */
    long startNanos() {
        return startNanos;
    }

    /**
     * A cycle ended: {@code pause} nanoseconds of stop-the-world, {@code lastGC} its end (Unix nanoseconds),
     * {@code gcCpu} the CPU nanoseconds it used.
     */
    synchronized void recordCycle(boolean forced, long pause, long lastGC, long gcCpu) {
        pauseNs[numGC % RING] = pause;
        pauseEnd[numGC % RING] = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        numGC++;
        if (forced) {
            numForcedGC++;
        }
        pauseTotalNs += pause;
        this.lastGC = lastGC;
        gcNanos += gcCpu;
    }

    /** Completed cycles, forced ones among them, and the collector's CPU nanoseconds, read together. */
    record Counts(long total, long forced, long gcCpuNanos) {
    }

    /** The cycle counters, read under this monitor (held only for a few stores: a read never waits long). */
    synchronized Counts counts() {
        return new Counts(numGC, numForcedGC, gcNanos);
    }

    synchronized int numGC() {
        return numGC;
    }

    /** GCCPUFraction: the collector's CPU over the CPU available (procs × elapsed) since the heap was built. */
    synchronized double cpuFraction() {
        long elapsed = System.nanoTime() - startNanos;
        return elapsed <= 0 ? 0 : (double) gcNanos / ((double) elapsed * procs);
    }

    /** The collector's fields of MemStats; {@code nextGC} is the pacer's goal. */
    void fill(MemStats m, long nextGC) {
        double fraction = cpuFraction();
        synchronized (this) {
            m.numGC = numGC;
            m.numForcedGC = numForcedGC;
            System.arraycopy(pauseNs, 0, m.pauseNs, 0, RING);
            System.arraycopy(pauseEnd, 0, m.pauseEnd, 0, RING);
            m.pauseTotalNs = pauseTotalNs;
            m.lastGC = lastGC;
        }
        m.nextGC = nextGC;
        m.gcCPUFraction = fraction;
        m.enableGC = true;
        m.debugGC = false;
    }
}
