package io.goheap;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongConsumer;

/**
 * Go's hybrid write barrier and its buffers ({@code mbarrier.go}, {@code mwbbuf.go}): while a concurrent mark
 * runs, every pointer store through a {@link Mutator} records the slot's old value and the new value in the
 * Mutator's buffer of {@link #ENTRIES} entries. When the buffer is full the Mutator shades its pointers itself
 * (Go's {@code wbBufFlush}: marking them, on its own thread, so the barrier's cost is paid by the threads that
 * store, in parallel, not by the one marker), keeps in the buffer only the objects it turned grey, and hands it
 * to the marker to scan them; it takes an empty buffer. With no mark running, a store pays one load of the phase
 * word ({@link #marking}).
 *
 * <h2>Why both values (the hybrid barrier)</h2>
 * Shading the old value (Yuasa's deletion barrier) keeps everything reachable when the mark started reachable for
 * the mark: a pointer can leave a slot only through the barrier. Shading the new value (Dijkstra's insertion
 * barrier) covers pointers to objects the mark cannot reach through the snapshot — one taken from an object freed
 * during the mark and stored elsewhere. Together, with new objects allocated black, no reachable object is left
 * white at mark termination, without rescanning the heap.
 *
 * <h2>Protocol</h2>
 * {@link #marking} is turned on by mark setup with the world running, then a handshake with every P (a store runs
 * between two polls, so once every P has polled, every store sees it on from its barrier check to its store); only
 * after that handshake does anything scan an object ({@link #scanning}) or allocate black. It is turned off with the
 * world stopped (mark termination). A Mutator's buffer is
 * touched only by its owner thread, except at mark termination, when the stopper shades its raw pointers
 * ({@link #collect}): every owner is stopped then, and the stop orders its last writes before the read; and in
 * the ragged barrier before it, a handshake whose step swaps the partial buffer for an empty one, run by the owner
 * at its poll or by the collector while the owner is parked (the handshake's claim orders the two). Buffers of
 * grey objects travel through a lock-free queue to the marker ({@link #drainGrey}) and come back empty through
 * another: in steady state a store allocates nothing but the queue's node once per 512 pointers. A Mutator that
 * closes during a mark flushes its buffer first, while it still holds its P, so termination (which waits for the
 * P) finds the grey objects in the queue.
 *
 * <p>Allowed: the marker shades a value twice, or shades a value a later store removed (floating garbage until
 * the next cycle). Forbidden: a pointer stored or overwritten while marking that neither reaches the marker
 * before termination ends nor sits in a buffer the stopper collects.
 */
final class WriteBarrier {
    /** Go's wbBuf holds 512 pointers. */
    static final int ENTRIES = 512;

    /** One Mutator's buffer: raw pointers while it fills; the grey objects among them once flushed. */
    static final class Buffer {
        final long[] entries = new long[ENTRIES];
        int count;
    }

    /** Bytes of collected objects the Mutators' flushes and assists marked (part of the cycle's live bytes). */
    final java.util.concurrent.atomic.AtomicLong markedByMutators = new java.util.concurrent.atomic.AtomicLong();
    /** Nanoseconds Mutators spent in assists this cycle (gctrace's assist CPU). */
    final java.util.concurrent.atomic.AtomicLong assistNanos = new java.util.concurrent.atomic.AtomicLong();
    /** Bytes of pointer slots the Mutators' assists scanned (part of the cycle's scan work). */
    final java.util.concurrent.atomic.AtomicLong scannedByMutators = new java.util.concurrent.atomic.AtomicLong();

    /** The phase word: a concurrent mark is running (the barrier records). */
    volatile boolean marking;
    /**
     * Objects may be scanned (assists run): set after every P has seen {@link #marking} (a handshake), cleared with
     * it at termination. Before that, a barrier flush may grey objects but nothing is scanned: an object scanned
     * while some P still stores without the barrier could lose a pointer moved into it.
     */
    volatile boolean scanning;
    /**
     * Tests only (shaking mode): run inside every barrier slow path, between reading the slot's old value and the
     * store, and after every collected allocation. Set before the heap's threads start; null otherwise.
     */
    Runnable shaker;
    private final ConcurrentLinkedQueue<Buffer> full = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Buffer> empty = new ConcurrentLinkedQueue<>();

    /** An empty buffer for a Mutator. */
    Buffer take() {
        Buffer b = empty.poll();
        return b != null ? b : new Buffer();
    }

    /**
     * A Mutator's flush (owner thread, its P held): marks every pointer of {@code b} with {@code work}, hands the
     * objects it turned grey to the marker, and returns the buffer to fill next (empty).
     */
    Buffer flush(Buffer b, io.goheap.allocator.MarkWork work) {
        long before = work.markedBytes();
        long[] e = b.entries;
        int grey = 0;
        long previous = 0;
        for (int i = 0, n = b.count; i < n; i++) {
            if (e[i] == previous) {
                continue;                                // the same pointer twice in a row: shaded just now
            }
            previous = e[i];
            long object = work.mark(e[i]);
            if (object > 0) {
                e[grey++] = object;
            }
        }
        markedByMutators.addAndGet(work.markedBytes() - before);
        b.count = grey;
        if (grey == 0) {
            return b;
        }
        full.add(b);
        return take();
    }

    /** Whether buffers wait for the marker. */
    boolean hasFull() {
        return !full.isEmpty();
    }

    /** Bad slots (value, slot) found by assists' scans this cycle: suspects, as the marker's own. */
    private final ConcurrentLinkedQueue<long[]> suspects = new ConcurrentLinkedQueue<>();

    void addSuspect(long pointer, long slot) {
        if (suspects.size() < 1024) {
            suspects.add(new long[] {pointer, slot});
        }
    }

    /** Mark termination: hands every suspect the assists found to {@code into}, removing it from here. */
    void takeSuspects(io.goheap.allocator.MarkWork.BadPointerHandler into) {
        long[] p;
        while ((p = suspects.poll()) != null) {
            into.found(p[0], p[1]);
        }
    }

    /**
     * Assisting mutators and idle background mark workers waiting for grey work (a marker with a long stack shares it
     * while this is positive and the queue is empty).
     */
    final java.util.concurrent.atomic.AtomicInteger waitingForWork = new java.util.concurrent.atomic.AtomicInteger();

    /** Queues {@code count} grey objects from {@code objects[from...]} for whichever marker takes them next. */
    void giveGrey(long[] objects, int from, int count) {
        for (int i = 0; i < count; i += ENTRIES) {
            Buffer b = take();
            int n = Math.min(ENTRIES, count - i);
            System.arraycopy(objects, from + i, b.entries, 0, n);
            b.count = n;
            full.add(b);
        }
    }

    /**
     * Assists holding grey work taken from the queue (counted before they poll, so a buffer is always either queued
     * or counted): the marker does not end its concurrent phase while one does, or their leftovers would all fall
     * to the termination pause.
     */
    final java.util.concurrent.atomic.AtomicInteger assistsHolding = new java.util.concurrent.atomic.AtomicInteger();

    /** One queued buffer of grey objects for an assist, or null; hand it back with {@link #recycle}. */
    Buffer pollGrey() {
        return full.poll();
    }

    void recycle(Buffer b) {
        b.count = 0;
        empty.add(b);
    }

    /**
     * The marker takes the grey objects of every buffer the Mutators flushed (each to be scanned: {@code grey}) and
     * returns the buffers empty; returns how many it took.
     */
    int drainGrey(LongConsumer grey) {
        int n = 0;
        Buffer b;
        while ((b = full.poll()) != null) {
            drain(b, grey);
            empty.add(b);
            n++;
        }
        return n;
    }

    /** Mark termination, world stopped: a Mutator's partial buffer, shaded now. */
    void collect(Buffer b, LongConsumer shade) {
        drain(b, shade);
    }

    /** An abandoned mark: forget every pointer waiting (nothing they mark may survive). */
    void discardAll() {
        Buffer b;
        while ((b = full.poll()) != null) {
            b.count = 0;
            empty.add(b);
        }
    }

    private static void drain(Buffer b, LongConsumer shade) {
        long[] e = b.entries;
        for (int i = 0, n = b.count; i < n; i++) {
            shade.accept(e[i]);
        }
        b.count = 0;
    }
}
