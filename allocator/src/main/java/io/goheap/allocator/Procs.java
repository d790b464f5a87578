package io.goheap.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The heap's Ps (Go's {@code allp}) and how threads get one.
 *
 * <p>A thread first tries the P its id hashes to, then every other P, with one CAS each. A thread that
 * already holds a P (an open {@link Mutator}) and asks again may take a second, idle P for the call; if every
 * other P is busy it gets its own P back (nested hold), so code mixing both APIs cannot deadlock itself. When every P is held, the thread takes over a P whose owner has
 * terminated, or else waits with a short, growing back-off — as a Go M waits for a P. Holding a P while
 * blocking therefore delays other threads, like a goroutine that holds a P.
 *
 * <p>Stopping the world (Go's {@code stopTheWorld}, for the collector): the stopper first claims
 * {@link #stopper} with a CAS — one stopper at a time — and from then on no other thread takes an idle P (as Go's
 * {@code sched.gcwaiting}); threads that hold one finish what they do and let it go, and the stopper collects
 * every P. Nested holds by a thread that already holds a P still succeed, so no holder can wait on itself.
 * {@link #startTheWorld} releases the Ps, then the claim. A claim whose thread died is dropped by the next
 * thread that finds it, and the dead stopper's Ps are taken over like any dead holder's.
 *
 * <p>Unlike a goroutine, a Java thread that blocks keeps its P. So a thread that holds a P (an open
 * {@link Mutator}) must not wait for another thread that needs one: once a stop is claimed, that other thread
 * cannot get an idle P, the stopper waits for the holder, and the holder for the other thread.
 */
final class Procs {
    private final P[] all;
    /** The thread stopping or holding the stopped world, or null. */
    private volatile Thread stopper;
    /** Set once by {@link #close}: every thread waiting for a P leaves with "heap is closed". */
    private volatile boolean closed;

    private static final VarHandle STOPPER;

    static {
        try {
            STOPPER = MethodHandles.lookup().findVarHandle(Procs.class, "stopper", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    Procs(MHeap heap, int count) {
        all = new P[count];
        for (int i = 0; i < count; i++) {
            all[i] = new P(i, new MCache(heap));
        }
    }

    int count() {
        return all.length;
    }

    P get(int i) {
        return all[i];
    }

    /**
     * Flushes the caches of the Ps no live thread holds — idle ones, and those whose holder terminated without
     * letting go (Go flushes every mcache before it frees OS memory): their spans go back to the mcentrals, which
     * merges pending remote frees and returns empty spans to the heap. Ps held by live threads are left alone.
     */
    void flushIdle() {
        Thread me = Thread.currentThread();
        for (P p : all) {
            if (p.ownerPlain() == me) {
                p.mcache.releaseAll();           // the caller's own P: it is between two operations
            } else if (stopper == null && p.tryAcquireOrTakeOver(me)) {
                try {
                    p.mcache.releaseAll();
                } finally {
                    p.release();
                }
            }
        }
    }

    /**
     * Stops the world: takes every P, in index order, waiting for each holder to let go (Go's
     * {@code stopTheWorld}). The caller must hold no P itself, or two stoppers could wait for each other.
     * Undo with {@link #startTheWorld}.
     */
    void stopTheWorld() {
        Thread me = Thread.currentThread();
        for (P p : all) {
            if (p.ownerPlain() == me) {
                throw new IllegalStateException("stopTheWorld from a thread that holds P " + p.id);
            }
        }
        long parkNanos = FIRST_PARK_NANOS;
        boolean interrupted = false;
        try {
            for (int attempt = 0; !STOPPER.compareAndSet(this, (Thread) null, me); attempt++) {
                dropDeadStopper();
                failIfClosed();
                interrupted |= Thread.interrupted();
                parkNanos = backOff(attempt, parkNanos);     // another stopper holds the world
            }
            for (P p : all) {
                parkNanos = FIRST_PARK_NANOS;
                for (int attempt = 0; !p.tryAcquireOrTakeOver(me); attempt++) {
                    failIfClosed();
                    interrupted |= Thread.interrupted();
                    parkNanos = backOff(attempt, parkNanos);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static final long FIRST_PARK_NANOS = 1_000;
    private static final long MAX_PARK_NANOS = 1_000_000;

    /**
     * Waits before the next attempt, as a Go M waiting for a P: a spin hint for the first 64 attempts, then a
     * park that doubles from 1 µs up to 1 ms. Returns the next park time.
     */
    private static long backOff(int attempt, long parkNanos) {
        if (attempt < 64) {
            Thread.onSpinWait();
            return parkNanos;
        }
        LockSupport.parkNanos(parkNanos);
        return Math.min(parkNanos * 2, MAX_PARK_NANOS);
    }

    /** Clears a stop claim whose thread has terminated (its Ps are then taken over as a dead holder's). */
    private void dropDeadStopper() {
        Thread s = stopper;
        if (s != null && !s.isAlive()) {
            STOPPER.compareAndSet(this, s, (Thread) null);
        }
    }

    /**
     * Marks the heap closed: threads waiting for a P (in {@link #acquire}) throw "heap is closed" at their next
     * attempt — within the longest back-off park, 1 ms — instead of waiting for a P that may never be let go.
     */
    void close() {
        closed = true;
    }

    private void failIfClosed() {
        if (closed) {
            throw new IllegalStateException("heap is closed");
        }
    }

    /** Whether some thread is stopping, or holds, the world. */
    boolean worldStopping() {
        return stopper != null;
    }

    /** Releases every P taken by {@link #stopTheWorld}, then lets other threads take Ps again. */
    void startTheWorld() {
        if (stopper != Thread.currentThread()) {
            throw new IllegalStateException("startTheWorld by a thread that did not stop it");
        }
        for (P p : all) {
            p.release();
        }
        stopper = null;
    }

    P acquire() {
        Thread me = Thread.currentThread();
        int n = all.length;
        int start = (int) Long.remainderUnsigned(me.threadId(), n);
        P p = all[start];
        if (stopper == null && p.tryAcquire(me)) {
            return p;
        }
        return acquireSlow(me, start);
    }

    /**
     * Waits for a P. An interrupt does not end the wait (a P is not an interruptible resource, as a monitor is
     * not): the interrupt status is cleared while waiting — a set status would make every park return at once
     * and the wait spin — and set again before returning or throwing.
     */
    private P acquireSlow(Thread me, int start) {
        int n = all.length;
        long parkNanos = FIRST_PARK_NANOS;
        boolean interrupted = false;
        try {
            for (int attempt = 0; ; attempt++) {
                failIfClosed();
                for (int i = 0; i < n; i++) {
                    P p = all[(start + i) % n];
                    Thread owner = p.ownerPlain();
                    if (owner == me) {
                        p.holds++;
                        return p;
                    }
                    Thread s = stopper;
                    if (s != null && s != me) {
                        if (s.isAlive()) {
                            continue;                        // the world is stopping: leave idle Ps to the stopper
                        }
                        dropDeadStopper();
                    }
                    if (p.tryAcquireOrTakeOver(me)) {
                        return p;
                    }
                }
                interrupted |= Thread.interrupted();
                parkNanos = backOff(attempt, parkNanos);
            }
        } finally {
            if (interrupted) {
                me.interrupt();
            }
        }
    }
}
