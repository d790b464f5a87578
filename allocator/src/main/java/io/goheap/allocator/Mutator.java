package io.goheap.allocator;

/**
 * A thread's hold on one of the heap's Ps (Go's M holding a P): the allocation fast path, and the thread's
 * safepoints.
 *
 * <p>Confined to the thread that called {@link Heap#attach()}; calls from another thread throw
 * {@link IllegalStateException}. While open, small allocations and frees of objects in spans this P caches
 * take no lock, allocate nothing on the Java heap and perform no volatile write. Close it (try-with-resources)
 * to hand the P back; a thread that terminates with its Mutator open gives its P up to the next thread looking
 * for an idle P, or to {@code freeOSMemory}.
 *
 * <h2>Safepoints</h2>
 * Every operation starts with one guard that also reads the P's preempt word ({@link P}): when a stop of the
 * world is pending, the operation first lends the P to the stopper and parks until the world restarts (a
 * safepoint), then goes on. {@link #poll()} is a safepoint alone, for long loops that do not allocate. A thread
 * about to block (I/O, a lock, waiting for another thread) while it keeps the Mutator open does so inside
 * {@link #blocking()} (Go's {@code entersyscall}): the stopper counts its P as stopped, and leaving the region
 * waits for a pending stop to end. Between safepoints the thread's work is never interrupted by a collection; a
 * thread that neither polls nor blocks inside a region delays every stop.
 */
public final class Mutator implements AutoCloseable {
    private final Heap heap;
    private final MCache cache;
    private final Thread thread;
    private final long maxAlloc;
    /** The P while usable; null when closed or inside a blocking region (so the fast-path guard fails over). */
    private P p;
    /** The P while inside a blocking region, else null. */
    private P lent;

    Mutator(Heap heap, P p) {
        this.heap = heap;
        this.p = p;
        this.cache = p.mcache;
        this.thread = Thread.currentThread();
        this.maxAlloc = heap.reservation();
    }

    /** As {@link Heap#malloc}. */
    public long malloc(long size) {
        // One combined guard for the common case — closed, wrong thread, stop pending or heap closed (both in the
        // preempt word), bad size; the checked path below names whatever is wrong or parks at the safepoint.
        P held = p;
        if (held == null || Thread.currentThread() != thread || held.preempt != 0 || size <= 0 || size > maxAlloc) {
            checkOrPark(size);
        }
        return allocated(size, true, false, true);
    }

    /** As {@link Heap#mallocUninitialized}: pointer-free, not zeroed. */
    public long mallocUninitialized(long size) {
        P held = p;
        if (held == null || Thread.currentThread() != thread || held.preempt != 0 || size <= 0 || size > maxAlloc) {
            checkOrPark(size);
        }
        return allocated(size, true, false, false);
    }

    /** As {@link Heap#mallocScan}. */
    public long mallocScan(long size) {
        return allocateTyped(size, 0, null, false, false);
    }

    /**
     * As {@link Heap#allocate}: a manual or collected object, noscan or scan (its type recorded next by the caller).
     */
    public long allocate(long size, boolean noscan, boolean collected) {
        return allocateTyped(size, 0, null, noscan, collected);
    }

    /** As {@link Heap#allocateTyped}: allocation and type record in one operation, without a safepoint between. */
    public long allocateTyped(long size, long count, GcType type, boolean collected) {
        return allocateTyped(size, count, type, type == null, collected);
    }

    /**
     * Allocates a collected object of {@code shape} (zeroed, its type recorded): the collected fast path, which looks
     * up nothing the shape already knows. Pointer-free objects under 16 bytes are packed into 16-byte tiny blocks
     * (see {@link AllocShape}).
     */
    public long allocateCollected(AllocShape shape) {
        P held = p;
        if (held == null || Thread.currentThread() != thread || held.preempt != 0 || shape.size > maxAlloc) {
            checkOrPark(shape.size);
        }
        long address;
        try {
            address = cache.mallocShaped(shape);
        } catch (IllegalStateException e) {
            throw heap.closedOr(e);
        }
        if (heap.isClosed()) {
            throw Heap.closedError();
        }
        return address;
    }

    /** Allocates, and for a scan object records its type (or "no pointers") before the address escapes. */
    private long allocateTyped(long size, long count, GcType type, boolean noscan, boolean collected) {
        P held = p;
        if (held == null || Thread.currentThread() != thread || held.preempt != 0 || size <= 0 || size > maxAlloc) {
            checkOrPark(size);
        }
        long address = allocated(size, noscan, collected, true);
        if (!noscan) {
            try {
                heap.gcHooks().writeType(cache, address, count, type);   // a reused slot's old heap bits must go
            } catch (IllegalStateException e) {
                throw heap.closedOr(e);                  // the heap closed under the allocation
            }
        }
        return address;
    }

    /**
     * Allocates, then checks the heap is still open: an allocation that overlaps a {@link Heap#close()} by another
     * thread throws "heap is closed" instead of returning an address of an unmapped heap.
     */
    private long allocated(long size, boolean noscan, boolean collected, boolean zero) {
        long address;
        try {
            address = cache.malloc(size, noscan, collected, zero);
        } catch (IllegalStateException e) {
            throw heap.closedOr(e);
        }
        if (heap.isClosed()) {
            throw Heap.closedError();
        }
        return address;
    }

    /**
     * As {@link Heap#free}. Its safepoint comes <em>after</em> the free: the object being freed is often held only
     * in the caller's local (just unlinked, or never stored), and a collection at the start would reclaim it first.
     */
    public void free(long address) {
        P held = p;
        boolean pending = false;
        if (held == null || Thread.currentThread() != thread || held.preempt != 0) {
            check();
            int preempt = p.preempt;
            if ((preempt & P.CLOSED) != 0) {
                throw Heap.closedError();
            }
            pending = (preempt & (P.STOP | P.HANDSHAKE)) != 0;
        }
        try {
            cache.free(address);
        } catch (IllegalStateException e) {
            throw heap.closedOr(e);
        } finally {
            if (pending) {
                checkOrPark(1);                          // the stop waited for this free: now lend the P
            }
        }
    }

    /** Whether the owner is inside a blocking region. Owner thread only. */
    public boolean inBlockingRegion() {
        return lent != null;
    }

    /**
     * Whether the calling thread may use this Mutator for a store: it owns it, and it is open and not inside a
     * blocking region. One field load and one thread compare; {@link #checkUsable} says what is wrong.
     */
    public boolean usableHere() {
        return p != null && Thread.currentThread() == thread;
    }

    /**
     * Whether a stop of the world or a handshake waits for this Mutator's P: long work between two polls — a mark
     * assist — should end soon.
     */
    public boolean pollRequested() {
        P held = p;
        return held != null && (held.preempt & (P.STOP | P.HANDSHAKE)) != 0;
    }

    /** Throws if this Mutator is closed, used from another thread, inside a blocking region or its heap closed; never parks. */
    public void checkUsable() {
        check();
        if ((p.preempt & P.CLOSED) != 0) {
            throw Heap.closedError();
        }
    }

    /** A safepoint: if a stop of the world is pending, lends the P and waits for the restart. */
    public void poll() {
        P held = p;
        if (held == null || Thread.currentThread() != thread || held.preempt != 0) {
            checkOrPark(1);
        }
    }

    /**
     * Enters a blocking region (Go's {@code entersyscall}): until the region is closed the P counts as stopped for
     * the collector and this Mutator cannot be used (its operations throw). Close the region on the same thread;
     * closing waits for a pending stop of the world to end.
     */
    public Region blocking() {
        lend();
        return new Region();
    }

    /**
     * Lends the P as entering a blocking region does, without a region object: for a Mutator that is lent between
     * calls (the collector's lending mode). Undo with {@link #reclaim()}.
     */
    public void lend() {
        check();
        P held = p;
        p = null;
        lent = held;
        held.safeHolder = thread;
        held.wakeWaiters();                               // a stopper or handshaker may now use the lent P
    }

    /**
     * Takes the P lent by {@link #lend()} back, as closing a blocking region does: waits out a pending stop. Does
     * nothing when the P is not lent (a reclaim that failed on a closed heap left it held).
     *
     * @throws IllegalStateException "heap is closed", or when called from another thread or after close
     */
    public void reclaim() {
        P held = lent;
        if (held == null || Thread.currentThread() != thread) {
            check();
            return;
        }
        lent = null;
        p = held;
        leaveSafe(held);
    }

    /** A blocking region ({@link #blocking()}); closing it more than once does nothing. */
    public final class Region implements AutoCloseable {
        private boolean open = true;

        private Region() {
        }

        @Override
        public void close() {
            if (!open) {
                return;
            }
            if (Thread.currentThread() != thread) {
                throw new IllegalStateException("a blocking region must be left by the thread that entered it: " + thread);
            }
            open = false;
            if (lent == null) {
                return;                                   // the Mutator was closed inside the region: nothing to leave
            }
            reclaim();
        }
    }

    /** Gives the P back. Idempotent; inside a blocking region it also leaves the region. */
    @Override
    public void close() {
        if (Thread.currentThread() != thread && (p != null || lent != null)) {
            throw new IllegalStateException("a Mutator must be closed by the thread that attached it: " + thread);
        }
        P held = p != null ? p : lent;
        if (held != null) {
            boolean wasLent = p == null;
            p = null;
            lent = null;
            held.safeHolder = null;
            if (wasLent) {
                held.release();                           // (a stopper may count it stopped: its cache is not touched)
            } else {
                heap.procs().releaseHeld(held);           // an extra P gives its cache back
            }
        }
    }

    /** The slow half of every guard: throws what is wrong, or parks at the safepoint if a stop is pending. */
    private void checkOrPark(long size) {
        check();
        P held = p;
        if ((held.preempt & P.CLOSED) != 0) {
            throw Heap.closedError();
        }
        if ((held.preempt & P.STOP) != 0) {
            leaveSafe(held);                              // lends the P and waits out the stop
        }
        if ((held.preempt & P.HANDSHAKE) != 0) {
            heap.procs().runPendingHandshake(held);       // the collector's per-P action, here, between operations
        }
        heap.checkSize(size);
    }

    /** Leaves the safe state ({@link Procs#leaveSafe}), restoring an interrupt it cleared while parked. */
    private void leaveSafe(P held) {
        if (heap.procs().leaveSafe(held, thread)) {
            thread.interrupt();
        }
    }

    private void check() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("Mutator belongs to " + thread + ", not " + Thread.currentThread());
        }
        if (p == null) {
            throw new IllegalStateException(lent != null
                    ? "the Mutator is inside a blocking region: close the region before using it"
                    : "Mutator is closed");
        }
    }
}
