package io.goheap;

import io.goheap.allocator.GcHooks;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The background sweeper (Go's {@code bgsweep}): after a cycle, one daemon thread per heap sweeps the spans that
 * wait for sweeping, one at a time, yielding between spans, so the memory of dead objects returns to the heap
 * without the service's threads paying for it. Spans are also swept lazily by allocation (whoever takes a span
 * from its mcentral sweeps it first) and, when a cycle starts with spans still unswept, by that cycle; whoever
 * comes first sweeps a span, exactly once (the span's mcentral lock, see {@code MSweep}).
 *
 * <h2>Protocol with the collector</h2>
 * The sweeper sweeps a span only while it holds the collector's cycle lock ({@code tryLock}): a cycle — which
 * marks with the world stopped and would race a sweep on the same span's bits — cannot start during a sweep, and
 * a sweep never waits for a cycle (on a failed {@code tryLock} it retries a millisecond later). The cycle wakes
 * it when it ends ({@link #wake}). Allowed: the sweeper, allocating threads and a cycle's start each sweep some
 * spans; forbidden: a span swept while a cycle marks, a span swept twice.
 *
 * <h2>Lifetime</h2>
 * Started on the first wake; holds no reference to the public {@link Heap} (a running thread is a GC root, and a
 * dropped heap must stay collectable so its cleaner closes it), only the allocator's hooks and the cycle lock.
 * {@link #stop} (on close, before the heap is unmapped) sets the stop flag and waits for the span being swept,
 * if any: no sweep runs on a closed heap.
 */
final class BackgroundSweeper {
    private final GcHooks hooks;
    private final ReentrantLock cycleLock;
    /** Held while one span is swept; {@link #stop} takes it to wait out a sweep in progress. */
    private final ReentrantLock sweeping = new ReentrantLock();
    private volatile boolean stopped;
    private Thread thread;
    /** Spans swept by this thread, for tests and statistics. */
    private volatile long swept;

    BackgroundSweeper(GcHooks hooks, ReentrantLock cycleLock) {
        this.hooks = hooks;
        this.cycleLock = cycleLock;
    }

    /** A cycle ended: sweep what it left. Starts the thread on first use. */
    synchronized void wake() {
        if (stopped) {
            return;
        }
        if (thread == null) {
            thread = new Thread(this::run, "goheap-bgsweep");
            thread.setDaemon(true);
            thread.start();
        }
        LockSupport.unpark(thread);
    }

    /** The heap closes: no sweep after this returns. */
    void stop() {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = thread;
        }
        sweeping.lock();                  // a sweep in progress finishes first
        sweeping.unlock();
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    long swept() {
        return swept;
    }

    private void run() {
        while (!stopped) {
            switch (sweepOne()) {
                case SWEPT -> Thread.yield();                                    // Go's goschedIfBusy
                case BUSY -> LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
                case DONE -> LockSupport.park(this);
            }
        }
    }

    private enum Result { SWEPT, BUSY, DONE }

    private Result sweepOne() {
        if (!cycleLock.tryLock()) {
            return Result.BUSY;           // a cycle runs (and sweeps what is left at its start)
        }
        sweeping.lock();
        try {
            if (stopped) {
                return Result.DONE;
            }
            if (!hooks.sweepOne()) {
                return Result.DONE;
            }
            swept++;
            return Result.SWEPT;
        } catch (IllegalStateException e) {
            return Result.DONE;           // the heap closed under us: nothing left to sweep
        } finally {
            sweeping.unlock();
            cycleLock.unlock();
        }
    }
}
