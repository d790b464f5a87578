package io.goheap;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The thread that runs the cycles the pacer starts (Go starts a cycle from the allocating goroutine and marks
 * with background workers; here the allocating thread only asks, and this thread runs the whole cycle, marking
 * beside the mutators): the allocating thread goes on at once.
 *
 * <h2>Protocol</h2>
 * {@link #request} queues a cycle unless one is queued or running ({@code requested} is set from the request to
 * the end of the cycle), so any number of threads crossing the trigger start one cycle. The cycle itself takes the
 * collector's cycle lock and checks again that the heap still needs it.
 *
 * <h2>Lifetime</h2>
 * One daemon thread, made on the first request. The executor's idle thread holds no reference to the heap (a
 * running thread is a GC root and a dropped heap must stay collectable so its cleaner closes it): only a queued
 * or running cycle refers to the collector. {@link #shutdown} on close; a request after it does nothing.
 */
final class CycleRunner {
    private final AtomicBoolean requested = new AtomicBoolean();
    private ExecutorService executor;
    private boolean shutdown;

    /** Runs {@code cycle} on the runner's thread unless a requested cycle has not ended yet. */
    void request(Runnable cycle) {
        if (requested.get() || !requested.compareAndSet(false, true)) {
            return;
        }
        try {
            executor().execute(() -> {
                try {
                    cycle.run();
                } finally {
                    requested.set(false);
                }
            });
        } catch (RejectedExecutionException | IllegalStateException closed) {
            requested.set(false);                     // shut down: the heap closed
        }
    }

    private synchronized ExecutorService executor() {
        if (shutdown) {
            throw new IllegalStateException("heap is closed");
        }
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "goheap-gc");
                t.setDaemon(true);
                return t;
            });
        }
        return executor;
    }

    /** The heap closes: no cycle starts after this (one running ends on its own, failing on the closed heap). */
    synchronized void shutdown() {
        shutdown = true;
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
