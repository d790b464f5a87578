package io.goheap.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The heap's Ps (Go's {@code allp}) and how threads get one.
 *
 * <h2>Ps on demand</h2>
 * A heap starts with GOMAXPROCS Ps and makes more when a thread needs one and finds none idle, so any number of
 * threads may hold a P (an open {@link Mutator}) at once and taking a P never waits for another thread to let one
 * go: it waits only while a stop of the world is claimed, until the restart. A Go M without a P waits for one
 * while its goroutines wait in run queues; a Java thread has no run queue to wait in, so it gets its own P
 * instead. GOMAXPROCS still bounds what it bounds in Go — the collector's parallelism, its 25% CPU share and the
 * CPU limiter's capacity, all computed from {@link #maxProcs()} — and the idle-P count offered to idle mark
 * workers is GOMAXPROCS less the Ps running threads use ({@link #idleCount}). A P made beyond GOMAXPROCS (an
 * <em>extra</em> P) has no page cache (its spans come from the page allocator under the heap lock, so threads
 * holding Ps at once do not each hold a 64-page window) and gives back its cached spans when its last holder lets it go
 * ({@link #releaseHeld}) and, if it was idle, at each cycle's {@link #prepareIdle}, as a P destroyed by Go's
 * {@code procresize} does: a burst of 500 threads leaves 500 idle Ps (a few KiB of Java heap each), not 500
 * caches' worth of spans. Ps are never removed, and an idle one is reused before a new one is made.
 *
 * <p>A thread first tries the P its id hashes to among the GOMAXPROCS first Ps, then every P, with one CAS each.
 * A thread that already holds a P (an open {@link Mutator}) and asks again may take a second, idle P for the call;
 * if every other P is busy it gets its own P back (nested hold) and never makes one, so code mixing both APIs
 * cannot deadlock itself. Holding a P while blocking delays stops of the world, like a goroutine that holds a P.
 *
 * <h2>A P made while Ps are enumerated: the protocol</h2>
 * The list of Ps ({@link #all}) only grows, by a volatile write of a longer copy with the new P already held by its
 * creator. Allowed: a stop enumerates the new P (it waits for the holder's next poll, as for any running holder),
 * or the creator sees the stop's claim and gives the new P back untouched, idle (the stop takes it or leaves it
 * idle; no thread runs on it until the restart); a handshake that began before the P was made gives it no step.
 * Forbidden: a thread running on a P the stopper did not count as stopped (the creator writes the list then reads
 * {@link #stopper}; the stopper claims, then reads the list again after each P, so one of them sees the other:
 * a Dekker pair of volatile accesses); a P the close missed (close sets {@link #closed}, then marks every P in
 * the list; the creator writes the list, then reads {@code closed}). Tested by jcstress ({@code PCreationStress}).
 *
 * <h2>Stopping the world: the protocol</h2>
 * Go's {@code stopTheWorld}, for the collector. (1) The stopper claims {@link #stopper} with a CAS — one stopper
 * at a time; from then on no thread takes an idle P or makes one (Go's {@code sched.gcwaiting}), while nested
 * holds by a thread that already holds a P still succeed, so no holder waits on itself. (2) It sets
 * {@link P#STOP} in every P's preempt word. (3) For each P in turn (re-reading the list, see above) it waits until
 * the P is stopped: idle or its holder dead — the stopper takes it; its holder lent it — parked at a safepoint or
 * in a blocking region ({@link P#safeHolder} equals the owner); or held by the stopper itself (a Mutator's thread
 * may collect). {@link #startTheWorld} clears STOP, gives back the Ps it took, unparks the lenders, then drops the
 * claim.
 * <p>Allowed outcomes: the stopper proceeds only when no other thread can touch any mcache; a holder at a
 * safepoint resumes only after the restart. Forbidden: a lender and the stopper both running (prevented by the
 * Dekker pair in {@link P}); a stopper that sleeps while a lender has parked (lenders and releasers unpark it;
 * its 1 ms timed park only bounds how late a holder's death is noticed); a lost restart (the stopper unparks
 * every lender after clearing STOP, and a lender re-reads STOP before parking again).
 * <p>A holder that never polls — an open Mutator whose thread computes, sleeps or blocks outside a blocking
 * region — delays the stop until it does, as a goroutine in a loop without preemption points delayed Go's before
 * 1.14; a claim whose thread died is dropped by the next thread that finds it. Such a wait is never silent: after
 * {@link StallReports#thresholdNanos} (default 1 s) the stopper logs the holder's name, state and stack, counts
 * it, and repeats while the wait lasts.
 *
 * <p>Unlike a goroutine, a Java thread that blocks keeps its P: a thread that holds a P (an open {@link Mutator})
 * and waits for another thread that needs a stop must do so inside {@link Mutator#blocking()}, or it delays stops.
 */
final class Procs {
    /**
     * Every P the heap has made, in creation order: the first {@link #maxProcs} made with the heap, the rest on
     * demand. Grows only (a P is never removed, so an index once read stays valid); replaced by a longer copy under
     * {@link #growLock}, a volatile write that is the creator's half of the Dekker pair with the stopper.
     */
    private volatile P[] all;
    /** GOMAXPROCS: how many Ps are made with the heap; the bound on the collector's parallelism, not on threads. */
    private final int maxProcs;
    /** Makes the cache of each new P. */
    private final java.util.function.Supplier<MCache> caches;
    /** Serializes creators of Ps (a P is created only when a thread finds none idle: rare). */
    private final Object growLock = new Object();
    /** Reports, logs and counts stops and handshakes that wait long for a thread (see {@link StallReports}). */
    final StallReports stalls;
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

    Procs(MHeap heap, int maxProcs, StallReports stalls) {
        this(() -> new MCache(heap), maxProcs, stalls);
    }

    /** Ps whose caches {@code caches} makes (tests of the protocol alone give none). */
    Procs(java.util.function.Supplier<MCache> caches, int maxProcs, StallReports stalls) {
        this.caches = caches;
        this.maxProcs = maxProcs;
        this.stalls = stalls;
        P[] ps = new P[maxProcs];
        for (int i = 0; i < maxProcs; i++) {
            ps[i] = new P(i, caches.get(), this, false);
        }
        all = ps;
    }

    /** How many Ps exist now (at least {@link #maxProcs()}; only grows). */
    int count() {
        return all.length;
    }

    /** GOMAXPROCS: the Ps made with the heap. */
    int maxProcs() {
        return maxProcs;
    }

    P get(int i) {
        return all[i];
    }

    /**
     * Makes a new P for {@code me}, which holds none and found none idle, and returns it held by {@code me} — or null
     * when a stop of the world was claimed meanwhile (the P is then left idle; the caller waits for the restart).
     * The P is published with its owner already set, then the caller reads {@link #stopper} and {@link #closed}:
     * with the stopper's claim-then-enumerate and close's set-then-enumerate, a Dekker pair — either the stopper's
     * enumeration sees the new P (held by a running thread: it waits for it like any other) or the creator sees the
     * claim and gives the P back untouched; either close sets CLOSED on it or the creator sees the close.
     */
    P create(Thread me) {
        P p;
        synchronized (growLock) {
            P[] ps = all;
            MCache cache = caches.get();
            if (cache != null) {
                cache.noPageCache = true;                // see MCache.noPageCache
            }
            p = new P(ps.length, cache, this, true);
            p.initOwner(me);
            P[] grown = java.util.Arrays.copyOf(ps, ps.length + 1);
            grown[ps.length] = p;
            all = grown;
        }
        if (closed) {
            p.release();
            failIfClosed();
        }
        return keepAfterTaking(p, me) ? p : null;
    }

    /**
     * The holder gives back a P it took for a call or a Mutator (the last hold): a P made beyond GOMAXPROCS first
     * gives back its cached spans and page cache, as Go's P destroyed by {@code procresize} does, so threads that
     * burst past GOMAXPROCS and go idle do not keep a cache's worth of spans each. A nested hold just drops a count.
     */
    void releaseHeld(P p) {
        if (p.extra && p.holds == 1 && p.safeHolder == null) {
            p.mcache.releaseAll();
        }
        p.release();
    }

    /**
     * How many Ps no running thread uses now: idle, held by a thread that terminated, lent by a holder parked at a
     * safepoint or inside a blocking region, or held by {@code marking} (the thread that runs the collector's mark,
     * which holds its P but does not run the program meanwhile), counted against GOMAXPROCS: GOMAXPROCS less the
     * Ps running threads use, at least 0. Go's idle Ps, on which its idle mark workers run.
     * A racy count, read without any lock: a scheduling hint, never a guarantee.
     */
    int idleCount(Thread marking) {
        int running = 0;
        for (P p : all) {
            Thread owner = p.ownerPlain();
            if (owner != null && owner != marking && p.safeHolder != owner && owner.isAlive()) {
                running++;
            }
        }
        return Math.max(0, maxProcs - running);          // GOMAXPROCS bounds the CPUs, not the Ps made
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
                if (p.safeHolder != me) {
                    p.mcache.releaseAll();       // the caller's own P: it is between two operations
                }                                // (lent from a blocking region: the stopper may be using it)
            } else if (stopper == null && p.tryAcquireOrTakeOver(me) && keepAfterTaking(p, me)) {
                try {
                    p.mcache.releaseAll();
                } finally {
                    p.release();
                }
            }
        }
    }

    // ------------------------------------------------------------------ handshakes

    /** The thread running a handshake, or null. */
    private volatile Thread handshaker;
    /** Every handshake action a holder ran at its poll, and the collector's stops (see {@link PauseRecorder}). */
    final PauseRecorder pauses = new PauseRecorder();
    /** The longest time a P's holder spent running a handshake action at its poll, since last taken (ns). */
    private final java.util.concurrent.atomic.AtomicLong longestHandshakeNanos = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Runs {@code action} once for every P, each while no other thread uses that P — Go's {@code forEachP}, a
     * ragged barrier instead of a stop of the world: no thread waits for another.
     *
     * <h2>Protocol</h2>
     * The handshaker stores the action in every P, marks it pending ({@link P#HS_PENDING}) and sets
     * {@link P#HANDSHAKE} in its preempt word, which every holder's fast-path guard already reads. Then, P by P,
     * until the action is done ({@link P#HS_DONE}):
     * <ul>
     *   <li>a holder that polls (any Mutator operation, {@code poll()}, taking a P) claims it by CAS and runs it
     *       on its own thread, between two operations — the only wait a running thread sees is its own action;</li>
     *   <li>an idle P, or one whose holder died, the handshaker takes, claims and runs, then gives back;</li>
     *   <li>a P lent by a holder parked at a safepoint or inside a blocking region, the handshaker stops alone:
     *       it sets {@link P#STOP} on that P only, and if the P is still lent (the Dekker pair of {@link P}: a
     *       holder leaving then parks until the STOP is withdrawn) claims and runs the action, withdraws STOP and
     *       unparks the holder;</li>
     *   <li>the handshaker's own P (a Mutator's thread collecting) it runs at once.</li>
     * </ul>
     * Allowed: the action runs for different Ps at different times, on different threads, while other Ps run
     * operations. Forbidden: an action running twice for one P, or while any other thread touches that P's
     * mcache; the handshake returning before every P's action is done (so, afterwards, every operation any P
     * begins starts after its action — what a phase change needs); a lost wake-up (the handshaker parks for at
     * most 50 µs at a time and then looks again; a holder entering a blocking region and a releaser unpark it, a
     * holder that ran its step does not: see {@link #runPendingHandshake}).
     *
     * <p>A P made while a handshake runs (a thread that found no idle P, see {@link #create}) is not in the
     * handshake's list and gets no step: everything its holder does starts after the handshake began, as for a P
     * whose step already ran — the same guarantee, since no step needs to run before a P's first operation (a new
     * P's cache is empty and is prepared when taken; its holder reads the collector's phase afresh).
     *
     * <p>A handshake that has waited {@link StallReports#thresholdNanos} for one P reports the P's holder (its name,
     * state and stack) and repeats while the wait lasts (see {@link StallReports}).
     *
     * <p>Handshakes and stops of the world do not overlap: both are run by the collector under its cycle lock
     * (each checks the other is not running).
     */
    void handshake(java.util.function.Consumer<P> action) {
        Thread me = Thread.currentThread();
        if (stopper != null) {
            throw new IllegalStateException("a handshake while the world is stopped by " + stopper);
        }
        handshaker = me;
        P[] ps = all;                       // the Ps made later start after the handshake began: see above
        long t0 = System.nanoTime();
        SlowestWait slowest = new SlowestWait();
        try {
            for (P p : ps) {
                p.handshakeAction = action;
                p.handshakeState = P.HS_PENDING;
                p.request(P.HANDSHAKE);
            }
            for (P p : ps) {
                StallReports.Wait wait = null;
                long tp = System.nanoTime();
                Thread waitedFor = null;
                for (int attempt = 0; p.handshakeState != P.HS_DONE; attempt++) {
                    failIfClosed();
                    if (p.handshakeState == P.HS_PENDING && tryHandshakeFor(p, me)) {
                        continue;
                    }
                    waitedFor = p.ownerPlain();                  // a running holder: its poll is awaited
                    if (attempt < HANDSHAKE_SPINS) {
                        Thread.onSpinWait();
                    } else {
                        wait = stalls.waiting(wait, "a handshake", p);
                        LockSupport.parkNanos(this, HANDSHAKE_PARK_NANOS);   // then look again
                    }
                }
                slowest.offer(p, waitedFor, System.nanoTime() - tp);
            }
            lastWait = slowest.result(System.nanoTime() - t0);
        } finally {
            for (P p : ps) {
                if (p.claimHandshake()) {                 // (a failed handshake: nobody runs what is left)
                    p.handshakeState = P.HS_DONE;
                }
                p.withdraw(P.HANDSHAKE);
                p.handshakeAction = null;
                p.handshakeState = P.HS_NONE;
            }
            handshaker = null;
        }
    }

    private static final long HANDSHAKE_PARK_NANOS = 50_000;
    /**
     * Spins before the handshaker parks: few, unlike a stop's. Nobody waits for a handshake, and a spinning
     * handshaker on a machine with as many busy threads as CPUs takes the CPU from the very holder whose poll it
     * waits for (measured: handshake steps of several ms with two mutators on two CPUs).
     */
    private static final int HANDSHAKE_SPINS = 64;

    /** The handshaker runs {@code p}'s action itself if the P is its own, idle, dead-held or lent; else false. */
    private boolean tryHandshakeFor(P p, Thread me) {
        Thread owner = p.ownerPlain();
        if (owner == me && p.safeHolder != me) {
            runClaimed(p);                                 // its own P, between two of its operations
            return true;
        }
        if (owner == null || !owner.isAlive()) {
            if (p.tryAcquireOrTakeOver(me)) {
                try {
                    p.mcache.prepareForSweep();            // (a P that changes hands is prepared first)
                    runClaimed(p);
                } finally {
                    p.release();
                }
                return true;
            }
            return false;
        }
        if (p.safeHolder == owner) {
            p.request(P.STOP);                            // this P only: its holder parks if it leaves meanwhile
            try {
                if (p.safeHolder == owner && p.ownerPlain() == owner) {
                    runClaimed(p);
                    return true;
                }
            } finally {
                p.withdraw(P.STOP);
                LockSupport.unpark(owner);
            }
        }
        return false;
    }

    /** Runs {@code p}'s pending action if this call claims it; returns whether it did. */
    private static boolean runClaimed(P p) {
        if (p.claimHandshake()) {
            try {
                runAction(p);
            } finally {
                p.handshakeState = P.HS_DONE;
            }
            return true;
        }
        return false;
    }

    /**
     * The holder's half (its P held and in use, at a poll): runs the pending handshake action if the handshaker has
     * not, and records how long it spent in it (its pause). It does not wake the handshaker, which notices within
     * its park of {@link #HANDSHAKE_PARK_NANOS}: an unpark here let the OS hand this thread's CPU to the handshaker at
     * once, and on a machine with as many busy threads as CPUs the holder then waited milliseconds to run again
     * (measured: 2-5 ms "handshake steps" with two mutators on two CPUs). Nobody waits for a handshake; the holder
     * does.
     */
    void runPendingHandshake(P p) {
        long t0 = System.nanoTime();
        if (runClaimed(p)) {
            long spent = System.nanoTime() - t0;
            pauses.record(spent);
            long longest;
            while (spent > (longest = longestHandshakeNanos.get())
                    && !longestHandshakeNanos.compareAndSet(longest, spent)) {
                Thread.onSpinWait();
            }
        }
    }

    private static void runAction(P p) {
        java.util.function.Consumer<P> action = p.handshakeAction;
        if (action != null) {                              // (null only after a failed handshake gave up)
            action.accept(p);
        }
    }

    /** How long the last stop of the world or handshake waited, and for whom (see {@link SafepointWait}). */
    private volatile SafepointWait lastWait = SafepointWait.NONE;

    SafepointWait lastWait() {
        return lastWait;
    }

    /** The P whose running holder a stop or handshake waited for longest; touched by the stopper alone. */
    private static final class SlowestWait {
        private long nanos;
        private int p = -1;
        private Thread holder;

        void offer(P p, Thread waitedFor, long waited) {
            if (waitedFor != null && waited > nanos) {
                nanos = waited;
                this.p = p.id;
                holder = waitedFor;
            }
        }

        SafepointWait result(long total) {
            return new SafepointWait(total, nanos, p, holder == null ? "" : holder.getName());
        }
    }

    /** The longest handshake action a holder ran at its poll since the last call (ns), and resets it. */
    long takeLongestHandshakeNanos() {
        return longestHandshakeNanos.getAndSet(0);
    }

    /** Wakes the handshaker, if any (a P it waits for was lent or released: it has the step to run itself). */
    void wakeHandshaker() {
        Thread h = handshaker;
        if (h != null) {
            LockSupport.unpark(h);
        }
    }

    /**
     * Prepares the caches of idle Ps for the current sweep cycle ({@link MCache#prepareForSweep}), taking each
     * idle P for the moment, as Go's {@code forEachP} runs {@code prepareForSweep} for idle Ps: their stale spans
     * are swept now, on the calling thread, rather than by the next mark setup inside its pause. An idle P made
     * beyond GOMAXPROCS gives back its whole cache (one whose holder closed its Mutator from a blocking region kept
     * it). Ps held by live threads prepare themselves when they next resume. World running; any thread without a P.
     */
    void prepareIdle() {
        Thread me = Thread.currentThread();
        for (P p : all) {
            if (p.ownerPlain() == null && stopper == null && p.tryAcquire(me)) {
                if (keepAfterTaking(p, me)) {
                    try {
                        if (p.extra) {
                            p.mcache.releaseAll();              // an idle P made past GOMAXPROCS keeps nothing
                        } else {
                            p.mcache.prepareForSweep();
                        }
                    } finally {
                        p.release();
                    }
                }
            }
        }
    }

    /**
     * Stops the world (Go's {@code stopTheWorld}): claims the stop, asks every P's holder to stop ({@link P#STOP}),
     * then waits until each P is stopped — taken by the stopper (idle, or its holder died), lent (its holder is
     * parked at a safepoint or in a blocking region, see {@link P}), or the caller's own. Holders at their next
     * poll lend their P and wake the stopper; Ps borrowed by {@link Heap}'s methods wake it when released. The
     * wait parks and is woken by those unparks; a 1 ms timeout only bounds how late a holder's death is noticed.
     * Undo with {@link #startTheWorld}. Records how long it waited, and for which P's running holder longest
     * ({@link #lastWait}), as {@link #handshake} does.
     */
    void stopTheWorld() {
        Thread me = Thread.currentThread();
        Thread h = handshaker;
        if (h != null && h != me) {               // (the collector's cycle lock keeps them apart: a bug if not)
            throw new IllegalStateException("a stop of the world while " + h + " runs a handshake");
        }
        long parkNanos = FIRST_PARK_NANOS;
        boolean interrupted = false;
        try {
            for (int attempt = 0; !tryClaimStop(me); attempt++) {
                dropDeadStopper();
                failIfClosed();
                interrupted |= Thread.interrupted();
                parkNanos = backOff(attempt, parkNanos);     // another stopper holds the world
            }
            for (P p : all) {
                p.request(P.STOP);
            }
            long t0 = System.nanoTime();
            SlowestWait slowest = new SlowestWait();
            // Ps made before the claim was seen are found by re-reading the list at each step; one made after
            // it is given back idle by its creator (see create) and taken here, or left idle after the last read.
            for (int i = 0; i < all.length; i++) {
                P p = all[i];
                p.request(P.STOP);
                p.stopTaken = false;
                StallReports.Wait wait = null;
                long tp = System.nanoTime();
                Thread waitedFor = null;
                for (int attempt = 0; ; attempt++) {
                    Thread owner = p.ownerPlain();
                    if (owner == me) {
                        break;                                   // the caller's own P (or one it took before)
                    }
                    if (owner == null || !owner.isAlive()) {
                        if (p.tryAcquireOrTakeOver(me)) {
                            p.stopTaken = true;
                            break;
                        }
                        continue;
                    }
                    if (p.safeHolder == owner) {
                        break;                                   // lent: its holder waits at a safepoint
                    }
                    waitedFor = owner;                           // a running holder: its poll is awaited
                    failIfClosed();
                    interrupted |= Thread.interrupted();
                    if (attempt < STOP_SPINS) {
                        Thread.onSpinWait();                     // a polling holder lends within microseconds
                    } else {
                        wait = stalls.waiting(wait, "a stop of the world", p);
                        LockSupport.parkNanos(this, MAX_PARK_NANOS);
                    }
                }
                slowest.offer(p, waitedFor, System.nanoTime() - tp);
            }
            lastWait = slowest.result(System.nanoTime() - t0);
        } catch (RuntimeException | Error e) {
            abandonStop(me);
            throw e;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Claims the stop for {@code me} (step 1 of the protocol); from then on no thread takes an idle P or keeps one it
     * makes. Returns whether it did (false: another thread stops or holds the world).
     */
    boolean tryClaimStop(Thread me) {
        return STOPPER.compareAndSet(this, (Thread) null, me);
    }

    /**
     * Spins the stopper waits for a running holder's next poll before it parks: a few tens of microseconds, less
     * than waking a parked thread costs on these machines (parking made every stop of a busy mutator ~100 µs).
     */
    private static final int STOP_SPINS = 4_096;

    /** Wakes the stopper, if any (a P it waits for was lent or released). */
    void wakeStopper() {
        Thread s = stopper;
        if (s != null) {
            LockSupport.unpark(s);
        }
    }

    /** A stop that failed part way (the heap closed): gives back what it took and lets everyone go on. */
    private void abandonStop(Thread me) {
        if (stopper != me) {
            return;
        }
        restart();
    }

    private void restart() {
        for (P p : all) {
            p.withdraw(P.STOP);
            if (p.stopTaken) {
                p.stopTaken = false;
                p.release();
            } else {
                Thread owner = p.ownerPlain();
                if (owner != null) {
                    LockSupport.unpark(owner);                  // a holder parked at a safepoint
                }
            }
        }
        stopper = null;
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
    void dropDeadStopper() {
        Thread s = stopper;
        if (s != null && !s.isAlive() && STOPPER.compareAndSet(this, s, (Thread) null)) {
            for (P p : all) {                            // its stop request dies with it: wake the lenders
                p.withdraw(P.STOP);
                Thread owner = p.ownerPlain();
                if (owner != null) {
                    LockSupport.unpark(owner);
                }
            }
        }
    }

    /**
     * After taking a P: if a stop was claimed meanwhile (between the caller's look at {@link #stopper} and its CAS),
     * the stopper may already have counted this P as stopped — lent by a holder that has since let go — so the
     * caller must not run on it: it gives the P back (waking the stopper) and waits. Returns whether it may keep it.
     */
    private boolean keepAfterTaking(P p, Thread me) {
        Thread s = stopper;
        if (s == null || s == me) {
            return true;
        }
        p.release();
        return false;
    }

    /**
     * Marks the heap closed: threads waiting for a P (in {@link #acquire}) throw "heap is closed" at their next
     * attempt — within the longest back-off park, 1 ms — instead of waiting for a P that may never be let go.
     */
    void close() {
        closed = true;
        for (P p : all) {
            p.request(P.CLOSED);
            Thread owner = p.ownerPlain();
            if (owner != null) {
                LockSupport.unpark(owner);                      // a holder parked at a safepoint
            }
        }
        wakeStopper();
    }

    private void failIfClosed() {
        if (closed) {
            throw new IllegalStateException("heap is closed");
        }
    }

    /**
     * The caller lent its own P (it is inside a blocking region) and now needs it for a nested hold (a
     * {@link Heap} call): it leaves the safe state for the call, waiting out a pending stop, and
     * {@link P#release} makes the P safe again when the nested hold ends. Returns whether an interrupt was cleared
     * while waiting.
     */
    private boolean leaveSafeForNestedHold(P p, Thread me) {
        boolean interrupted;
        try {
            interrupted = leaveSafe(p, me);
        } catch (IllegalStateException closed) {
            p.safeHolder = me;                           // still inside its blocking region
            throw closed;
        }
        p.resafeAtHolds = p.holds;
        return interrupted;
    }

    /**
     * The one way a P's holder leaves the safe state (a safepoint, a blocking region, a nested hold taking a lent P
     * back): writes "running", then re-reads the preempt word — the Dekker pair of {@link P}; while a stop is
     * pending, goes back to safe, wakes the stopper and parks until the restart. The park is woken by the restart's
     * unpark; its timeout only bounds how late a stopper's death is noticed (then its request is withdrawn).
     * Interrupts do not end the wait: the status is cleared while parked (a set status would make every park
     * return at once) and the method returns whether it cleared one, for the caller to set again.
     *
     * @throws IllegalStateException "heap is closed" when the heap closed meanwhile
     */
    boolean leaveSafe(P p, Thread me) {
        boolean interrupted = false;
        for (;;) {
            p.safeHolder = null;
            int preempt = p.preempt;
            if ((preempt & P.CLOSED) != 0) {
                if (interrupted) {
                    me.interrupt();
                }
                throw new IllegalStateException("heap is closed");
            }
            if ((preempt & P.STOP) == 0) {
                p.mcache.prepareForSweep();              // a mark termination may have ended while it was safe
                return interrupted;
            }
            p.safeHolder = me;
            wakeStopper();
            while ((p.preempt & P.STOP) != 0 && (p.preempt & P.CLOSED) == 0) {
                LockSupport.parkNanos(this, DEAD_STOPPER_CHECK_NANOS);
                interrupted |= Thread.interrupted();
                dropDeadStopper();
            }
        }
    }

    private static final long DEAD_STOPPER_CHECK_NANOS = 10_000_000;

    /** Whether {@code t} has stopped the world (its {@link #stopTheWorld} returned and it has not restarted it). */
    boolean stoppedBy(Thread t) {
        return stopper == t;
    }

    /** Whether some thread is stopping, or holds, the world. */
    boolean worldStopping() {
        return stopper != null;
    }

    /** Restarts the world stopped by {@link #stopTheWorld}: gives back the Ps it took and wakes lent Ps' holders. */
    void startTheWorld() {
        if (stopper != Thread.currentThread()) {
            throw new IllegalStateException("startTheWorld by a thread that did not stop it");
        }
        restart();
        Thread me = Thread.currentThread();
        for (P p : all) {                                     // (the Ps it took are given back by now)
            if (p.ownerPlain() == me && p.safeHolder != me) {
                p.mcache.prepareForSweep();                  // the stopper's own P resumes without a poll
            }
        }
    }

    /**
     * The P a thread tries first: its id scrambled by a Fibonacci multiply, then mapped onto [0, n) by a
     * multiply-high (Lemire's range reduction) — no division on the borrowing path. Sequential thread ids spread
     * evenly over the Ps.
     */
    static int homeIndex(long threadId, int n) {
        long mixed = (threadId * 0x9E3779B97F4A7C15L) >>> 32;       // the high half of the product: well mixed
        return (int) ((mixed * n) >>> 32);
    }

    /**
     * Takes a P for the calling thread: its own again (a nested hold), an idle one, or a new one. Never waits for
     * another thread to let a P go; it waits only while a stop of the world is claimed (until the restart).
     */
    P acquire() {
        Thread me = Thread.currentThread();
        int start = homeIndex(me.threadId(), maxProcs);       // home among the GOMAXPROCS Ps made with the heap
        P p = all[start];
        if (stopper == null && p.tryAcquire(me) && keepAfterTaking(p, me)) {
            return taken(p);
        }
        return taken(acquireSlow(me, start));
    }

    /**
     * A P just taken, before its new holder's first operation: its cache prepared for the current sweep cycle (see
     * MSweep: no allocation in a stale span) and a pending handshake step run.
     */
    private P taken(P p) {
        p.mcache.prepareForSweep();
        if ((p.preempt & P.HANDSHAKE) != 0) {
            runPendingHandshake(p);
        }
        return p;
    }

    /**
     * Finds a P: the caller's own (a nested hold), else an idle one or one whose holder died, else a new one
     * ({@link #create}); while a stop of the world is claimed by another thread it waits for the restart instead,
     * as a Go M does. An interrupt does not end that wait (a P is not an interruptible resource, as a monitor is
     * not): the interrupt status is cleared while waiting — a set status would make every park return at once and
     * the wait spin — and set again before returning or throwing.
     */
    private P acquireSlow(Thread me, int start) {
        long parkNanos = FIRST_PARK_NANOS;
        boolean interrupted = false;
        try {
            for (int attempt = 0; ; attempt++) {
                failIfClosed();
                P[] ps = all;
                int n = ps.length;
                boolean stopping = false;
                for (int i = 0; i < n; i++) {
                    P p = ps[(start + i) % n];
                    Thread owner = p.ownerPlain();
                    if (owner == me) {
                        if (p.safeHolder == me) {
                            interrupted |= leaveSafeForNestedHold(p, me);
                        }
                        p.holds++;
                        return p;
                    }
                    if (owner != null && owner.isAlive()) {
                        continue;
                    }
                    Thread s = stopper;
                    if (s != null && s != me) {
                        if (s.isAlive()) {
                            stopping = true;
                            continue;                        // the world is stopping: leave idle Ps to the stopper
                        }
                        dropDeadStopper();
                    }
                    if (p.tryAcquireOrTakeOver(me) && keepAfterTaking(p, me)) {
                        return p;
                    }
                }
                Thread s = stopper;
                if (!stopping && (s == null || s == me || !s.isAlive())) {
                    P made = create(me);                     // every P is held by a live thread: one more
                    if (made != null) {
                        return made;
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
