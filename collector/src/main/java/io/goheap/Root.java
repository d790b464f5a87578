package io.goheap;

/**
 * A global root slot (Go's globals): the object whose address it holds, and everything reachable from it, is
 * live. Made by {@link Heap#newRoot()}; {@link #close()} drops it. A root may be read and set from any thread.
 * A set holds a P (the caller's own, or one it borrows) while it stores. A concurrent mark reads every root once,
 * when it starts (after a handshake with every P, so a set that began before it has finished); while it runs, a
 * set records the root's old and new value in the write barrier, as a pointer store does ({@link WriteBarrier}),
 * so an object moved from one root to another — by any thread, with or without a Mutator — is not missed.
 *
 * <p>Invariant: while open, the slot is in its heap's root table at {@code index}; closed, it holds nothing and
 * every call but {@link #close()} throws {@link IllegalStateException}.
 */
public final class Root implements AutoCloseable {
    private final Collector collector;
    private final int index;
    private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean closed;
    /** For a root owned by a Java object ({@link Heap#rootFor}): the cleaner registration that also drops it. */
    private volatile java.lang.ref.Cleaner.Cleanable owned;

    Root(Collector collector, int index) {
        this.collector = collector;
        this.index = index;
    }

    /** {@return the address this root holds (0 for none)} */
    public long get() {
        ensureOpen();
        return collector.roots.get(index);
    }

    /**
     * Makes {@code address} (an object's address, 0 for none) a root.
     *
     * @param address the address of a collected or manual object, or 0 for none
     */
    public void set(long address) {
        ensureOpen();
        collector.heap.allocator.runHoldingP(() -> {
            synchronized (this) {                // never after release(): the slot may belong to another root then
                if (closed) {
                    throw new IllegalStateException("root is closed");
                }
                WriteBarrier barrier = collector.barrier;
                if (barrier.marking) {
                    barrier.recordRoot(collector.roots.get(index), address);   // as a heap slot's barrier
                }
                collector.roots.set(index, address);
            }
        });
    }

    /** Drops the root. Idempotent. */
    @Override
    public void close() {
        java.lang.ref.Cleaner.Cleanable c = owned;
        if (c != null) {
            c.clean();                                  // runs release() once, whoever comes first
        } else {
            release();
        }
    }

    /** Closes the root and frees its slot, once (also the cleaner's action for a root owned by a Java object). */
    synchronized void release() {
        closed = true;
        if (released.compareAndSet(false, true)) {
            collector.freeRoot(index);
        }
    }

    void dropWith(java.lang.ref.Cleaner.Cleanable cleanable) {
        owned = cleanable;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("root is closed");
        }
        collector.heap.allocator.ensureUsable();
    }
}
