package io.goheap;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * A thread's hold on one of the heap's Ps (Go's M holding a P): the allocation fast path, collected objects,
 * pointer stores, local roots and safepoints.
 *
 * <p>Confined to the thread that called {@link Heap#attach()}; calls from another thread throw
 * {@link IllegalStateException}. While open, small allocations and frees of objects in spans this P caches
 * take no lock, allocate nothing on the Java heap and perform no volatile write. Close it (try-with-resources)
 * to hand the P back. A thread that terminates with its Mutator open keeps the P until another thread looking for
 * an idle P takes it over, or {@link Heap#freeOSMemory()} flushes its cache. Any number of threads may hold a
 * Mutator at once (the heap makes a P for a thread that finds every P held).
 *
 * <h2>Safepoints, and the rule for addresses in Java locals</h2>
 * Collections run concurrently with Mutators: the collector's threads (and allocating Mutators, as mark assists)
 * mark and sweep while other threads allocate, store and load. A Mutator's thread takes part in a cycle only at its
 * safepoints — the start of an allocation ({@code malloc}, {@code allocate}), the end of a {@code free},
 * {@link #poll()}, {@link #gc()}, or inside a {@link #blocking()} region: there the collector's handshakes and
 * stops reach it (a cycle's start, which reads the roots and this Mutator's local frame; the end of marking, which
 * takes its write-barrier buffer; {@link Heap#readMemStats()}). Pointer stores and loads are not safepoints, so an
 * address returned by {@code allocate} may be stored into a rooted object before anything else without being
 * rooted itself, and an object held only in a local (just unlinked) may be passed to {@link #free}. An object this
 * thread allocated, or loaded from a pointer slot or root, since its last safepoint is never freed before its next
 * one, so an address held in a Java local is always safe between two safepoints. <b>An address of a collected
 * object kept in a Java local across a safepoint must be rooted</b> — in a {@link Root}, in this Mutator's local
 * frame ({@link #keep}), or in a pointer slot of a reachable object — or the cycle that reads the roots at that
 * safepoint may not see it, and free it. A thread that holds a
 * Mutator and neither polls nor blocks inside a region delays every collection (as a Go loop without preemption
 * points did before Go 1.14): call {@link #poll()} in long loops and wrap blocking calls in {@link #blocking()}.
 *
 * <h2>Local frames</h2>
 * {@link #keep} pushes an address on this Mutator's local stack (Java's answer to Go's stack scanning, like JNI
 * local references); {@link #enterFrame()} marks the stack's height and its {@link Frame#close()} pops back to
 * it. Written only by the owner thread. A concurrent mark reads them once, at this thread's step of a handshake
 * ({@link #scanFrames}), and from then on every {@code keep} records its address in the write barrier, so
 * nothing is read again at the mark's end (see {@link WriteBarrier}); a stop-the-world mark reads them with the
 * world stopped (the owner is then parked at a safepoint, whose volatile hand-off orders its writes before the
 * read). An address handed to another thread through a Java object must stay rooted here until that thread has
 * rooted it ({@code keep}, a store, {@link Root#set}); a thread that dies with this Mutator open drops its
 * frames, as {@link #close()} does.
 */
public final class Mutator implements AutoCloseable {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final Heap heap;
    private final io.goheap.allocator.Mutator allocator;
    private final Thread owner = Thread.currentThread();
    private final MemorySegment memory;
    private final long base;
    /** The largest offset of a pointer slot in the heap's segment. */
    private final long maxSlotOffset;
    private final LocalFrames frames;
    /** Bytes of collected objects allocated since the pacer last looked. */
    private long sinceCheck;
    private boolean closed;
    /** The heap's write barrier (its phase word) and this Mutator's buffer; see {@link WriteBarrier}. */
    private final WriteBarrier barrier;
    private WriteBarrier.Buffer barrierBuffer;
    /** GODEBUG checkptr / gcquarantine: the checks run before every pointer access; null when neither is on. */
    private final PointerChecks checks;

    Mutator(Heap heap, io.goheap.allocator.Mutator allocator) {
        this.heap = heap;
        this.allocator = allocator;
        this.memory = heap.segment();
        this.base = heap.base();
        this.maxSlotOffset = heap.reservation() - 8;
        this.barrier = heap.collector.barrier;
        this.barrierBuffer = barrier.take();
        this.frames = new LocalFrames(barrier, this::shadeForKeep);
        this.checks = heap.pointerChecks;
        heap.collector.mutators.put(owner, this);
    }

    /** The calling thread's open Mutator on {@code heap}, or null. */
    static Mutator current(Heap heap) {
        return heap.collector.mutators.get(Thread.currentThread());
    }

    /** The allocator's Mutator under this one (for {@link LendingMutator}). */
    io.goheap.allocator.Mutator allocatorMutator() {
        return allocator;
    }

    String ownerName() {
        return owner.toString();
    }

    boolean ownerAlive() {
        return owner.isAlive();
    }

    boolean inBlockingRegion() {
        return allocator.inBlockingRegion();
    }

    // ------------------------------------------------------------------ manual objects

    /**
     * As {@link Heap#malloc}: a manual, pointer-free object.
     *
     * @param size bytes to allocate, in [1, reservation]
     * @return the object's address
     */
    public long malloc(long size) {
        return allocator.malloc(size);
    }

    /**
     * As {@link Heap#mallocUninitialized}: pointer-free manual memory, not zeroed (fill it before reading).
     *
     * @param size bytes to allocate, in [1, reservation]
     * @return the object's address
     */
    public long mallocUninitialized(long size) {
        return allocator.mallocUninitialized(size);
    }

    /**
     * As {@link Heap#malloc(HeapType)}: a manual object whose pointer slots are roots while it lives.
     *
     * @param type the object's type
     * @return the object's address
     */
    public long malloc(HeapType type) {
        Objects.requireNonNull(type, "type");
        return allocator.allocateTyped(type.size(), type.length(), type.gcType, false);
    }

    /**
     * As {@link Heap#free}. A collected object may be freed too: it is freed at once, as a manual one; a pointer to
     * it that the collector later finds in a reachable slot or root is reported as invalid
     * ({@link InvalidPointerException}). The free's safepoint comes after it, so the object may be held only in a
     * local when freed (freshly allocated, or just unlinked). Do not free a pinned object.
     *
     * @param address the address an allocation returned
     */
    public void free(long address) {
        if (checks != null) {
            checks.checkRooted("free", address);
        }
        heap.collector.specials.forget(address);  // first: once freed, the slot may be reused and given specials
        allocator.free(address);
    }

    // ------------------------------------------------------------------ collected objects

    /**
     * Allocates a <em>collected</em> object of {@code type}, zeroed: it lives while it is reachable from a root,
     * a local frame or a manual object's pointer slot, and is reclaimed by a later cycle once it is not. The
     * address is safe in a Java local until this Mutator's next operation (see the class comment). May run a
     * collection first when the pacer's goal is reached.
     *
     * @throws MemoryLimitExceededException when the heap was built with {@link Heap.Builder#memoryLimitExit} and is
     *                                      in a death spiral (nothing is allocated; free memory and go on)
     * @param type the object's type
     * @return the object's address
     */
    public long allocate(HeapType type) {
        Objects.requireNonNull(type, "type");
        try {
            return allocateCollected(type);
        } catch (IllegalStateException e) {
            throw heap.allocator.closedOr(e);           // an assist or a sweep that met the close: "heap is closed"
        }
    }

    private long allocateCollected(HeapType type) {
        long bytes = sinceCheck + type.allocationBytes;
        if (bytes >= GcPacer.TRIGGER_CHECK_BYTES) {
            heap.collector.checkMemoryLimitExit();      // the opt-in death-spiral exit: throws before allocating
            sinceCheck = 0;
            heap.collector.allocated(this, bytes);
        } else {
            sinceCheck = bytes;
        }
        long address = allocator.allocateCollected(type.shape);
        Runnable shake = barrier.shaker;
        if (shake != null) {
            shake.run();                                 // tests: a new (black) object, not yet stored anywhere
        }
        return address;
    }

    // ------------------------------------------------------------------ pointers

    /**
     * Stores {@code value} (an object's address, or 0) into the pointer slot at {@code slot}: the one way to store a
     * pointer, so the collector sees every store. Not a safepoint.
     *
     * <p>A slot that is not a pointer slot of a live object (a data word, a header, past the object's end, a free
     * slot) is not checked by default — the store changes data, as a C store would, but never the collector's own
     * metadata, which lives off the heap's memory, so no reachable object is freed for it — and with
     * {@code GODEBUG=checkptr=1} it is refused (see {@link Heap.Builder#godebug}).
     *
     * @param slot the address of an 8-byte-aligned slot in the heap
     * @param value the pointer to store (0: none)
     * @throws IllegalArgumentException when {@code slot} is not an 8-byte aligned address inside the heap; with
     *                                  checkptr, when it is not a pointer slot of an allocated object or
     *                                  {@code value} points into the heap where no object is allocated
     */
    public void storePointer(long slot, long value) {
        long offset = usableSlot(slot);
        if (checks != null) {
            checks.checkStore("storePointer", slot, value);
        }
        try {
            if (barrier.marking) {
                shadeForStore(offset, value);
            }
            memory.set(SLOT, offset, value);             // a closed heap's segment throws: no check needed here
        } catch (IllegalStateException e) {
            allocator.checkUsable();
            throw e;
        }
    }

    /**
     * Atomically sets the pointer slot at {@code slot} to {@code value} if it holds {@code expected}. Not a safepoint.
     * Slots and values are checked as by {@link #storePointer}.
     *
     * @param slot the address of an 8-byte-aligned slot in the heap
     * @param expected the pointer the slot must hold
     * @param value the pointer to store (0: none)
     * @return true when the slot held {@code expected} and now holds {@code value}
     */
    public boolean compareAndSetPointer(long slot, long expected, long value) {
        allocator.checkUsable();
        long offset = checkedSlot(slot);
        if (checks != null) {
            checks.checkStore("compareAndSetPointer", slot, value);
        }
        try {
            if (barrier.marking) {
                shadeForStore(offset, value);            // as Go's atomicwb: before the swap, whatever its result
            }
            return LONG.compareAndSet(memory, offset, expected, value);
        } catch (IllegalStateException e) {
            throw heap.allocator.closedOr(e);           // the close unmapped the heap under the call
        }
    }

    /**
     * The pointer in the slot at {@code slot} (a plain read); with checkptr the slot is checked as a store's.
     *
     * @param slot the address of an 8-byte-aligned slot in the heap
     * @return the pointer it holds (0: none)
     */
    public long loadPointer(long slot) {
        long offset = usableSlot(slot);
        if (checks != null) {
            checks.checkLoad(slot);
        }
        try {
            return memory.get(SLOT, offset);
        } catch (IllegalStateException e) {
            allocator.checkUsable();
            throw e;
        }
    }

    /**
     * Copies {@code bytes} (a multiple of 8) of pointer slots from {@code from} to {@code to} (Go's
     * {@code typedmemmove}). Not a safepoint. With checkptr every word of both ranges must be a pointer slot of an
     * allocated object and every value copied must pass {@link #storePointer}'s value check.
     *
     * @param to the first destination slot
     * @param from the first source slot
     * @param bytes how many bytes to copy, a multiple of 8
     */
    public void copyPointers(long to, long from, long bytes) {
        allocator.checkUsable();
        if (bytes < 0 || (bytes & 7) != 0) {
            throw new IllegalArgumentException("bytes must be a non-negative multiple of 8: " + bytes);
        }
        if (bytes > 0) {
            long src = checkedSlot(from);
            long dst = checkedSlot(to);
            if (bytes - 8 > maxSlotOffset - Math.max(src, dst)) {
                throw new IllegalArgumentException(String.format(
                        "copying %d bytes from 0x%x to 0x%x runs past the end of the heap at 0x%x",
                        bytes, from, to, base + heap.reservation()));
            }
            try {
                if (checks != null) {
                    checks.checkCopy(memory, base, to, from, bytes);
                }
                if (barrier.marking) {                   // Go's bulkBarrierPreWrite: every old and new pointer
                    for (long i = 0; i < bytes; i += 8) {
                        shadeForStore(dst + i, memory.get(SLOT, src + i));
                    }
                }
                MemorySegment.copy(memory, src, memory, dst, bytes);
            } catch (IllegalStateException e) {
                throw heap.allocator.closedOr(e);       // the close unmapped the heap under the call
            }
        }
    }

    /**
     * The write barrier's slow half (a concurrent mark runs): records the slot's current value and the value about
     * to be stored, non-zero ones only, in this Mutator's buffer; hands a full buffer to the marker.
     */
    private void shadeForStore(long offset, long value) {
        long old = memory.get(SLOT, offset);
        WriteBarrier.Buffer b = barrierBuffer;
        if (b.count > WriteBarrier.ENTRIES - 2) {
            b = barrierBuffer = barrier.flush(b, barrierWork());
        }
        long[] e = b.entries;
        int n = b.count;
        if (old != 0) {
            e[n++] = old;
        }
        if (value != 0) {
            e[n++] = value;
        }
        b.count = n;
        Runnable shake = barrier.shaker;
        if (shake != null) {
            shake.run();                                 // tests: let the marker run between this and the store
        }
    }

    /** This Mutator's marker for its barrier flushes (made on the first flush). */
    private io.goheap.allocator.MarkWork barrierWork;

    private io.goheap.allocator.MarkWork barrierWork() {
        io.goheap.allocator.MarkWork w = barrierWork;
        if (w == null) {
            // a bad slot found by an assist's scan is a suspect of the cycle, as the marker's own (see Marker)
            WriteBarrier wb = barrier;
            w = barrierWork = heap.allocator.gcHooks().newConcurrentMarkWork((p, slot) -> wb.addSuspect(p, slot));
        }
        return w;
    }

    /**
     * A mark assist (Go's {@code gcAssistAlloc}): while a concurrent mark runs, this thread pays for its allocation
     * with up to {@code scanBudget} bytes of scan work, taking grey objects from the barrier's queue (asking the
     * marker to share its stack when the queue is empty), and hands back what it could not finish. Called by the
     * pacer between two safepoints, so mark termination, which waits for this thread's P, finds every object this
     * assist greyed either scanned or queued. Gives up when no work comes within a few microseconds: the marker
     * is then near its end. Returns whether it did any work.
     */
    boolean assist(long scanBudget) {
        io.goheap.allocator.MarkWork w = barrierWork();
        long marked = w.markedBytes();
        long scanned = w.scannedBytes();
        long done = 0;
        boolean waiting = false;
        boolean holding = false;
        int idle = 0;
        long t0 = System.nanoTime();
        try {
            while (done < scanBudget && barrier.scanning) {
                if (!holding) {
                    barrier.assistsHolding.incrementAndGet();   // before the poll: see WriteBarrier#assistsHolding
                    holding = true;
                }
                WriteBarrier.Buffer b = barrier.pollGrey();
                if (b == null) {
                    barrier.assistsHolding.decrementAndGet();   // nothing held (the local stack is empty here):
                    holding = false;                            // the marker may end its phase meanwhile
                    if (!waiting) {
                        barrier.waitingForWork.incrementAndGet();
                        waiting = true;
                    }
                    if (++idle > ASSIST_IDLE_SPINS || allocator.pollRequested()) {
                        break;                           // no work came, or a stop or handshake waits for us
                    }
                    Thread.onSpinWait();
                    continue;
                }
                idle = 0;
                for (int i = 0; i < b.count; i++) {
                    w.enqueueGrey(b.entries[i]);
                }
                barrier.recycle(b);
                // in chunks, so a stop of the world or a handshake waits for one chunk at most
                while (done < scanBudget && !allocator.pollRequested() && !w.isEmpty()) {
                    done += w.drainBudget(Math.min(scanBudget - done, ASSIST_CHUNK_BYTES));
                }
                if (!w.isEmpty()) {
                    break;                               // budget spent or a poll requested: hand the rest back
                }
            }
        } finally {
            if (waiting) {
                barrier.waitingForWork.decrementAndGet();
            }
            w.takeRemaining(barrier::giveGrey);
            if (holding) {
                barrier.assistsHolding.decrementAndGet(); // after the leftovers are queued
            }
            barrier.markedByMutators.addAndGet(w.markedBytes() - marked);
            barrier.scannedByMutators.addAndGet(w.scannedBytes() - scanned);
            barrier.assistNanos.addAndGet(System.nanoTime() - t0);
        }
        return done > 0;
    }

    /** Scan work between two checks for a pending stop (256 slots: tens of microseconds on a random heap). */
    private static final long ASSIST_CHUNK_BYTES = 2L << 10;

    /** Spins an assist waits for the marker to share work (it checks every 64 objects, ~20 µs) before giving up. */
    private static final int ASSIST_IDLE_SPINS = 2_000;

    /**
     * The ragged barrier before mark termination (a handshake step: on this Mutator's thread at its poll, or on the
     * collector's thread while this one is parked at a safepoint or in a blocking region, so never beside a store):
     * takes the raw pointers the barrier recorded since the last flush, leaving an empty buffer; null when there are
     * none. The caller shades them. O(1), so the step pauses this thread for no time worth measuring.
     */
    WriteBarrier.Buffer takeBarrierBuffer() {
        WriteBarrier.Buffer b = barrierBuffer;
        if (b.count == 0) {
            return null;
        }
        barrierBuffer = barrier.take();
        return b;
    }

    /** The last concurrent mark that read this Mutator's frames, 0 for none (tests). */
    long framesScannedInMark() {
        return frames.scannedInMark();
    }

    /** The thread this Mutator belongs to. */
    Thread owner() {
        return owner;
    }

    /** Mark termination, world stopped: the pointers this Mutator's barrier recorded since its last flush. */
    void flushBarrier(java.util.function.LongConsumer shade) {
        barrier.collect(barrierBuffer, shade);
    }

    /**
     * The segment offset of {@code slot} for a store or load by this Mutator: one guard for the common case (owner
     * thread, open and outside a region, an aligned slot inside the heap); otherwise the checked path names what
     * is wrong.
     */
    private long usableSlot(long slot) {
        long offset = slot - base;
        if (!allocator.usableHere() || (slot & 7) != 0 || Long.compareUnsigned(offset, maxSlotOffset) > 0) {
            allocator.checkUsable();
            offset = checkedSlot(slot);
        }
        return offset;
    }

    /** Slots are 8-byte aligned, checked before access: the segment need not check it again. */
    private static final ValueLayout.OfLong SLOT = ValueLayout.JAVA_LONG_UNALIGNED;

    private long checkedSlot(long slot) {
        long offset = slot - base;
        if ((slot & 7) != 0 || offset < 0 || offset > maxSlotOffset) {
            throw new IllegalArgumentException(String.format(
                    "0x%x is not an 8-byte aligned pointer slot inside the heap [0x%x, 0x%x)",
                    slot, base, base + heap.reservation()));
        }
        return offset;
    }

    // ------------------------------------------------------------------ local frames

    /**
     * Pushes {@code address} on this Mutator's local frame: a root until the frame is closed.
     *
     * @param address the address of a collected object (0 is kept as nothing)
     * @return {@code address}
     */
    public long keep(long address) {
        checkOwner();
        allocator.checkUsable();                 // not inside a blocking region: the collector may be reading
        if (checks != null) {
            checks.checkRooted("keep", address);
        }
        frames.keep(address);                    // recorded in the barrier while a mark runs: see LocalFrames
        return address;
    }

    /** The barrier for a frame (a concurrent mark runs): records the kept address as a store's new value. */
    private void shadeForKeep(long address) {
        WriteBarrier.Buffer b = barrierBuffer;
        if (b.count == WriteBarrier.ENTRIES) {
            b = barrierBuffer = barrier.flush(b, barrierWork());
        }
        b.entries[b.count++] = address;
        Runnable shake = barrier.shaker;
        if (shake != null) {
            shake.run();                                 // tests: let the marker and other threads run here
        }
    }

    /**
     * The frame scan of a concurrent mark (Go's {@code scanstack}), once per mark: shades every address the local
     * frames hold, handing the objects it turns grey to the marker, and returns how many slots it read (0 when this
     * mark already read them). A handshake step (see {@link LocalFrames}).
     */
    long scanFrames(long mark) {
        if (closed) {
            return 0;
        }
        io.goheap.allocator.MarkWork work = barrierWork();
        long marked = work.markedBytes();
        long[] grey = new long[WriteBarrier.ENTRIES];
        int[] count = new int[1];
        int n = frames.scanOnce(mark, address -> {
            long object = work.mark(address);
            if (object > 0) {
                if (count[0] == grey.length) {
                    barrier.giveGrey(grey, 0, count[0]);
                    count[0] = 0;
                }
                grey[count[0]++] = object;
            } else if (object == io.goheap.allocator.MarkWork.BAD) {
                barrier.addRootSuspect(address);     // a racy view or a bad frame entry: termination decides
            }
        });
        barrier.giveGrey(grey, 0, count[0]);
        barrier.markedByMutators.addAndGet(work.markedBytes() - marked);
        Runnable shake = barrier.shaker;
        if (shake != null) {
            shake.run();
        }
        return n;
    }

    /** {@return marks the local stack's height; closing the frame drops what was kept since. Nest them like blocks} */
    public Frame enterFrame() {
        checkOwner();
        return new Frame(frames.height());
    }

    /** A local frame ({@link #enterFrame()}). */
    public final class Frame implements AutoCloseable {
        private final int height;
        private boolean open = true;

        private Frame(int height) {
            this.height = height;
        }

        /**
         * As {@link Mutator#keep}.
         *
         * @param address the address of a collected object
         * @return {@code address}
         */
        public long keep(long address) {
            return Mutator.this.keep(address);
        }

        /** Pops the frame (and any frame entered inside it and left open). Idempotent. */
        @Override
        public void close() {
            if (open && closed) {
                open = false;                        // the Mutator was closed first: its frames went with it
            } else if (open) {
                checkOwner();
                allocator.checkUsable();
                open = false;
                frames.popTo(height);
            }
        }
    }

    /** Every non-zero local root (the collector, world stopped). */
    void forEachLocal(LongConsumer visitor) {
        frames.forEach(visitor);
    }

    // ------------------------------------------------------------------ safepoints and collection

    /** A safepoint: if a collection is pending, waits here for it. For long loops that do not allocate. */
    public void poll() {
        try {
            allocator.poll();
        } catch (IllegalStateException e) {
            throw heap.allocator.closedOr(e);           // a handshake step (a sweep) that met the close
        }
    }

    /**
     * Enters a blocking region (Go's {@code entersyscall}) for a call that may block (I/O, a lock, waiting for
     * another thread): until the region is closed, collections go on without this thread, which must not use this
     * Mutator meanwhile. Closing the region waits for a collection in progress to end.
     *
     * <p>Unlike a goroutine in a system call, the thread keeps its P: the collector may use the P meanwhile (its
     * handshakes and stops, and idle mark workers, treat it as idle), but another thread that needs a P — {@link
     * Heap#attach()}, or {@link Heap#malloc} from a thread without a Mutator — takes an idle one or has one made.
     * For a thread that cannot keep its blocking inside regions, see {@link Heap#attachLending()}.
     *
     * @return the region; close it when the blocking call returns
     */
    public Region blocking() {
        return new Region(allocator.blocking());
    }

    /** A blocking region ({@link #blocking()}): close it on the same thread; closing twice does nothing. */
    public static final class Region implements AutoCloseable {
        private final io.goheap.allocator.Mutator.Region inner;

        private Region(io.goheap.allocator.Mutator.Region inner) {
            this.inner = inner;
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** As {@link Heap#gc()}, from this Mutator's thread (its own P counts as stopped). */
    public void gc() {
        allocator.poll();
        heap.collector.collect(true, this);
    }

    /**
     * As {@link Heap#gc(java.time.Duration)}, from this Mutator's thread: a safepoint, then its P is lent while it
     * waits at most {@code timeout} for a full collection.
     *
     * @param timeout how long to wait at most
     * @return true when the collection finished within {@code timeout}
     */
    public boolean gc(java.time.Duration timeout) {
        allocator.poll();
        return heap.boundedGc.run(heap.collector, timeout, this);
    }

    /** {@return the heap this Mutator allocates in} */
    public Heap heap() {
        return heap;
    }

    /** Gives the P back and drops the local frame. Idempotent. */
    @Override
    public void close() {
        long pending = sinceCheck;
        if (pending > 0 && !closed && !allocator.inBlockingRegion() && Thread.currentThread() == owner
                && !heap.isClosed()) {
            sinceCheck = 0;
            try {
                heap.collector.allocated(this, pending);   // what it allocated counts; may collect now (its
            } catch (IllegalStateException e) {           // frames go with the close anyway)
                if (!heap.isClosed()) {
                    giveBack(true);                        // the P goes back whatever the report
                    throw e;                               // an invalid pointer the program must hear of
                }
                // the heap closed meanwhile: nothing to pace
            }
        }
        giveBack(!closed && Thread.currentThread() == owner);
    }

    /**
     * Gives the P back and drops the local frame; first, if {@code flushBarrier} (the owner closing an open
     * Mutator), hands a non-empty barrier buffer over while the P is still held, so either the mark's termination
     * (which waits for the P) finds it in the barrier's queue, or the mark is over and the buffer empty.
     */
    private void giveBack(boolean flushBarrier) {
        if (flushBarrier && barrierBuffer.count > 0) {
            barrierBuffer = barrier.flush(barrierBuffer, barrierWork());
        }
        allocator.close();
        closed = true;
        frames.popTo(0);
        heap.collector.mutators.remove(owner, this);
    }

    void checkOwner() {
        if (closed) {
            throw new IllegalStateException("Mutator is closed");
        }
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("Mutator belongs to " + owner + ", not " + Thread.currentThread());
        }
    }
}
