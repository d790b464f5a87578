package io.goheap;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The helper threads of a mark: {@code GOMAXPROCS − 1} daemon threads, at most one fewer than the machine's
 * processors, made on the first mark that needs them and shared with nothing else. A stop-the-world mark runs all
 * of them (the mutators' processors are free during the stop): the collector's thread and the helpers drain one
 * {@link io.goheap.allocator.MarkPool} together. A concurrent mark runs them as background mark workers, each
 * deciding when it may mark ({@link BackgroundMarkWorkers}).
 *
 * <p>The threads hold no reference to the public {@link Heap} (a running thread is a GC root; a dropped heap must
 * stay collectable so its cleaner closes it); {@link #shutdown} on close ends them. Used by one cycle at a time
 * (under the collector's cycle lock).
 */
final class MarkWorkers {
    private final int helpers;
    private ExecutorService threads;
    private boolean shut;

    MarkWorkers(int maxProcs) {
        this.helpers = Math.max(0, Math.min(maxProcs, Runtime.getRuntime().availableProcessors()) - 1);
    }

    /** How many helpers a parallel mark gets (0: mark on the collector's thread alone). */
    int helpers() {
        return helpers;
    }

    /** Runs {@code tasks} on the helpers and {@code own} on the calling thread; returns when all have ended. */
    void run(List<Runnable> tasks, Runnable own) {
        List<Future<?>> futures = new ArrayList<>();
        synchronized (this) {
            if (shut) {
                throw new IllegalStateException("heap is closed");
            }
            if (threads == null) {
                threads = Executors.newFixedThreadPool(helpers, r -> {
                    Thread t = new Thread(r, "goheap-mark-worker");
                    t.setDaemon(true);
                    return t;
                });
            }
            for (Runnable task : tasks) {
                futures.add(threads.submit(task));
            }
        }
        Throwable failure = null;
        try {
            own.run();
        } catch (Throwable t) {
            failure = t;
        }
        // Every helper is waited for, interrupt or not: the cycle must not go on (or clear marks) while one still
        // marks. Each ends soon: when marking is done or, after a failure, at its next check of the pool's abort.
        boolean interrupted = false;
        for (Future<?> f : futures) {
            for (;;) {
                try {
                    f.get();
                    break;
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
                    }
                    break;
                } catch (java.util.concurrent.CancellationException e) {
                    break;                              // never ran (the heap closed): its share was drained here
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        if (failure != null) {
            throw new IllegalStateException("a mark worker failed", failure);
        }
    }

    /** The heap closes: the helper threads end. */
    synchronized void shutdown() {
        shut = true;
        if (threads != null) {
            // shutdownNow hands back the tasks that never started without completing them: cancel them, or the
            // collector's thread would wait for their futures for ever (it did, closing the heap mid-mark)
            for (Runnable never : threads.shutdownNow()) {
                if (never instanceof Future<?> f) {
                    f.cancel(false);
                }
            }
        }
    }
}
