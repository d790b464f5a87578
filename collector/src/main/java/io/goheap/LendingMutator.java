package io.goheap;

import java.util.Objects;

/**
 * A thread's Mutator that holds its P only inside its own calls: between two calls the P is lent to the collector,
 * as inside {@link Mutator#blocking()}, so no stop of the world or handshake ever waits for this thread — whatever
 * it does between calls (block on a lock, sleep, compute for minutes) — and a collection may run at any moment
 * between two of its calls. Made by {@link Heap#attachLending()}.
 *
 * <h2>When to choose it</h2>
 * A {@link Mutator} (held) is the fastest way in, and asks two things of its thread: block only inside
 * {@link Mutator#blocking()} and call {@link Mutator#poll()} in long loops, or every collection waits for it (and
 * says so in the log, see {@link Heap.Builder#stallReportThreshold}). Choose this class where that cannot be kept —
 * code that takes locks or does I/O between heap calls and cannot wrap each in a region (request handlers, logging,
 * callbacks into unknown code). Each call costs two more volatile writes (taking the P back and lending it again;
 * docs/benchmarks.md measures it) and every call is a safepoint.
 *
 * <h2>The rule for addresses in Java locals</h2>
 * Since a collection may run between any two calls, an address held in a Java local across calls must be rooted.
 * {@link #allocate(HeapType)} roots what it returns in this Mutator's local frame (as JNI's local references): it
 * lives until the frame is closed, so open a frame per unit of work ({@link #enterFrame()}) and store what must
 * outlive it into a reachable object or a {@link Root}. An address read with {@link #loadPointer} is safe while the
 * slot it was read from (or another root) still holds it; {@link #keep} it if another thread may unlink it first.
 *
 * <p>Confined to the thread that made it; calls from another thread throw {@link IllegalStateException}. Not a
 * {@link Mutator}: the thread has one open Mutator on the heap, lent between calls; {@link Heap#attach()} on the
 * same thread throws.
 */
public final class LendingMutator implements AutoCloseable {
    private final Mutator mutator;
    private final io.goheap.allocator.Mutator allocator;

    LendingMutator(Mutator mutator) {
        this.mutator = mutator;
        this.allocator = mutator.allocatorMutator();
        allocator.lend();
    }

    /** Takes the P back for a call: waits out a stop of the world in progress. */
    private void enter() {
        try {
            allocator.reclaim();
        } catch (IllegalStateException e) {
            throw mutator.heap().allocator.closedOr(e);
        }
    }

    /** Lends the P again after a call. */
    private void leave() {
        if (allocator.usableHere()) {
            allocator.lend();
        }
    }

    /**
     * As {@link Mutator#malloc(long)}.
     *
     * @param size the size in bytes
     * @return the new object's address
     */
    public long malloc(long size) {
        enter();
        try {
            return mutator.malloc(size);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#mallocUninitialized(long)}.
     *
     * @param size the size in bytes
     * @return the new object's address
     */
    public long mallocUninitialized(long size) {
        enter();
        try {
            return mutator.mallocUninitialized(size);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#malloc(HeapType)}: a manual object (never collected, so never kept in the frame).
     *
     * @param type the object's type
     * @return the new object's address
     */
    public long malloc(HeapType type) {
        enter();
        try {
            return mutator.malloc(type);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#free(long)}.
     *
     * @param address the address of an object of this heap
     */
    public void free(long address) {
        enter();
        try {
            mutator.free(address);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#allocate(HeapType)}, and the new object is kept in this Mutator's local frame before the P is
     * lent again (a collection may run as soon as the call returns): it lives at least until the current frame is
     * closed.
     *
     * @param type the object's type
     * @return the new object's address
     */
    public long allocate(HeapType type) {
        Objects.requireNonNull(type, "type");
        enter();
        try {
            return mutator.keep(mutator.allocate(type));
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#storePointer}.
     *
     * @param slot the address of an 8-byte-aligned pointer slot in the heap
     * @param value the pointer to store (0: none)
     */
    public void storePointer(long slot, long value) {
        enter();
        try {
            mutator.storePointer(slot, value);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#compareAndSetPointer}.
     *
     * @param slot the address of an 8-byte-aligned pointer slot in the heap
     * @param expected the pointer the slot must hold
     * @param value the pointer to store (0: none)
     * @return true when the slot held {@code expected} and now holds {@code value}
     */
    public boolean compareAndSetPointer(long slot, long expected, long value) {
        enter();
        try {
            return mutator.compareAndSetPointer(slot, expected, value);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#loadPointer}; see the class comment for how long the address stays safe.
     *
     * @param slot the address of an 8-byte-aligned pointer slot in the heap
     * @return the pointer the slot holds (0: none)
     */
    public long loadPointer(long slot) {
        enter();
        try {
            return mutator.loadPointer(slot);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#copyPointers}.
     *
     * @param to the first destination slot
     * @param from the first source slot
     * @param bytes how many bytes to copy, a multiple of 8
     */
    public void copyPointers(long to, long from, long bytes) {
        enter();
        try {
            mutator.copyPointers(to, from, bytes);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#keep}: roots {@code address} in the local frame until the frame is closed.
     *
     * @param address the address of an object of this heap
     * @return {@code address}
     */
    public long keep(long address) {
        enter();
        try {
            return mutator.keep(address);
        } finally {
            leave();
        }
    }

    /**
     * As {@link Mutator#enterFrame()}: what is kept (and allocated) after this is dropped when the frame closes.
     *
     * @return the frame; close it to drop what was kept in it
     */
    public Frame enterFrame() {
        return new Frame(mutator.enterFrame());
    }

    /** A local frame ({@link #enterFrame()}). */
    public final class Frame implements AutoCloseable {
        private final Mutator.Frame frame;

        private Frame(Mutator.Frame frame) {
            this.frame = frame;
        }

        /**
         * As {@link LendingMutator#keep}.
         *
         * @param address the address of an object of this heap
         * @return {@code address}
         */
        public long keep(long address) {
            return LendingMutator.this.keep(address);
        }

        /** Pops the frame (and any frame entered inside it and left open). Idempotent. */
        @Override
        public void close() {
            enter();
            try {
                frame.close();
            } finally {
                leave();
            }
        }
    }

    /** As {@link Heap#gc()}: this thread's P is lent while the collection runs. */
    public void gc() {
        mutator.checkOwner();
        mutator.heap().gc();
    }

    /**
     * As {@link Heap#gc(java.time.Duration)}.
     *
     * @param timeout how long to wait at most
     * @return true when the collection finished within {@code timeout}
     */
    public boolean gc(java.time.Duration timeout) {
        mutator.checkOwner();
        return mutator.heap().gc(timeout);
    }

    /**
     * The heap this Mutator allocates in.
     *
     * @return the heap this Mutator allocates in
     */
    public Heap heap() {
        return mutator.heap();
    }

    /** Gives the P back and drops the local frame. Idempotent. */
    @Override
    public void close() {
        try {
            enter();
        } catch (IllegalStateException closedOrNotOwner) {
            // the close below gives the P back whatever happened (or says it is the wrong thread)
        }
        mutator.close();
    }
}
