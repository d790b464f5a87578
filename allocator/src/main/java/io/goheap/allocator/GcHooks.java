package io.goheap.allocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongConsumer;

/**
 * The allocator's face to the collector (in Go one package; here a module boundary): recording an object's type
 * at allocation, a marker's work list ({@link MarkWork}: Go's {@code greyobject} and {@code scanobject}),
 * enumerating the manual objects that hold pointers (roots, as Go's stacks), and stopping and restarting the world around a cycle.
 *
 * <h2>Who may call what</h2>
 * {@link #writeType} is called by the allocating thread right after the allocation, before the address escapes,
 * inside the same heap operation (so no safepoint separates them). Everything else runs with the world stopped
 * ({@link #stopTheWorld()}), by the thread that stopped it: the marker is single-threaded and no mutator runs, so
 * the plain reads of allocation bits, heap bits and headers here see every write made before the stop.
 */
public final class GcHooks {
    private final MHeap heap;
    private final Procs procs;
    private final MemorySegment memory;
    private final long base;

    GcHooks(MHeap heap, Procs procs) {
        this.heap = heap;
        this.procs = procs;
        this.memory = heap.memory();
        this.base = heap.base();
    }

    // ------------------------------------------------------------------ types

    /**
     * Records that the object at {@code address} (as malloc returned it, of a scan span) holds {@code count}
     * elements of {@code type}; a null type records "no pointers". Heap bits for objects of at most 512 bytes, the
     * malloc header for larger small ones, the span for large ones.
     */
    public void writeType(long address, long count, GcType type) {
        writeType(heap.spanOfObject(address), address, count, type);
    }

    /** As {@link #writeType(long, long, GcType)} right after {@code cache} allocated the object. */
    void writeType(MCache cache, long address, long count, GcType type) {
        MSpan s = cache.lastSpan;
        writeType(s != null ? s : heap.spanOfObject(address), address, count, type);
    }

    private void writeType(MSpan s, long address, long count, GcType type) {
        if (s.noscan) {
            if (type != null) {
                throw new IllegalArgumentException("a typed object with pointers was allocated in a noscan span");
            }
            return;
        }
        if (s.isLarge()) {
            s.largeCount = count;
            s.largeType = type;                       // volatile: after the count
        } else if (s.hasHeader) {      // the header lives in the span, out of reach of stores (see MSpan#typeInfo)
            s.typeInfo[s.objectIndex(address - s.base)] =
                    type == null ? 0 : ((long) type.id() & 0xFFFF_FFFFL) | (count << 32);
        } else {
            HeapBits.write(s, address, type == null ? 0 : type.slotBits(count, (int) (s.elemSize >>> 3)));
            if (heap.recordTypeIds) {
                s.recordTypeId(address, type == null ? 0 : type.id());
            }
        }
    }

    /**
     * Whether {@link #writeType} also records the type id of objects with heap bits, so pointer checks can name
     * it: set once by the collector when it is built with {@code GODEBUG=checkptr=1}, before any allocation.
     */

    /**
     * Turns on the sweeper's debug modes (see {@link Quarantine}): dead collected objects stay quarantined for
     * {@code cycles} cycles (0: none) and freed ones are clobbered ({@code clobberFree}). Call before the heap is
     * shared with other threads.
     */
    public void setSweepDebug(int cycles, boolean clobberFree) {
        heap.quarantineCycles = cycles;
        heap.clobberFree = clobberFree;
    }

    /** The start of the quarantined collected object containing {@code address}, or 0 (see {@link Quarantine}). */
    public long quarantinedObject(long address) {
        return Quarantine.quarantinedObject(heap, address);
    }

    /** Quarantined objects a mark found reachable so far (memory written without a Mutator; see Quarantine). */
    public long quarantinedReached() {
        return heap.quarantineReached.get();
    }

    /** Turns on {@link MHeap#recordTypeIds}; call before the heap is shared with other threads. */
    public void recordTypeIds() {
        heap.recordTypeIds = true;
    }

    /**
     * GODEBUG=checkptr's check of a pointer slot: null when {@code slot} is a pointer slot of an allocated scan
     * object, else a sentence naming the slot, the object it falls in and the object's type.
     */
    public String pointerSlotProblem(long slot) {
        return PointerSlots.slotProblem(heap, slot);
    }

    /** GODEBUG=checkptr's check of a stored value: null for 0, an address outside the heap or inside an object. */
    public String pointerValueProblem(long value) {
        return PointerSlots.valueProblem(heap, value);
    }

    // ------------------------------------------------------------------ marking

    /** A marker's work list over this heap (see {@link MarkWork}); bad pointers found in slots go to {@code onBad}. */
    public MarkWork newMarkWork(MarkWork.BadPointerHandler onBad) {
        return new MarkWork(heap, onBad, false, false);
    }

    /**
     * A work list for a concurrent mark (see {@link MarkWork}): it runs while mutators allocate and free, so an
     * object that vanished under it (freed, its span returned) is skipped instead of reported.
     */
    public MarkWork newConcurrentMarkWork(MarkWork.BadPointerHandler onBad) {
        MarkWork w = new MarkWork(heap, onBad, false, true);
        w.shaker = concurrentMarkShaker;
        return w;
    }

    private volatile Runnable concurrentMarkShaker;

    /** Tests only (shaking mode): concurrent marks run {@code shaker} before scanning each object. */
    public void shakeConcurrentMarkForTests(Runnable shaker) {
        this.concurrentMarkShaker = shaker;
    }

    /**
     * Starts or ends allocate-black (a concurrent mark: see {@link MCache}). Starting may run beside the mutators
     * (a P that has not yet seen the flag allocates white, which is safe once every P's write barrier is on);
     * ending is done with the world stopped and returns the bytes every P allocated black since, resetting them.
     */
    public long setAllocateBlack(boolean on) {
        heap.allocateBlack = on;
        if (on) {
            return 0;                                     // the counts are zero: every end reset them
        }
        long bytes = 0;
        for (int i = 0; i < procs.count(); i++) {
            MCache c = procs.get(i).mcache;
            bytes += c.blackBytes;
            c.blackBytes = 0;
        }
        return bytes;
    }

    /**
     * The manual scan spans and manual bytes for a concurrent mark, taken with the world running: a handshake with
     * every P (see {@link ManualRoots#takeByHandshake}). When it returns, every P has passed a poll since the call
     * began: a phase word written before the call is seen by every operation any P starts afterwards.
     */
    public ManualRoots snapshotManualRootsByHandshake() {
        return ManualRoots.takeByHandshake(heap, procs);
    }

    /**
     * Prepares every P's mcache for the current sweep cycle by a handshake (see {@link Procs#handshake}): each P's
     * holder does it at its next poll, the calling thread does it for idle and lent Ps. World running.
     */
    public void prepareCachesByHandshake() {
        procs.handshake(p -> p.mcache.prepareForSweep());
    }

    /**
     * A handshake with every P (see {@link Procs#handshake}) whose step gets the thread holding the P when the step
     * runs — on that thread at its poll, or on the calling thread while the holder is parked at a safepoint or in a
     * blocking region; for an idle or dead-held P, the calling thread, which took it. World running.
     */
    public void handshakeHolders(java.util.function.Consumer<Thread> step) {
        procs.handshake(p -> step.accept(p.ownerPlain()));
    }

    /**
     * The heap's pause histogram: every handshake action a thread ran at its poll is recorded in it; the collector
     * records its stops of the world.
     */
    public PauseRecorder pauses() {
        return procs.pauses;
    }

    /**
     * How long the last stop of the world or handshake waited for the Ps' holders, and which holder it waited for
     * longest (Go's time to safepoint). Read by the thread that ran it, right after.
     */
    public SafepointWait lastSafepointWait() {
        return procs.lastWait();
    }

    /** The longest handshake action a thread ran at its poll since the last call, in ns (its pause), and resets. */
    public long takeLongestHandshakeNanos() {
        return procs.takeLongestHandshakeNanos();
    }

    /** The manual scan spans and manual bytes for a concurrent mark ({@link ManualRoots}). World stopped. */
    public ManualRoots snapshotManualRoots() {
        return ManualRoots.take(heap, procs);
    }

    /** A checkmark work list (see {@link MarkWork}): it verifies the cycle's marks instead of setting them. */
    public MarkWork newCheckmarkWork(MarkWork.BadPointerHandler onBad) {
        return new MarkWork(heap, onBad, true, false);
    }

    /**
     * Clears every mark bit (a cycle abandoned part way: nothing may survive on its marks). World stopped. Flushes
     * every mcache first: cached spans (the allocating spans are kept across cycles) carry marks too.
     */
    public void clearAllMarks() {
        flushCaches();
        for (MCentral c : heap.central) {
            if (c.collected) {
                c.forEachSpan((s, list, set) -> s.clearMarks());
            }
        }
    }

    /**
     * Whether {@code address} may be the start of an allocated collected object (as allocate returned it): an
     * object's start, or any address inside an allocated tiny block (objects under 16 bytes share blocks, and
     * their starts are not recorded: Go allows a finalizer on an inner address of a tiny block too). Any thread.
     */
    public boolean isCollectedObjectStart(long address) {
        MSpan s = heap.findSpan(address);
        if (s == null || !s.collected) {
            return false;
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(address - s.base);
        return (s.tiny || s.objectAddress(idx) == address) && s.isAllocatedRacy(idx) && !s.isRemoteFreedRacy(idx);
    }

    /** Whether {@code address} lies in a tiny block (an object of the tiny allocator, see {@link AllocShape}). */
    public boolean isInTinyBlock(long address) {
        MSpan s = heap.findSpan(address);
        return s != null && s.tiny;
    }

    /** Whether {@code address} lies inside an allocated object (manual or collected) that may hold pointers. World stopped. */
    public boolean isInsideAllocatedScanObject(long address) {
        MSpan s = heap.findSpan(address);
        if (s == null || s.noscan) {
            return false;
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(address - s.base);
        return s.isAllocatedRacy(idx) && !s.isRemoteFreedRacy(idx);
    }

    /** Whether the object at {@code address} is marked in the current cycle. World stopped. */
    public boolean isMarked(long address) {
        MSpan s = heap.findSpan(address);
        return s != null && s.isMarked(s.isLarge() ? 0 : s.objectIndex(address - s.base));
    }

    /**
     * Calls {@code visitor} with every allocated manual object that lives in a scan span (Go scans its manually
     * managed stacks; these are the roots the heap itself holds), and returns the bytes of all manual objects.
     * World stopped: the spans on the mcentrals and those the Ps cache ({@link ManualRoots#take}).
     */
    public long forEachManualScanObject(LongConsumer visitor) {
        ManualRoots roots = ManualRoots.take(heap, procs);
        roots.forEachObject(visitor);
        return roots.manualBytes();
    }

    // ------------------------------------------------------------------ the world

    /**
     * Stops the world: takes every P (Go's {@code stopTheWorld}); a P its holder lent at a safepoint counts as
     * taken, and so does the caller's own. Returns the nanoseconds it took.
     */
    public long stopTheWorld() {
        long t0 = System.nanoTime();
        procs.stopTheWorld();
        return System.nanoTime() - t0;
    }

    public void startTheWorld() {
        procs.startTheWorld();
    }

    /** Every P's mcache gives its spans back to their mcentrals (Go's {@code flushallmcaches}). World stopped. */
    public void flushCaches() {
        for (int i = 0; i < procs.count(); i++) {
            procs.get(i).mcache.releaseAll();
        }
        heap.releaseRetainedEmpty();
    }

    /**
     * Prepares every P's mcache for the current sweep cycle (see {@link MSweep}): stale spans swept and given back.
     * World stopped. A mark setup calls it (no stale span may be cached while a mark runs); so does a forced
     * collection's termination, which returns with everything swept.
     */
    public void prepareCaches() {
        MSweep.prepareCaches(procs);
    }

    /**
     * Prepares the caches of idle Ps (see {@link Procs#prepareIdle}), after a mark termination restarted the world,
     * so their stale spans do not wait for the next mark setup's pause. World running, called without a P.
     */
    public void prepareIdleCaches() {
        procs.prepareIdle();
        heap.releaseRetainedEmpty();                      // as a full flush does: a collection gives them back
    }

    /**
     * How many Ps no running thread uses now (idle, lent, dead-held, or held by {@code marking}, the thread running
     * the mark): where idle mark workers may run (see {@link Procs#idleCount}). Racy; any thread.
     */
    public int idleProcs(Thread marking) {
        return procs.idleCount(marking);
    }

    /** Sweeps one span waiting for sweeping, if any (Go's {@code sweepone}); any thread. Whether it found one. */
    public boolean sweepOne() {
        return MSweep.sweepOne(heap);
    }

    /**
     * Runs {@code listener} once per sweep cycle, on the sweeping thread that first finds nothing left to sweep on
     * the mcentrals (Go's "sweep done", which {@code gcpacertrace} reports). Null removes it.
     */
    public void onSweepDone(Runnable listener) {
        heap.sweepDoneListener = listener;
    }

    /** Pages swept since the current sweep cycle began (Go's {@code pagesSwept}). */
    public long pagesSwept() {
        return heap.pagesSwept.get();
    }

    /** Pages that waited for sweeping when the current sweep cycle began. */
    public long pagesToSweep() {
        return heap.pagesToSweep;
    }

    /**
     * Bytes a request of {@code size} bytes takes in the heap (Go's {@code roundupsize}): its size class, with the
     * malloc header for scan objects above 512 bytes, or whole pages for a large object.
     */
    public static long allocationSize(long size, boolean noscan) {
        if (size <= SizeClasses.MAX_SMALL_ALLOC) {
            boolean header = !noscan && size > SizeClasses.MIN_SIZE_FOR_MALLOC_HEADER;
            return SizeClasses.classSize(SizeClasses.sizeToClass(header ? size + SizeClasses.MALLOC_HEADER_SIZE : size));
        }
        long pages = (size + SizeClasses.PAGE_SIZE - 1) >>> SizeClasses.PAGE_SHIFT;
        return pages << SizeClasses.PAGE_SHIFT;
    }

    /** Sweeps every span still waiting (Go's {@code finishsweep_m}); any thread. Returns the spans swept. */
    public int finishSweep() {
        return MSweep.finishSweep(heap);
    }

    /**
     * Ends a mark phase (world stopped, marking done, every cache prepared for the ending cycle): advances
     * sweepgen, so every span waits for sweeping with this cycle's mark bits — the cached ones swept by their P when
     * it resumes (see {@link MSweep}).
     */
    public void startSweepCycle() {
        MSweep.startCycle(heap, procs);
    }

    /** Bytes of the spans in use (Go's heapLive at span granularity): the pacer's measure of the heap. */
    public long heapInUseBytes() {
        return heap.inUseBytes();
    }
}
