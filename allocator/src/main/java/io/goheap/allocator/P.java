package io.goheap.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A processor (Go's {@code p}): the unit of ownership of an {@link MCache}. A heap has at most GOMAXPROCS of
 * them; a thread must hold one to allocate, so thousands of threads share a handful of caches.
 *
 * <h2>Protocol</h2>
 * {@code owner} is null (idle) or the holding thread. Acquire: CAS null → thread; the holder may acquire again
 * (a hold count, plain, owner-only). Release: when the count drops to 0, a release store of null. The CAS and
 * the release store order everything the previous holder did to the mcache before the next holder's first
 * access. A P whose owner thread has terminated without releasing it is taken over by CAS dead-thread →
 * thread (see {@link Procs}); the mcache is consistent then because a holder only dies between operations
 * unless the JVM itself fails (an Error thrown inside the allocator).
 */
final class P {
    private static final VarHandle OWNER;

    static {
        try {
            OWNER = MethodHandles.lookup().findVarHandle(P.class, "owner", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int id;
    final MCache mcache;
    @SuppressWarnings("unused") // via OWNER
    private volatile Thread owner;
    /** Nested acquisitions by the owner; touched only by the owner. */
    int holds;

    P(int id, MCache mcache) {
        this.id = id;
        this.mcache = mcache;
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
        if (--holds == 0) {
            OWNER.setRelease(this, (Thread) null);
        }
    }
}
