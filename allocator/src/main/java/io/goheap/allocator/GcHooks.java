package io.goheap.allocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongConsumer;

/**
 * The allocator's face to the collector (in Go one package; here a module boundary): recording an object's type
 * at allocation, finding and marking the object a pointer points into (Go's {@code findObject} +
 * {@code greyobject}), walking an object's pointer slots ({@code scanobject}'s iterator), enumerating the manual
 * objects that hold pointers (roots, as Go's stacks), and stopping and restarting the world around a cycle.
 *
 * <h2>Who may call what</h2>
 * {@link #writeType} is called by the allocating thread right after the allocation, before the address escapes,
 * inside the same heap operation (so no safepoint separates them). Everything else runs with the world stopped
 * ({@link #stopTheWorld()}), by the thread that stopped it: the marker is single-threaded and no mutator runs, so
 * the plain reads of allocation bits, heap bits and headers here see every write made before the stop.
 */
public final class GcHooks {
    /** {@link #shade} result: the pointer names no live object (points into a free slot, or no span). */
    public static final long INVALID = -1;

    private final MHeap heap;
    private final Procs procs;
    private final MemorySegment memory;
    private final long base;
    /** Bytes of the collected objects {@link #shade} marked since {@link #resetMarked}. */
    private long markedBytes;

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
        MSpan s = heap.spanOfObject(address);
        if (s.noscan) {
            if (type != null) {
                throw new IllegalArgumentException("a typed object with pointers was allocated in a noscan span");
            }
            return;
        }
        if (s.isLarge()) {
            s.largeCount = count;
            s.largeType = type;                       // volatile: after the count
        } else if (s.hasHeader) {
            long header = type == null ? 0 : ((long) type.id() & 0xFFFF_FFFFL) | (count << 32);
            memory.set(ValueLayout.JAVA_LONG, address - SizeClasses.MALLOC_HEADER_SIZE - base, header);
        } else {
            writeHeapBits(s, address, count, type);
        }
    }

    /** Sets the slot's bits in the span's heap bitmap (its last 128 bytes): one bit per word, 1 = pointer. */
    private void writeHeapBits(MSpan s, long address, long count, GcType type) {
        long bitmapOffset = s.heapBitsOffset(base);
        long firstWord = (address - s.base) >>> 3;
        long words = s.elemSize >>> 3;                 // at most 64: objects with heap bits are <= 512 bytes
        long dataBytes = type == null ? 0 : count * type.size();
        long slotBits = 0;                             // bit w = word w of the slot is a pointer
        for (long w = 0; w < words && (w << 3) < dataBytes; w++) {
            long inElement = (w << 3) % type.size();
            if ((inElement & 7) == 0 && type.isPointerWord(inElement >>> 3)) {
                slotBits |= 1L << w;
            }
        }
        // the slot's words span one or two bitmap words: one read-modify-write each
        long done = 0;
        while (done < words) {
            long bit = firstWord + done;
            int shift = (int) (bit & 63);
            long n = Math.min(words - done, 64 - shift);
            long mask = (n == 64 ? -1L : (1L << n) - 1) << shift;
            long at = bitmapOffset + ((bit >>> 6) << 3);
            long word = memory.get(ValueLayout.JAVA_LONG, at);
            long updated = (word & ~mask) | ((slotBits >>> done) << shift & mask);
            if (updated != word) {
                memory.set(ValueLayout.JAVA_LONG, at, updated);
            }
            done += n;
        }
    }

    /**
     * Calls {@code visitor} with the address of every pointer slot of the object at {@code objectAddress} (as
     * malloc returned it). World stopped.
     *
     * @throws IllegalStateException when the object's malloc header names no type (it was overwritten: a write out
     *                               of bounds of the object in front)
     */
    public void forEachPointerSlot(long objectAddress, GcType.SlotVisitor visitor) {
        MSpan s = heap.spanOfObject(objectAddress);
        if (s.noscan) {
            return;
        }
        if (s.isLarge()) {
            GcType t = s.largeType;
            if (t != null) {
                t.forEachPointerSlot(objectAddress, s.largeCount, visitor);
            }
        } else if (s.hasHeader) {
            long header = memory.get(ValueLayout.JAVA_LONG, objectAddress - SizeClasses.MALLOC_HEADER_SIZE - base);
            if (header == 0) {
                return;
            }
            GcType t = GcType.byId(header & 0xFFFF_FFFFL);
            long count = header >>> 32;
            if (t == null || count * t.size() > s.elemSize - SizeClasses.MALLOC_HEADER_SIZE) {
                throw new IllegalStateException(String.format("the malloc header of the object at 0x%x holds 0x%x,"
                        + " which names no type: something wrote over it (out of bounds of the object in front?)",
                        objectAddress, header));
            }
            t.forEachPointerSlot(objectAddress, count, visitor);
        } else {
            long bitmapOffset = s.heapBitsOffset(base);
            long firstWord = (objectAddress - s.base) >>> 3;
            long words = s.elemSize >>> 3;
            for (long w = 0; w < words; w++) {
                long bit = firstWord + w;
                long word = memory.get(ValueLayout.JAVA_LONG, bitmapOffset + ((bit >>> 6) << 3));
                if ((word & (1L << bit)) != 0) {
                    visitor.visit(objectAddress + (w << 3));
                }
            }
        }
    }

    // ------------------------------------------------------------------ marking

    /**
     * Marks the collected object {@code pointer} points into (Go's {@code greyobject}). Returns the object's
     * address when it was newly marked and holds pointers (the caller scans it); 0 when there is nothing to do —
     * nil, an address outside the heap (not a heap pointer: ignored, as Go ignores non-heap pointers), a manual
     * object (live until freed; scanned as a root if it holds pointers), an object already marked, or a newly
     * marked pointer-free one; {@link #INVALID} when the address is inside the heap but no allocated object holds
     * it (Go's "found bad pointer in Go heap"). World stopped.
     */
    public long shade(long pointer) {
        if (!heap.space.contains(pointer)) {
            return 0;
        }
        MSpan s = heap.findSpan(pointer);
        if (s == null) {
            return INVALID;
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(pointer - s.base);
        if (!s.isAllocated(idx) || s.isRemoteFreed(idx)) {
            return INVALID;
        }
        if (!s.collected || s.isMarked(idx)) {
            return 0;
        }
        long made = s.mark(idx);
        if (made != 0) {
            heap.markBitsBytes.addAndGet(made);    // the span's first mark made its bitmap
        }
        markedBytes += s.elemSize;
        if (s.noscan) {
            return 0;
        }
        return s.objectAddress(idx);
    }

    /** Clears every mark bit (a cycle abandoned part way: nothing may survive on its marks). World stopped. */
    public void clearAllMarks() {
        for (MCentral c : heap.central) {
            if (c.collected) {
                c.forEachSpan((s, list, set) -> s.clearMarks());
            }
        }
        markedBytes = 0;
    }

    /** Whether {@code address} is the start of an allocated collected object (as allocate returned it). Any thread. */
    public boolean isCollectedObjectStart(long address) {
        MSpan s = heap.findSpan(address);
        if (s == null || !s.collected) {
            return false;
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(address - s.base);
        return s.objectAddress(idx) == address && s.isAllocatedRacy(idx) && !s.isRemoteFreedRacy(idx);
    }

    /** Whether the object at {@code address} is marked in the current cycle. World stopped. */
    public boolean isMarked(long address) {
        MSpan s = heap.findSpan(address);
        return s != null && s.isMarked(s.isLarge() ? 0 : s.objectIndex(address - s.base));
    }

    /** Bytes of the collected objects marked since the last call (Go's {@code heapMarked} for this cycle). */
    public long takeMarkedBytes() {
        long b = markedBytes;
        markedBytes = 0;
        return b;
    }

    /**
     * Calls {@code visitor} with every allocated manual object that lives in a scan span (Go scans its manually
     * managed stacks; these are the roots the heap itself holds), and returns the bytes of all manual objects.
     * World stopped, every mcache flushed ({@link #flushCaches}), so every span is on its mcentral.
     */
    public long forEachManualScanObject(LongConsumer visitor) {
        long manualBytes = 0;
        for (int spc = 0; spc < SizeClasses.NUM_SPAN_CLASSES; spc++) {
            MCentral c = heap.central[spc];
            long[] bytes = new long[1];
            boolean scan = !SizeClasses.isNoscan(spc);
            c.forEachSpan((s, list, set) -> {
                bytes[0] += (long) s.allocCount * s.elemSize;
                if (!scan) {
                    return;
                }
                for (int i = 0; i < s.nelems; i++) {
                    if (s.isAllocated(i) && !s.isRemoteFreed(i)) {
                        visitor.accept(s.objectAddress(i));
                    }
                }
            });
            manualBytes += bytes[0];
        }
        return manualBytes;
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
    }

    /** Sweeps every span still waiting (Go's {@code finishsweep_m}); any thread. Returns the spans swept. */
    public int finishSweep() {
        return MSweep.finishSweep(heap);
    }

    /**
     * Ends a mark phase (world stopped, marking done): advances sweepgen, so every span waits for sweeping with
     * this cycle's mark bits.
     */
    public void startSweepCycle() {
        MSweep.startCycle(heap, procs);
    }

    /** Bytes of the spans in use (Go's heapLive at span granularity): the pacer's measure of the heap. */
    public long heapInUseBytes() {
        return heap.inUseBytes;
    }
}
