package io.goheap.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A processor (Go's {@code p}): the unit of ownership of an {@link MCache}. A heap starts with GOMAXPROCS of them
 * and makes more on demand, when a thread needs one and none is idle (see {@link Procs}); a thread must hold one
 * to allocate. A P made beyond GOMAXPROCS is {@link #extra}: it keeps no cached memory while idle.
 *
 * <h2>Protocol</h2>
 * {@code owner} is null (idle) or the holding thread. Acquire: CAS null → thread; the holder may acquire again
 * (a hold count, plain, owner-only). Release: when the count drops to 0, a release store of null. The CAS and
 * the release store order everything the previous holder did to the mcache before the next holder's first
 * access. A P whose owner thread has terminated without releasing it is taken over by CAS dead-thread →
 * thread (see {@link Procs}); the mcache is consistent then because a holder only dies between operations
 * unless the JVM itself fails (an Error thrown inside the allocator).
 *
 * <h2>The status word and safepoints (see {@link Procs} for the stopper's half)</h2>
 * {@link #preempt} is written by the stopper ({@link #STOP}) and by close ({@link #CLOSED}) and read by the
 * holder's fast-path guard: one load, in the guard the fast path already evaluates, so polling costs nothing
 * new. {@link #safeHolder} is written by the holder: itself while it is parked at a safepoint or inside a
 * blocking region — then the stopper counts the P as stopped without taking it, and the holder touches nothing
 * until it leaves — and null while it may touch the mcache. The stopper counts the P as lent only when
 * {@code safeHolder == owner}, so a value left by a thread that died never vouches for the P's next holder.
 * Leaving is a Dekker pair with the stopper: the holder writes null, then reads preempt; the stopper writes STOP,
 * then reads owner and safeHolder (all volatile). So either the stopper sees null and waits for the next poll,
 * or the holder sees STOP and parks again; never both running.
 *
 * <h2>Handshakes (see {@link Procs#handshake})</h2>
 * {@link #HANDSHAKE} in the preempt word asks the holder to run {@link #handshakeAction} at its next poll;
 * {@link #handshakeState} goes pending → running → done, the first step by a CAS that the holder and the handshaker
 * may race for, so the action runs exactly once. For a lent P the handshaker sets STOP on this P alone before it
 * claims, so the Dekker pair above keeps a leaving holder parked while the handshaker runs the action.
 */
final class P {
    private static final VarHandle OWNER;
    private static final VarHandle PREEMPT;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(P.class, "owner", Thread.class);
            PREEMPT = MethodHandles.lookup().findVarHandle(P.class, "preempt", int.class);
            HANDSHAKE_STATE = MethodHandles.lookup().findVarHandle(P.class, "handshakeState", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int STOP = 1;
    static final int CLOSED = 2;
    /** A handshake is pending: the holder runs {@link #handshakeAction} at its next poll (see {@link Procs#handshake}). */
    static final int HANDSHAKE = 4;

    /** Handshake states ({@link #handshakeState}). */
    static final int HS_NONE = 0, HS_PENDING = 1, HS_RUNNING = 2, HS_DONE = 3;
    private static final VarHandle HANDSHAKE_STATE;

    /** The pending handshake's action; written by the handshaker before it requests {@link #HANDSHAKE}. */
    volatile java.util.function.Consumer<P> handshakeAction;
    /**
     * {@link #HS_PENDING} → {@link #HS_RUNNING} by CAS claims the pending action: exactly one of the holder (at its
     * poll) and the handshaker (for an idle, dead or lent P) runs it, then writes {@link #HS_DONE}.
     */
    @SuppressWarnings("unused") // via HANDSHAKE_STATE
    volatile int handshakeState;

    final int id;
    final MCache mcache;
    /** Made beyond GOMAXPROCS, on demand: gives its cache back when let go or idle (see {@link Procs#releaseHeld}). */
    final boolean extra;
    /** Whether the current stop of the world took this P (to give back at the restart); the stopper's only. */
    boolean stopTaken;
    /** Requests to the holder: {@link #STOP} (a stop of the world is pending), {@link #CLOSED}. */
    volatile int preempt;
    /** The holder while it is at a safepoint or in a blocking region, else null. Written only by the holder. */
    volatile Thread safeHolder;
    /** Whom to wake when this P is released while a stop is pending. */
    private final Procs procs;
    @SuppressWarnings("unused") // via OWNER
    private volatile Thread owner;
    /** Nested acquisitions by the owner; touched only by the owner. */
    int holds;
    /** The hold count at which the owner lent this P before a nested hold took it back, else -1; owner only. */
    int resafeAtHolds = -1;

    P(int id, MCache mcache, Procs procs, boolean extra) {
        this.id = id;
        this.mcache = mcache;
        this.procs = procs;
        this.extra = extra;
    }

    /** A P being made, before it is published: held by {@code t} from the start (see {@link Procs#create}). */
    void initOwner(Thread t) {
        OWNER.set(this, t);
        holds = 1;
    }

    /** Sets request bits in the preempt word (atomically: a stop and a close may race). */
    void request(int bits) {
        PREEMPT.getAndBitwiseOr(this, bits);
    }

    /** Clears request bits in the preempt word. */
    void withdraw(int bits) {
        PREEMPT.getAndBitwiseAnd(this, ~bits);
    }

    /** Claims the pending handshake: whoever wins runs the action (see {@link #handshakeState}). */
    boolean claimHandshake() {
        if (HANDSHAKE_STATE.compareAndSet(this, HS_PENDING, HS_RUNNING)) {
            withdraw(HANDSHAKE);
            return true;
        }
        return false;
    }

    Thread ownerPlain() {
        return (Thread) OWNER.getOpaque(this);
    }

    boolean tryAcquire(Thread t) {
        if (OWNER.getOpaque(this) == null && OWNER.compareAndSet(this, (Thread) null, t)) {
            holds = 1;
            return true;
        }
        return false;
    }

    /** Takes the P if it is idle, or if its holder has terminated; returns whether it did. */
    boolean tryAcquireOrTakeOver(Thread t) {
        Thread owner = ownerPlain();
        return owner == null ? tryAcquire(t) : !owner.isAlive() && tryTakeOver(owner, t);
    }

    /** Takes the P from a thread that has terminated while holding it. */
    private boolean tryTakeOver(Thread dead, Thread t) {
        if (OWNER.compareAndSet(this, dead, t)) {
            holds = 1;
            return true;
        }
        return false;
    }

    void release() {
        if (--holds == resafeAtHolds) {
            resafeAtHolds = -1;
            safeHolder = ownerPlain();                  // back into the blocking region the nested hold left
            wakeWaiters();
        } else if (holds == 0) {
            OWNER.setRelease(this, (Thread) null);
            wakeWaiters();
        }
    }

    /**
     * Wakes whoever waits for this P, now that its holder lent or released it: a stopper (it takes the P or counts
     * it stopped) or a handshaker (it runs the P's action itself).
     */
    void wakeWaiters() {
        int requests = preempt;
        if ((requests & STOP) != 0) {
            procs.wakeStopper();
        }
        if ((requests & HANDSHAKE) != 0) {
            procs.wakeHandshaker();
        }
    }
}
