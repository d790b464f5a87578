package io.goheap;

/**
 * The GC CPU limiter (Go's {@code gcCPULimiter}, 1.19+): a bucket that fills while the collector uses more than half
 * of the CPU the heap's Ps could use and drains while it uses less, so a memory limit the live heap nearly fills
 * cannot make the program collect back to back forever. When the bucket is full the limiter is <em>on</em>: the
 * pacer stops making allocating threads wait for or help with cycles (no assists, no cycle run on the allocating
 * thread, no allocation-time scavenging), so the GC's share falls back toward half and the heap may overshoot its
 * goal — Go's trade: memory over a stall.
 *
 * <h2>Accounting</h2>
 * The capacity is one second of CPU per P. Each {@link #account} covers the wall time since the previous one,
 * times the number of Ps: {@code gc} nanoseconds of it were the collector's (its cycles' CPU: both pauses times the
 * Ps, the marker's measured CPU, assists, and allocation-time scavenging, added as it happens with
 * {@link #addGcWork}), the rest the program's. The bucket gains {@code gc − rest} (clamped at 0
 * and at capacity). It turns on when a gain would overflow it and off when it loses anything while on. The
 * collector accounts after every cycle (with the cycle's CPU) and, while no cycle runs, from the allocation slow
 * path at most every {@link #MIN_WINDOW_NANOS} (with none), so the bucket drains while the program runs.
 *
 * <h2>Saturation (beyond Go)</h2>
 * {@link #saturatedNanos} tells how long the bucket has stayed at least {@link #SATURATED_FILL} full without a
 * break: the measure of a death spiral the heap's opt-in exit acts on (see {@link Heap.Builder#memoryLimitExit}).
 *
 * <p>Thread-safety: the accounting methods are synchronized (called once per cycle and at most every 10 ms
 * otherwise); {@link #limiting()} and {@link #due} are volatile reads for the allocation slow path.
 */
final class GcCpuLimiter {
    /** Minimum wall time between two accounts from the allocation path. */
    static final long MIN_WINDOW_NANOS = 10_000_000;
    /** A bucket at least this full counts as saturated. */
    static final double SATURATED_FILL = 0.9;

    private final long capacity;
    private final int procs;
    private long fill;
    /** Volatile: {@link #due} reads it without the lock, from the allocation slow path. */
    private volatile long lastAccount;
    private volatile boolean limiting;
    /** When the bucket last became saturated (nanoTime), or -1 while it is not. */
    private long saturatedSince = -1;
    private long enabledCount;

    GcCpuLimiter(int procs, long now) {
        if (procs < 1) {
            throw new IllegalArgumentException("procs must be >= 1: " + procs);
        }
        this.procs = procs;
        this.capacity = procs * 1_000_000_000L;
        this.lastAccount = now;
    }

    /**
     * Accounts the wall time since the last account, at {@code now} (System.nanoTime), {@code gcNanos} of which,
     * summed over the Ps, the collector used.
     */
    synchronized void account(long now, long gcNanos) {
        long window = Math.max(0, now - lastAccount) * procs;
        lastAccount = now;
        long gc = Math.min(Math.max(gcNanos, 0) + pendingGc, window);
        pendingGc = 0;
        long change = gc - (window - gc);          // > 0 exactly when the collector used more than half
        if (change > 0 && fill + change >= capacity) {
            fill = capacity;
            if (!limiting) {
                limiting = true;
                enabledCount++;
            }
        } else {
            fill = Math.max(0, fill + change);
            if (limiting && change < 0) {
                limiting = false;
            }
        }
        if (fill >= capacity * SATURATED_FILL) {
            if (saturatedSince < 0) {
                saturatedSince = now;
            }
        } else {
            saturatedSince = -1;
        }
    }

    /** Collector work done on allocating threads (allocation-time scavenging), counted at the next account. */
    private long pendingGc;

    /** Adds {@code nanos} of collector work an allocating thread did (Go's scavenge assists) to the next account. */
    synchronized void addGcWork(long nanos) {
        pendingGc += Math.max(0, nanos);
    }

    /** Whether an account from the allocation path is due at {@code now}. */
    boolean due(long now) {
        return now - lastAccount >= MIN_WINDOW_NANOS;
    }

    /** Whether the limiter is on: allocating threads neither wait for nor help cycles. */
    boolean limiting() {
        return limiting;
    }

    /** How long the bucket has stayed saturated at {@code now}, 0 when it is not. */
    /** Whether the bucket is saturated now (at least {@link #SATURATED_FILL} full at the last account). */
    synchronized boolean saturated() {
        return saturatedSince >= 0;
    }

    synchronized long saturatedNanos(long now) {
        return saturatedSince < 0 ? 0 : now - saturatedSince;
    }

    /** The bucket's fill as a fraction of its capacity. */
    synchronized double fill() {
        return (double) fill / capacity;
    }

    /** How many times the limiter turned on. */
    synchronized long enabledCount() {
        return enabledCount;
    }
}
