package io.goheap;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Full collections whose callers bound their wait ({@link Heap#gc(Duration)}): the cycle runs on a thread of its
 * own, {@code goheap-gc-wait}, and the caller waits for it at most the given time — with its P lent, if it holds a
 * Mutator, so the cycle can stop it. A cycle whose wait timed out goes on: it ends once the thread it waits for
 * polls (a stall report names that thread), and the heap stays usable meanwhile — other threads allocate, and a
 * later call waits for that cycle's successor.
 *
 * <h2>Protocol</h2>
 * A call queues a forced cycle unless one is queued and not yet started — then it waits for that one, which starts
 * after the call began and so collects everything the caller dropped before it (Go's {@code runtime.GC}
 * guarantee). Cycles run one at a time in queue order on the one thread. {@code queued} is guarded by this
 * object's monitor; a cycle clears it as it starts.
 *
 * <h2>Lifetime</h2>
 * One daemon thread, made on the first call; its idle thread refers to no heap (queued and running cycles do), so
 * a dropped heap stays collectable. {@link #shutdown} on close; a call after it throws "heap is closed".
 */
final class BoundedCollection {
    private ExecutorService executor;
    private boolean shutdown;
    /** A cycle queued and not started yet, which later callers join; guarded by this. */
    private CompletableFuture<Void> queued;

    /** No reference to the heap or its collector: the heap's cleaner holds this, and the heap must stay collectable. */
    BoundedCollection() {
    }

    /**
     * Runs (or joins) a forced cycle and waits at most {@code timeout} for it and its sweep. Returns whether it
     * finished in time. {@code caller} is the calling thread's Mutator, or null.
     *
     * @throws InvalidPointerException when the cycle found an invalid pointer (as {@link Heap#gc()})
     * @throws IllegalStateException   "heap is closed"
     */
    boolean run(Collector collector, Duration timeout, Mutator caller) {
        java.util.Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        }
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException e) {
            nanos = Long.MAX_VALUE;
        }
        CompletableFuture<Void> cycle = submit(collector);
        if (caller != null && !caller.inBlockingRegion()) {
            try (var region = caller.blocking()) {       // the cycle may stop this thread while it waits
                return await(cycle, nanos);
            }
        }
        return await(cycle, nanos);
    }

    private synchronized CompletableFuture<Void> submit(Collector c) {
        if (queued != null) {
            return queued;
        }
        if (shutdown) {
            throw new IllegalStateException("heap is closed");
        }
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "goheap-gc-wait");
                t.setDaemon(true);
                return t;
            });
        }
        CompletableFuture<Void> cycle = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                synchronized (this) {
                    if (queued == cycle) {
                        queued = null;                   // started: a later call needs a cycle of its own
                    }
                }
                try {
                    c.collect(true, null);
                    cycle.complete(null);
                } catch (Throwable t) {
                    cycle.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException closed) {
            throw new IllegalStateException("heap is closed");
        }
        queued = cycle;
        return cycle;
    }

    /** Waits for {@code cycle} at most {@code nanos}; an interrupt ends the wait (false) with the status kept. */
    private static boolean await(CompletableFuture<Void> cycle, long nanos) {
        try {
            cycle.get(nanos, TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** The heap closes: no cycle starts after this (one running fails on the closed heap). */
    synchronized void shutdown() {
        shutdown = true;
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
