package io.goheap;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongConsumer;

/**
 * Go's hybrid write barrier and its buffers ({@code mbarrier.go}, {@code mwbbuf.go}), extended to every place
 * goheap keeps an address: while a concurrent mark runs, every pointer store through a {@link Mutator} records
 * the slot's old value and the new value in the Mutator's buffer of {@link #ENTRIES} entries, {@link
 * Mutator#keep} records the address it pushes on a local frame, and {@link Root#set} records the root's old and
 * new value. When a Mutator's buffer is full the Mutator shades its pointers itself (Go's {@code wbBufFlush}:
 * marking them, on its own thread, so the barrier's cost is paid by the threads that store, in parallel, not by
 * the one marker), keeps in the buffer only the objects it turned grey, and hands it to the marker to scan them;
 * it takes an empty buffer. With no mark running, a store or keep pays one load of the phase word ({@link
 * #marking}).
 *
 * <h2>Why nothing needs rescanning at mark termination</h2>
 * (Termination still reads roots and frames once, world stopped, as a safety net: a gccheckmark run under heavy
 * load found a frame-held object this protocol left unmarked, a gap not yet found. The read costs the slot count,
 * since what the holders reach is already marked.)
 * The holders of addresses are: heap slots (of collected and manual objects), global {@link Root}s (with the
 * roots {@link Pinner}, {@link Heap#rootFor} and a queued finalizer make), the local frames of each {@link
 * Mutator}, the objects with finalizers (scanned as roots), and — between two safepoints of one thread — Java
 * locals. A concurrent mark reads each holder once: the global roots and the finalizable objects when the mark
 * starts, each thread's frames at that thread's step of a handshake (on its own thread at its poll; on the
 * collector's while it is parked in a blocking region), the manual objects as the mark's first job, and every
 * marked object when it is scanned. The argument that this loses nothing reachable at termination:
 * <ol>
 *   <li><b>Every insertion is shaded.</b> While {@link #marking} is on (as its inserting thread sees it), a pointer
 *       put into any holder is recorded: into a heap slot by the store's barrier (the new value), into a root by
 *       {@link Root#set}, into a frame by {@code keep}, into a finalizable object's referents by the slot's
 *       barrier; an object given a finalizer during the mark is shaded itself. A recorded pointer reaches the
 *       marker before termination ends (a full buffer at once; a partial one through the ragged barrier or at
 *       the stop; root records likewise), and every object allocated during the mark is black.</li>
 *   <li><b>Every holder is read after the phase word is on everywhere.</b> The frames' and roots' reads come
 *       after the mark-setup handshake that guarantees every P sees {@link #marking}; a store, keep or root set
 *       runs with a P held, between two polls, so one that saw the word off finished before that handshake.</li>
 *   <li>So an object reachable at termination is marked: follow its path from a holder. The holder's pointer was
 *       either inserted while marking (shaded, by 1) or has been there since before the holder was read (read
 *       and shaded, by 2); each next link sits in a marked object that was either allocated black — every slot
 *       of it written through the barrier — or scanned, and a pointer in it was there when it was scanned or
 *       stored since (shaded). A Mutator's frame that was never read (the Mutator attached after its P's step)
 *       held only pointers kept while marking.</li>
 * </ol>
 * The old value (the deletion half, Yuasa's) is recorded as well, for heap slots and roots, as Go's barrier does:
 * it keeps Go's snapshot property — everything reachable when the mark started is marked this cycle, whatever the
 * program drops meanwhile (floating garbage until the next cycle); deletions from frames (a frame's close, {@link Mutator#close}) and from roots that
 * close need no record, because whoever took the address from there inserted it somewhere, shaded.
 *
 * <h2>The transfers this covers, and the one the contract forbids</h2>
 * Covered: heap slot → heap slot, frame or root; frame → heap slot, root, or this thread's later frame; root →
 * anywhere; a manual holder's pointer taken out and the holder freed (nothing records a free: the insertion
 * does); a frame of one thread → the frame of another through a Java object (a queue, a field), provided the
 * address stays rooted on the sending side until the receiving thread has kept, stored or set it — the receiver's
 * {@code keep} records it. Forbidden by the user contract (see {@link Mutator}): an address carried in a Java
 * variable across a safepoint of a thread while no holder roots it — the sender dropping it (closing its frame,
 * its Mutator, or dying, which drops its frames as a close does) before the receiver rooted it. Such an address
 * may be freed by the cycle in progress, as it may be by a stop-the-world one.
 *
 * <h2>Protocol</h2>
 * {@link #marking} is turned on by mark setup with the world running, then a handshake with every P (a store runs
 * between two polls, so once every P has polled, every store sees it on from its barrier check to its store); only
 * after that handshake does anything scan an object ({@link #scanning}) or allocate black. It is turned off with the
 * world stopped (mark termination). A Mutator's buffer is
 * touched only by its owner thread, except at mark termination, when the stopper shades its raw pointers
 * ({@link #collect}): every owner is stopped then, and the stop orders its last writes before the read; and in
 * the ragged barrier and the frame scan before it, handshakes whose steps swap the partial buffer for an empty one
 * or read the frames, run by the owner at its poll or by the collector while the owner is parked (the
 * handshake's claim orders the two). Root records ({@link #recordRoot}) come from any thread holding a P, under
 * this object's monitor; the collector takes them after each ragged barrier and at the stop. Buffers of grey
 * objects travel through a lock-free queue to the marker ({@link #drainGrey}) and come back empty through
 * another: in steady state a store allocates nothing but the queue's node once per 512 pointers. A Mutator that
 * closes during a mark flushes its buffer first, while it still holds its P, so termination (which waits for the
 * P) finds the grey objects in the queue; the buffer of a Mutator whose thread died is taken by the collector.
 *
 * <p>Allowed: the marker shades a value twice, or shades a value a later store removed (floating garbage until
 * the next cycle). Forbidden: a pointer stored, kept, set or overwritten while marking that neither reaches the
 * marker before termination ends nor sits in a buffer the stopper collects.
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

    /** Pointers {@link #recordRoot} recorded since the collector last took them; under this object's monitor. */
    private long[] rootRecords = new long[16];
    private int rootRecordCount;

    /**
     * Records pointers put into or taken out of a global root (or an object given a finalizer) while marking, from
     * any thread holding a P; 0s are skipped. The collector shades them after each ragged barrier and at the stop.
     */
    synchronized void recordRoot(long old, long value) {
        if (rootRecordCount + 2 > rootRecords.length) {
            rootRecords = java.util.Arrays.copyOf(rootRecords, rootRecords.length * 2);
        }
        if (old != 0) {
            rootRecords[rootRecordCount++] = old;
        }
        if (value != 0) {
            rootRecords[rootRecordCount++] = value;
        }
        Runnable shake = shaker;
        if (shake != null) {
            shake.run();
        }
    }

    /** The raw pointers of a dead thread's buffer, to be shaded with the root records; recycles the buffer. */
    void recordBuffer(Buffer b) {
        synchronized (this) {
            if (rootRecordCount + b.count > rootRecords.length) {
                rootRecords = java.util.Arrays.copyOf(rootRecords, Math.max(rootRecords.length * 2,
                        rootRecordCount + b.count));
            }
            System.arraycopy(b.entries, 0, rootRecords, rootRecordCount, b.count);
            rootRecordCount += b.count;
        }
        recycle(b);
    }

    /** The collector takes every root record ({@link #recordRoot}) and shades it; returns how many it took. */
    int takeRootRecords(LongConsumer shade) {
        long[] taken;
        int n;
        synchronized (this) {
            n = rootRecordCount;
            if (n == 0) {
                return 0;
            }
            taken = java.util.Arrays.copyOf(rootRecords, n);
            rootRecordCount = 0;
        }
        for (int i = 0; i < n; i++) {
            shade.accept(taken[i]);
        }
        return n;
    }

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

    /**
     * Values a concurrent read of a global root or a local frame found hitting no object: a racy view, or a bad
     * root; termination looks for them in the roots and frames, with the world stopped, only when there are any.
     */
    private final ConcurrentLinkedQueue<Long> rootSuspects = new ConcurrentLinkedQueue<>();

    void addRootSuspect(long pointer) {
        if (rootSuspects.size() < 1024) {
            rootSuspects.add(pointer);
        }
    }

    /** Mark termination: the root suspects ({@link #addRootSuspect}), removed from here. */
    java.util.Set<Long> takeRootSuspects() {
        java.util.Set<Long> taken = new java.util.HashSet<>();
        Long p;
        while ((p = rootSuspects.poll()) != null) {
            taken.add(p);
        }
        return taken;
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
        synchronized (this) {
            rootRecordCount = 0;
        }
        rootSuspects.clear();
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
