package io.goheap.scavenger;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.LockSupport;

/**
 * The background scavenger (Go's {@code bgscavenge}): one daemon thread that returns free heap memory to the OS
 * while the heap retains more than its goal, at about 1% of one CPU, also while the program is idle.
 *
 * <h2>Goal</h2>
 * The collector sets it after every cycle ({@link #setGoal}): the heap bytes to retain (in use, plus free and not
 * yet released) — Go's: the heap in use at the last cycle scaled to the new heap goal, plus 10%, and no more than
 * 95% of the memory limit (less the memory outside the heap) when a limit is set. {@link Long#MAX_VALUE} means no
 * goal (before the first cycle, with GOGC off and no limit): the thread does not run. The thread starts with the
 * first finite goal, so heaps that never collect have none.
 *
 * <h2>Pacing</h2>
 * Work comes in slices of about {@link #SLICE_NANOS} of wall time, each releasing {@link #QUANTUM} at a time
 * (the background policy of {@link Scavenger#releaseBackground}: highest addresses first, dense chunks skipped,
 * whole huge pages). The thread's CPU time (not its wall time) is charged against a budget that grows by
 * {@link #CPU_SHARE} of the wall time that passes; after a slice it sleeps until the budget is back at zero, so
 * over any busy period it uses {@code CPU_SHARE} of one CPU whatever the sleeps overshoot. The budget saved while
 * idle is capped at one slice, so waking up does not burst. (Go reaches the same share with a PI controller over
 * its sleep ratio; a budget measured against the clock needs no tuning.)
 *
 * <h2>Not rescanning (Go's scavenge index)</h2>
 * The page allocator keeps a flag per 4 MiB chunk, "may have free unreleased pages", and a cursor where the
 * background search resumes: chunks above it were found dense or empty, so successive slices never search them
 * again. The cursor goes back to the top after every cycle ({@link #setGoal}) and after each idle wait, so a
 * full search happens at most once per cycle or per {@link #IDLE_RECHECK_NANOS} of idleness.
 *
 * <h2>Idle</h2>
 * Nothing to release (at or under the goal, or only dense chunks left): the thread parks until the goal changes
 * ({@link #setGoal}, after every cycle) or {@link #wake()} — and at most {@link #IDLE_RECHECK_NANOS}, so pages
 * the background sweeper frees after a cycle are found without any allocation to prompt it.
 *
 * <h2>Who touches what</h2>
 * <ul>
 *   <li>{@code goal}, {@code stopped}: volatile; written by the collector (any thread) and by {@link #stop()},
 *       read by the worker.</li>
 *   <li>The page allocator's bitmaps: under its heap lock, taken by {@link Scavenger} per run; never held across
 *       a system call.</li>
 *   <li>System calls: each under the heap's {@code osCalls} read lock after a closed check (the close protocol,
 *       see {@link Scavenger}); a release that meets a closed heap ends the thread quietly.</li>
 *   <li>{@code exclusion} (optional): held around each slice. With hard decommit the collector passes its cycle
 *       lock, so no page turns {@code PROT_NONE} while a concurrent mark may read it; {@code tryLock} only, so a
 *       cycle is never delayed by more than one slice and the scavenger skips while a cycle runs.</li>
 *   <li>The counters ({@code cpuNanos}, the Scavenger's released bytes): atomics, read by anyone.</li>
 * </ul>
 * The malloc fast path never sees any of this.
 */
public final class BackgroundScavenger {
    /** Bytes released per call (Go's scavenge quantum): small enough that a slice ends close to its length. */
    public static final long QUANTUM = 64L << 10;
    /** The share of one CPU the scavenger may use (Go: 1%). */
    public static final double CPU_SHARE = 0.01;
    /** Work per slice (Go: 1 ms). */
    static final long SLICE_NANOS = 1_000_000;
    /** How long an idle scavenger sleeps before it looks again without being woken. */
    static final long IDLE_RECHECK_NANOS = 1_000_000_000L;
    /** When a cycle holds the exclusion lock: how long to wait before trying again. */
    private static final long BUSY_RETRY_NANOS = 5_000_000;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final Scavenger scavenger;
    private final Lock exclusion;
    private final String name;
    private volatile long goal = Long.MAX_VALUE;
    private volatile boolean stopped;
    private volatile Thread thread;
    private final AtomicLong cpuNanos = new AtomicLong();
    /** Wall time the thread has existed, for the share it used; set when it starts. */
    private volatile long startedNanos;

    /**
     * @param exclusion a lock held around each slice, taken by {@code tryLock} only; null for none
     * @param name      the thread's name
     */
    public BackgroundScavenger(Scavenger scavenger, Lock exclusion, String name) {
        this.scavenger = Objects.requireNonNull(scavenger, "scavenger");
        this.exclusion = exclusion;
        this.name = Objects.requireNonNull(name, "name");
    }

    /**
     * Sets the heap bytes to retain ({@link Long#MAX_VALUE}: no goal) and wakes the thread, starting it on the
     * first finite goal. Does nothing once stopped.
     */
    public void setGoal(long retainBytes) {
        if (retainBytes < 0) {
            throw new IllegalArgumentException("retain goal must be >= 0: " + retainBytes);
        }
        goal = retainBytes;
        scavenger.resetBackgroundSearch();          // a new cycle may have freed pages anywhere
        if (retainBytes != Long.MAX_VALUE) {
            startIfNeeded();
        }
        wake();
    }

    public long goal() {
        return goal;
    }

    /** Makes a parked thread look at the heap again now. */
    public void wake() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    private synchronized void startIfNeeded() {
        if (thread != null || stopped) {
            return;
        }
        Thread t = new Thread(this::run, name);
        t.setDaemon(true);
        startedNanos = System.nanoTime();
        thread = t;
        t.start();
    }

    /** Ends the thread (it finishes the run in flight). Idempotent; the heap's close calls it before unmapping. */
    public void stop() {
        stopped = true;
        wake();
    }

    /** Waits up to {@code millis} for the thread to end after {@link #stop()}; true when it has (or never ran). */
    public boolean awaitStopped(long millis) throws InterruptedException {
        Thread t = thread;
        if (t == null) {
            return true;
        }
        t.join(millis);
        return !t.isAlive();
    }

    /** CPU time the scavenger's thread has used, in nanoseconds (Go's {@code /cpu/classes/scavenge/background}). */
    public long cpuNanos() {
        return cpuNanos.get();
    }

    /** Wall nanoseconds since the thread started, 0 if it never did. */
    public long runningNanos() {
        long s = startedNanos;
        return s == 0 ? 0 : System.nanoTime() - s;
    }

    private void run() {
        long budget = 0;                  // CPU nanoseconds the scavenger may still spend; negative = in debt
        long lastClock = System.nanoTime();
        try {
            while (!stopped) {
                long now = System.nanoTime();
                budget = Math.min(budget + (long) ((now - lastClock) * CPU_SHARE), SLICE_NANOS);
                lastClock = now;
                if (budget < 0) {
                    LockSupport.parkNanos(this, (long) (-budget / CPU_SHARE));
                    continue;
                }
                long excess = scavenger.retainedBytes() - goal;
                if (excess < QUANTUM / 2) {
                    LockSupport.parkNanos(this, IDLE_RECHECK_NANOS);
                    scavenger.resetBackgroundSearch();
                    continue;
                }
                if (exclusion != null && !exclusion.tryLock()) {
                    LockSupport.parkNanos(this, BUSY_RETRY_NANOS);
                    continue;
                }
                long cpu0 = THREADS.getCurrentThreadCpuTime();
                boolean exhausted;
                try {
                    exhausted = slice(excess);
                } finally {
                    if (exclusion != null) {
                        exclusion.unlock();
                    }
                }
                long used = THREADS.getCurrentThreadCpuTime() - cpu0;
                cpuNanos.addAndGet(used);
                budget -= used;
                if (exhausted) {
                    LockSupport.parkNanos(this, IDLE_RECHECK_NANOS);   // only dense chunks, or pages in use
                    scavenger.resetBackgroundSearch();               // then search the whole heap once more
                }
            }
        } catch (IllegalStateException closed) {
            // the heap closed under a release: nothing more to do
        }
    }

    /** Releases up to {@code excess} bytes for about one slice; true when nothing releasable was left. */
    private boolean slice(long excess) {
        long start = System.nanoTime();
        long released = 0;
        do {
            long n = scavenger.releaseBackground(Math.min(QUANTUM, excess - released));
            if (n == 0) {
                return true;
            }
            released += n;
        } while (released < excess && System.nanoTime() - start < SLICE_NANOS && !stopped);
        return false;
    }
}
