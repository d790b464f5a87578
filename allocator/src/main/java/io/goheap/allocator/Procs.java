package io.goheap.allocator;

import java.util.concurrent.locks.LockSupport;

/**
 * The heap's Ps (Go's {@code allp}) and how threads get one.
 *
 * <p>A thread first tries the P its id hashes to, then every other P, with one CAS each. A thread that
 * already holds a P (an open {@link Mutator}) and asks again may take a second, idle P for the call; if every
 * other P is busy it gets its own P back (nested hold), so code mixing both APIs cannot deadlock itself. When every P is held, the thread takes over a P whose owner has
 * terminated, or else waits with a short, growing back-off — as a Go M waits for a P. Holding a P while
 * blocking therefore delays other threads, like a goroutine that holds a P.
 */
final class Procs {
    private final P[] all;

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
     * Flushes the caches of the Ps nobody holds (Go flushes every mcache before it frees OS memory): their
     * spans go back to the mcentrals, which merges pending remote frees and returns empty spans to the heap.
     * Ps held by other threads are left alone.
     */
    void flushIdle() {
        Thread me = Thread.currentThread();
        for (P p : all) {
            if (p.tryAcquire(me)) {
                try {
                    p.mcache.releaseAll();
                } finally {
                    p.release();
                }
            }
        }
    }

    P acquire() {
        Thread me = Thread.currentThread();
        int n = all.length;
        int start = (int) Long.remainderUnsigned(me.threadId(), n);
        P p = all[start];
        if (p.tryAcquire(me)) {
            return p;
        }
        return acquireSlow(me, start);
    }

    private P acquireSlow(Thread me, int start) {
        int n = all.length;
        long backoffNanos = 1_000;
        for (int attempt = 0; ; attempt++) {
            for (int i = 0; i < n; i++) {
                P p = all[(start + i) % n];
                Thread owner = p.ownerPlain();
                if (owner == me) {
                    p.holds++;
                    return p;
                }
                if (owner == null ? p.tryAcquire(me) : (!owner.isAlive() && p.tryTakeOver(owner, me))) {
                    return p;
                }
            }
            if (attempt < 64) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(backoffNanos);
                backoffNanos = Math.min(backoffNanos * 2, 1_000_000);
            }
        }
    }
}
