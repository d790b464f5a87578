package io.goheap;

import io.goheap.allocator.GcHooks;
import io.goheap.allocator.MarkWork;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

/**
 * The background mark workers of one concurrent mark (Go's {@code gcBgMarkWorker}, scheduled as its
 * {@code findRunnableGCWorker} schedules them): up to {@code min(GOMAXPROCS, CPUs)} threads — the cycle's own
 * thread is worker 0, the others are {@link MarkWorkers}' helper threads — each marking with its own
 * {@link MarkWork}. One instance per cycle, used by the cycle's thread under the collector's cycle lock; its
 * {@link #run} may be called again in the same cycle (a later round of the same mark).
 *
 * <h2>Scheduling: when a worker may mark</h2>
 * Before every slice of work ({@link #SLICE_SCAN_BYTES} of pointer slots, ~0.1–0.5 ms) worker {@code i} takes its
 * mode from {@link MarkUtilization} and the Ps' state now:
 * <ul>
 *   <li>{@code i < dedicated}: {@link Mode#DEDICATED}, always (and {@code i == dedicated} past the goal: below);</li>
 *   <li>{@code i − dedicated <} the idle workers allowed now — the Ps no running thread uses (idle, lent from a
 *       blocking region or safepoint, or held by the thread running this mark), at most the CPUs that neither the
 *       Ps' busy holders nor the dedicated workers take: {@link Mode#IDLE} (Go's idle worker);</li>
 *   <li>{@code i == dedicated} with a fractional goal: {@link Mode#FRACTIONAL} while the wall time it marked in that
 *       mode is below {@code fractionalCpus × } the time since the mark began;</li>
 *   <li>otherwise it waits, parked, after giving its grey objects to the shared queue.</li>
 * </ul>
 * So with GOMAXPROCS = 2 and two busy mutators one fractional worker marks half of one CPU (25% of the two), as
 * Go's; with one busy mutator the other P is idle and a worker marks all the time on it; with none, two do.
 *
 * <h2>Past the goal (goheap's, not Go's)</h2>
 * Once the heap passes its goal while the mark runs, worker {@code dedicated} (the fractional one, when there is
 * one) marks all the time, as a dedicated worker. Go keeps 25% and lets assists, paced by the scan work still to
 * do ({@link GcPacer}'s revise), absorb the rest; goheap's assists are paced the same way, but an assist can only
 * scan what the workers share through the queue, so past the goal it can fall behind, and allocating threads would
 * reach the hard goal and wait there for the rest of the mark (measured with the earlier budget: 0.3–0.7 s stalls
 * with two mutators on two CPUs). A worker taking a CPU of its own there costs the mutators that CPU's share, which
 * the assists would take anyway.
 *
 * <h2>Work distribution</h2>
 * Grey objects travel between workers and assists through the write barrier's queue of buffers: a worker whose
 * stack is empty takes a buffer; a worker that queues objects while some worker or assist waits for work
 * ({@link WriteBarrier#waitingForWork}) and the queue is empty gives the oldest half of its stack — the widest
 * subtrees — to the queue ({@link MarkWork#shareWith}).
 *
 * <h2>The end of a round (Go's "no workers and no work" check of {@code gcMarkDone})</h2>
 * {@link #busy} counts the workers that may hold grey objects: a worker counts itself in before it polls the
 * queue and out only with an empty stack, after giving back anything it held. A worker that finds nothing reads
 * {@link #busy}, then the assists' count ({@link WriteBarrier#assistsHolding}, kept by the same rule), then the
 * queue; when both counts are zero and the queue is empty, no worker or assist holds or can produce a grey object
 * that is not in the queue, so the round is over: it sets {@link #done} and every worker returns at its next
 * check. Reading the counts before the queue is what makes this right: a busy worker could otherwise give a buffer
 * and go idle between the two reads.
 * <p>Allowed: the round ending while a mutator is about to queue a barrier buffer, or while a worker that polled
 * just before {@link #done} finishes its stack and shares part of it — the collector then finds the queue
 * non-empty and runs another round, or mark termination takes the rest. Forbidden: a worker returning, or parking
 * as not scheduled, while it holds grey objects; the round ending while an assist holds objects it took.
 *
 * <h2>Time</h2>
 * Each worker publishes each slice's scan work as it ends (the pacer's view of the mark's progress, and the credit
 * assists take before they scan: Go's {@code gcFlushBgCredit}), adds its slices' wall time to its mode's total (gctrace's background = dedicated + fractional, and
 * idle) and its thread's CPU time to {@link #cpuNanos} (GCCPUFraction, the CPU limiter).
 */
final class BackgroundMarkWorkers {
    /** A worker's mode for its next slice (see the class comment). */
    enum Mode { DEDICATED, FRACTIONAL, IDLE, NONE }

    /** Pointer-slot bytes a worker scans between two checks of its mode: 2,048 slots. */
    static final long SLICE_SCAN_BYTES = 16L << 10;
    /** Spins, then yields, of a worker waiting for work before it parks between checks. */
    private static final int WAIT_SPINS = 64;
    private static final int WAIT_YIELDS = 16;
    private static final long WAIT_PARK_NANOS = 50_000;
    /** How long a worker not scheduled now parks before it looks again (at most; a fractional one computes it). */
    private static final long UNSCHEDULED_PARK_NANOS = 1_000_000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final GcHooks hooks;
    private final WriteBarrier barrier;
    private final MarkWorkers threads;
    private final MarkUtilization plan;
    private final int cpus;
    private final Thread cycleThread;
    private final BooleanSupplier closed;
    /** Whether the heap has passed its goal while this mark runs (see "Past the goal"). */
    private final BooleanSupplier pastGoal;
    /** Takes each slice's scan work as it is done (the pacer's progress and assist credit). */
    private final LongConsumer published;
    /** The helpers' markers (workers 1...); their bad slots become suspects through the barrier. */
    private final MarkWork[] helperWork;
    private final long markStart;

    private final AtomicInteger busy = new AtomicInteger();
    private volatile boolean done;
    private final AtomicLong dedicatedNanos = new AtomicLong();
    private final AtomicLong fractionalNanos = new AtomicLong();
    private final AtomicLong idleNanos = new AtomicLong();
    private final AtomicLong cpuNanos = new AtomicLong();

    BackgroundMarkWorkers(GcHooks hooks, WriteBarrier barrier, MarkWorkers threads, MarkUtilization plan,
                          Thread cycleThread, BooleanSupplier closed, BooleanSupplier pastGoal,
                          LongConsumer published) {
        this.hooks = hooks;
        this.barrier = barrier;
        this.threads = threads;
        this.plan = plan;
        this.cpus = Runtime.getRuntime().availableProcessors();
        this.cycleThread = cycleThread;
        this.closed = closed;
        this.pastGoal = pastGoal;
        this.published = published;
        int workers = Math.max(1, Math.min(plan.procs(), threads.helpers() + 1));
        this.helperWork = new MarkWork[workers - 1];
        for (int i = 0; i < helperWork.length; i++) {
            helperWork[i] = hooks.newConcurrentMarkWork(barrier::addSuspect);
            share(helperWork[i]);
        }
        this.markStart = System.nanoTime();
    }

    /** Sets {@code w} to give grey objects to the queue while a worker or an assist waits for work. */
    void share(MarkWork w) {
        w.shareWith(() -> barrier.waitingForWork.get() > 0 && !barrier.hasFull(), barrier::giveGrey);
    }

    /** How many workers mark (the cycle's thread included). */
    int workers() {
        return helperWork.length + 1;
    }

    /**
     * One round: the cycle's thread runs {@code first} (the manual roots' scan) then works as worker 0 with
     * {@code own}; the helpers work beside it; returns when every worker has returned (see the class comment).
     */
    void run(MarkWork own, Runnable first) {
        done = false;
        List<Runnable> tasks = new ArrayList<>();
        for (int i = 0; i < helperWork.length; i++) {
            int index = i + 1;
            MarkWork w = helperWork[i];
            busy.incrementAndGet();                 // each counts itself in now: none ends the round before it ran
            tasks.add(() -> work(index, w, null));
        }
        busy.incrementAndGet();
        if (tasks.isEmpty()) {
            work(0, own, first);
        } else {
            threads.run(tasks, () -> work(0, own, first));
        }
    }

    private void work(int index, MarkWork w, Runnable first) {
        long cpu0 = THREADS.getCurrentThreadCpuTime();
        boolean holding = true;                     // counted in by run
        boolean waiting = false;
        boolean interrupted = false;
        try {
            if (first != null) {
                first.run();
            }
            int idleRounds = 0;
            for (;;) {
                if (closed.getAsBoolean()) {
                    break;                          // the heap closed: the cycle fails at termination's stop
                }
                if (index > 0 && Thread.currentThread().isInterrupted()) {
                    break;                          // MarkWorkers shut down (closing): worker 0 finishes alone
                }
                long now = System.nanoTime();
                Mode mode = mode(index, now);
                if (mode == Mode.NONE) {
                    if (waiting) {
                        barrier.waitingForWork.decrementAndGet();   // parked, it wants no work shared with it
                        waiting = false;
                    }
                    w.takeRemaining(barrier::giveGrey);
                    if (holding) {
                        busy.decrementAndGet();     // after the give: see the class comment
                        holding = false;
                    }
                    if (checkDone()) {
                        break;
                    }
                    LockSupport.parkNanos(unscheduledPark(index, now));
                    if (index == 0 && Thread.interrupted()) {
                        interrupted = true;         // a gc() caller's interrupt: kept for it, not for the mark
                    }
                    continue;
                }
                if (w.isEmpty()) {
                    if (!holding) {
                        busy.incrementAndGet();     // before the poll: a buffer is always queued or counted
                        holding = true;
                    }
                    WriteBarrier.Buffer b = barrier.pollGrey();
                    if (b != null) {
                        for (int i = 0; i < b.count; i++) {
                            w.enqueueGrey(b.entries[i]);
                        }
                        barrier.recycle(b);
                        idleRounds = 0;
                        continue;
                    }
                    busy.decrementAndGet();
                    holding = false;
                    if (!waiting) {
                        barrier.waitingForWork.incrementAndGet();
                        waiting = true;
                    }
                    if (checkDone()) {
                        break;
                    }
                    if (waitForWork(++idleRounds) && index == 0 && Thread.interrupted()) {
                        interrupted = true;
                    }
                    continue;
                }
                if (waiting) {
                    barrier.waitingForWork.decrementAndGet();
                    waiting = false;
                }
                published.accept(w.drainBudget(SLICE_SCAN_BYTES));
                long slice = System.nanoTime() - now;
                (mode == Mode.DEDICATED ? dedicatedNanos : mode == Mode.FRACTIONAL ? fractionalNanos : idleNanos)
                        .addAndGet(slice);
            }
        } catch (RuntimeException | Error e) {
            done = true;                            // the others stop at their next check; the cycle fails
            throw e;
        } finally {
            if (waiting) {
                barrier.waitingForWork.decrementAndGet();
            }
            w.takeRemaining(barrier::giveGrey);     // (only after a failure or a close can it hold any)
            if (holding) {
                busy.decrementAndGet();
            }
            cpuNanos.addAndGet(THREADS.getCurrentThreadCpuTime() - cpu0);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Whether the round is over (see the class comment); sets {@link #done} when this call finds it so. */
    private boolean checkDone() {
        if (done) {
            return true;
        }
        if (nothingLeft(busy, barrier)) {
            done = true;
            return true;
        }
        return false;
    }

    /**
     * The round-end rule (see the class comment): no worker ({@code busy}) and no assist holds grey objects, and
     * none is queued — the counts read first, then the queue. A worker or an assist gives its objects to the queue
     * before it counts itself out, so whatever it held is seen in one or the other.
     */
    static boolean nothingLeft(AtomicInteger busy, WriteBarrier barrier) {
        return busy.get() == 0 && barrier.assistsHolding.get() == 0 && !barrier.hasFull();
    }

    /** Waits a little for work to come: spins, then yields, then parks. Returns whether it parked. */
    private static boolean waitForWork(int rounds) {
        if (rounds <= WAIT_SPINS) {
            Thread.onSpinWait();
            return false;
        }
        if (rounds <= WAIT_SPINS + WAIT_YIELDS) {
            Thread.yield();
            return false;
        }
        LockSupport.parkNanos(WAIT_PARK_NANOS);
        return true;
    }

    /** Worker {@code index}'s mode now (see the class comment). */
    Mode mode(int index, long now) {
        int dedicated = plan.dedicated();
        if (index < dedicated) {
            return Mode.DEDICATED;
        }
        int idle = hooks.idleProcs(cycleThread);
        int busyProcs = plan.procs() - idle;
        int idleWorkers = Math.min(idle, cpus - busyProcs - dedicated);
        if (index - dedicated < idleWorkers) {
            return Mode.IDLE;
        }
        if (index == dedicated && plan.hasFractional()
                && fractionalNanos.get() < plan.fractionalCpus() * (now - markStart)) {
            return Mode.FRACTIONAL;
        }
        if (index == dedicated && pastGoal.getAsBoolean()) {
            return Mode.DEDICATED;                  // past the goal: see "Past the goal" in the class comment
        }
        return Mode.NONE;
    }

    /** How long a worker not scheduled parks: the fractional one until its share is due again. */
    private long unscheduledPark(int index, long now) {
        if (index == plan.dedicated() && plan.hasFractional()) {
            double ahead = fractionalNanos.get() - plan.fractionalCpus() * (now - markStart);
            long due = (long) (ahead / plan.fractionalCpus());
            return Math.max(WAIT_PARK_NANOS, Math.min(UNSCHEDULED_PARK_NANOS, due));
        }
        return UNSCHEDULED_PARK_NANOS;
    }

    /** Bytes of collected objects the helpers marked, over every round. */
    long helpersMarkedBytes() {
        long n = 0;
        for (MarkWork w : helperWork) {
            n += w.markedBytes();
        }
        return n;
    }

    /** Bytes of pointer slots the helpers scanned, over every round. */
    long helpersScannedBytes() {
        long n = 0;
        for (MarkWork w : helperWork) {
            n += w.scannedBytes();
        }
        return n;
    }

    /** Wall time of idle slices. */
    long idleNanos() {
        return idleNanos.get();
    }

    /**
     * The idle workers' share of {@link #cpuNanos} (gctrace's idle CPU; the rest is background): the workers' CPU
     * time split in proportion to the wall time each mode marked.
     */
    long idleCpuNanos() {
        long idle = idleNanos.get();
        long all = idle + dedicatedNanos.get() + fractionalNanos.get();
        return idle == 0 ? 0 : (long) (cpuNanos.get() * ((double) idle / all));
    }

    /** CPU time of every worker's thread while it worked, over every round. */
    long cpuNanos() {
        return cpuNanos.get();
    }
}
