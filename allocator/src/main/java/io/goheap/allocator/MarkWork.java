package io.goheap.allocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * One marker's grey objects and the two steps of marking (Go's {@code gcWork} with {@code greyobject} and
 * {@code scanobject}): {@link #shade} finds the object a pointer points into and marks it, queueing it when it
 * holds pointers; {@link #drain} scans queued objects by their recorded types until none is left. It lives in
 * the allocator because both steps read span internals on every pointer; the collector drives it.
 *
 * <h2>Tri-colour</h2>
 * White = unmarked; grey = marked and queued here; black = marked and scanned (pointer-free objects are black as
 * soon as they are marked). The queue is an explicit stack, never recursion, so deep structures cannot overflow
 * the Java stack; it holds at most one entry per live scan object.
 *
 * <h2>What a pointer may be</h2>
 * 0 and values outside the heap's reserved range are not heap pointers and are ignored (as Go ignores non-heap
 * pointers). A value inside the range must point into an allocated object of an in-use span — an interior
 * pointer marks its object — or it is a bad pointer: the free slot of a freed object, a page of no span.
 * Shading a manual object does nothing (it lives until freed; the collector scans those that hold pointers as
 * roots).
 *
 * <h2>Speed</h2>
 * Each marker remembers the last span it used: objects reached one after another are mostly neighbours, so most
 * lookups are one range check instead of the page index, and the span's state confirms it is still in use. Mark
 * bits are set with an atomic OR after a plain check (Go's {@code atomic.Or8}), so several markers may share a
 * heap; allocation bits are read racily ({@link MSpan#isAllocatedRacy}).
 *
 * <h2>Batches (why the drain scans {@link #BATCH} objects at a time)</h2>
 * In a heap that has lived a while, pointers go to random places, and per object the marker waits for a chain
 * of cache misses: the object, its heap bits or malloc header (its span's {@code typeInfo}), the page index entry and span of every
 * pointer it holds, their mark words. Go starts the object's miss early with a prefetch instruction; Java has
 * none, and a load whose value is kept (the old "touch" of each greyed object) is no prefetch: the core cannot
 * retire it before the line arrives, so its reorder window fills behind it within an object or two, and the
 * misses were still taken one after another (perf: 41% of the mark on that load, 19% on the heap bits word,
 * 15% on the span). So the drain takes the last {@code BATCH} queued objects at once and runs each step for all
 * of them before the next: first a loop of independent loads — each object's first word,
 * its span and the span's type word for it ({@link #touchSpan}) — whose misses are all in flight together, then the scans, which only collect
 * the pointers they find ({@link #found}), then the spans, mark words, type words and first words of all
 * those pointers loaded together (so the next batch, mostly these objects, finds them cached), and only then
 * each pointer shaded, in the order found. The loads of the first passes are racy and their values are never
 * used: every check {@link #mark} and {@link #scan} made before is still made, on the same data, when it is
 * their turn, so the batch changes when lines are loaded and in which order objects are shaded, nothing else.
 * MarkRateBench (random two-pointer nodes, one marker): 256 MiB from ~1440 to ~670 ms per mark (2.1x), 64 MiB
 * from ~180 to ~105 ms (1.7x). Batches of 4 were ~15% slower than 8; 12, 16 and 32 no faster (the core's miss
 * buffers and page walkers are the limit then).
 * Loading the pointed-to objects with their spans (rather than in the next batch's first pass) took 256 MiB
 * from ~720 to ~540 ms more (64 MiB: no change, ~110-120 ms): one wait for both instead of two in turn. Those
 * object loads in a loop of their own after the span loads ({@link #touchObjects}), whose short body lets the
 * reorder window hold more misses at once: 64 MiB ~114 to ~86 ms, 256 MiB ~550 to ~527 ms.
 *
 * <p>A heap built in order (the same tree unshuffled: each node's children are the next lines) is the other
 * side: there the hardware prefetcher follows the old depth-first walk, and the batches first made it ~1.9x
 * slower (110 to 205 ms). Three things take most of that back (to ~150-165 ms; the shuffled tree unchanged
 * within the noise): the batch is scanned oldest first, so the last object's pointers are pushed last and its
 * subtree is walked next, depth first as before, rather than the first object's; {@link #touchSpan} keeps the
 * span it last found ({@link #lastTouched}), as {@link #spanOf} does, so neighbours cost one range check; and
 * a batch does not load again the objects the previous batch's {@link #shadeFound} just loaded ({@link
 * #loadedFrom}). The rest is the extra passes' instructions and misses the prefetcher no longer hides.
 *
 * <h2>Checkmark mode (Go's {@code gccheckmark})</h2>
 * A checkmark MarkWork ({@link GcHooks#newCheckmarkWork}) marks into its own bits (per span, kept here) and
 * leaves the cycle's mark bits alone: run from the same roots after the cycle's mark, world still stopped, it
 * reaches exactly the reachable objects, and each one the cycle's mark missed comes back as {@link #UNMARKED}.
 *
 * <h2>Threads</h2>
 * A MarkWork belongs to one marking thread. In the stop-the-world collector that thread stopped the world, so
 * the plain reads of allocation bits, heap bits and headers see every write made before the stop. A concurrent
 * MarkWork ({@link GcHooks#newConcurrentMarkWork}) runs beside mutators: every object that existed when the mark
 * started was published to it by the stop that started the mark; what it reads racily can only belong to objects
 * allocated since (allocated black: marking them is a no-op) or freed since (garbage: skipped, or scanned as
 * floating garbage), and a pointer it cannot place is handed to the bad-pointer handler, which confirms it with
 * the world stopped before reporting.
 */
public final class MarkWork {
    /** {@link #shade} result for a bad pointer (see the class comment). */
    public static final long BAD = -1;
    /** {@link #shade} result of a checkmark pass: a reachable collected object the cycle's mark left unmarked. */
    public static final long UNMARKED = -2;

    /** What the marker does with a bad pointer found in a heap slot: report it (throw) or ignore it (return). */
    @FunctionalInterface
    public interface BadPointerHandler {
        void found(long pointer, long slotAddress);
    }

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;  // slots are aligned: skip the check

    private final MHeap heap;
    private final MemorySegment memory;
    private final long base;
    private final long limit;
    private final BadPointerHandler badPointer;
    private long[] stack = new long[1024];
    private int top;
    /** The span of the last lookup; {@link MSpan#EMPTY} contains no address. */
    private MSpan lastSpan = MSpan.EMPTY;
    private long scannedBytes;
    /** Non-null in checkmark mode: each span's checkmark bits. */
    private final java.util.IdentityHashMap<MSpan, long[]> checkmarks;
    /**
     * Where the batches' first passes add the words they load only to start their cache misses (see "Batches" in
     * the class comment): kept, so the JIT cannot drop the loads. Never read for its value.
     */
    private long touched;
    /** The objects of the batch being scanned (see "Batches"). */
    private final long[] batch = new long[BATCH];
    /**
     * The pointers the batch's scans found, as (value, slot) pairs, shaded together once the batch is scanned
     * (see "Batches"); {@link #foundCount} longs used. Only while {@link #deferShade}.
     */
    private final long[] found = new long[2 * FOUND];
    private int foundCount;
    private boolean deferShade;
    /** Offsets of the words a batch loads early (see {@link #touchSpan}). */
    private final long[] loadAt = new long[Math.max(FOUND, BATCH)];
    private long markedBytes;

    /**
     * Whether mutators run during this mark (a concurrent mark): an object queued here may be freed and its span
     * returned before it is scanned, and a header may be read while it is written; such objects are skipped.
     */
    private final boolean concurrent;

    MarkWork(MHeap heap, BadPointerHandler badPointer, boolean checkmark, boolean concurrent) {
        this.concurrent = concurrent;
        this.checkmarks = checkmark ? new java.util.IdentityHashMap<>() : null;
        this.heap = heap;
        this.memory = heap.memory();
        this.base = heap.base();
        this.limit = heap.space.limit();
        this.badPointer = badPointer;
    }

    /**
     * Greys the object {@code pointer} points into. Returns the object's address when this call marked a scan
     * object (now queued), 0 when there was nothing to do (not a heap pointer, a manual object, already marked,
     * or a pointer-free object now black), {@link #BAD} for a bad pointer (nothing marked; the caller reports it).
     */
    public long shade(long pointer) {
        long object = mark(pointer);
        if (object > 0) {
            push(object);
        }
        return object;
    }

    /**
     * Marks the object {@code pointer} points into, as {@link #shade}, but does not queue it: returns the object's
     * address when this call marked a scan object (the caller must see it scanned: {@link #enqueueGrey} here or
     * in another marker), else as {@link #shade}. The write barrier's flush uses it on the mutator's thread.
     */
    public long mark(long pointer) {
        if (pointer < base || pointer >= limit) {
            return 0;
        }
        MSpan s = spanOf(pointer);
        if (s == null) {
            return BAD;
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(pointer - s.base);
        if (checkmarks == null && s.collected && (s.allocBits[s.words + (idx >>> 6)] & (1L << idx)) != 0) {
            return 0;                // marked already (the common case of a barrier's flush): nothing more to check
        }
        if (!s.isAllocatedRacy(idx) || ((s.remote() & MSpan.R_PENDING_MASK) != 0 && s.isRemoteFreed(idx))) {
            return BAD;
        }
        if (!s.collected) {
            return 0;
        }
        if (checkmarks != null) {
            long[] bits = checkmarks.computeIfAbsent(s, span -> new long[span.words]);
            if ((bits[idx >>> 6] & (1L << idx)) != 0) {
                return 0;
            }
            bits[idx >>> 6] |= 1L << idx;
            if (!s.isMarked(idx)) {
                return UNMARKED;
            }
        } else if (!s.tryMark(idx, heap)) {
            return 0;                                    // already marked
        }
        markedBytes += s.elemSize;
        if (s.noscan) {
            return 0;
        }
        return s.objectAddress(idx);
    }

    /** Queues an object another marker marked grey (see {@link #mark}) for scanning here. */
    public void enqueueGrey(long object) {
        push(object);
    }

    /** The checkmark failure: {@code pointer}'s object is reachable through {@code where} but was not marked. */
    public static IllegalStateException unmarked(long pointer, String where) {
        return new IllegalStateException(String.format("gccheckmark: the object at 0x%x, reachable through %s, was"
                + " not marked by the cycle's mark: the collector would have freed a live object", pointer, where));
    }

    /**
     * Scans the object at {@code object} (as malloc returned it) now, without marking it: a root object. Its pointers
     * are shaded in groups, as a batch's are (see "Batches"): a manual table of millions of random pointers — a
     * program's index of its off-heap data — is a mark's biggest single job, and shading its pointers one by one
     * took a cache miss at a time.
     */
    public void scanRoot(long object) {
        deferShade = true;
        try {
            scan(object);
            shadeFound();
        } finally {
            deferShade = false;
            foundCount = 0;                               // left over only when a shade threw
        }
    }

    /** Tests only (shaking mode, concurrent marks): run before each object is scanned. */
    Runnable shaker;

    /** Scans grey objects until none is left. */
    public void drain() {
        Runnable shake = shaker;
        while (top > 0) {
            scanBatch(shake);
        }
    }

    /** Objects scanned per batch (see "Batches" in the class comment). */
    static final int BATCH = 8;
    /** Pointers a batch's scans may find before they are shaded (more: shaded in several rounds). */
    static final int FOUND = 64;

    /**
     * Scans the last {@code min(top, BATCH)} queued objects as one batch (see "Batches" in the class comment):
     * loads that start the cache misses of every object, its span and its type word, then the scans, which only
     * collect the pointers they find, then {@link #shadeFound}. {@code shake}: tests only, run before each scan.
     */
    private void scanBatch(Runnable shake) {
        int n = Math.min(top, BATCH);
        top -= n;
        long[] b = batch;
        System.arraycopy(stack, top, b, 0, n);
        int unloaded = (int) Math.min(n, (long) loadedFrom - top);  // b[i] for i >= this: loaded by shadeFound
        loadedFrom = Integer.MAX_VALUE;       // what stays queued waited a batch or more: not counted as loaded
        if (unloaded > 0) {
            long[] at = loadAt;
            for (int i = 0; i < unloaded; i++) {
                at[i] = touchSpan(b[i]);
            }
            touchObjects(at, unloaded);
        }
        deferShade = true;
        try {
            for (int i = 0; i < n; i++) {                 // the oldest first: see "Batches" on the order
                if (shake != null) {
                    shake.run();
                }
                scan(b[i]);
            }
            shadeFound();
        } finally {
            deferShade = false;
            foundCount = 0;                               // left over only when a shade threw
        }
    }

    /**
     * Loads what {@link #mark} and {@link #scan} will read of the span of {@code pointer} — the page index entry,
     * the span's state, the mark word and the type word (heap bits or malloc header) of the pointer's object — to start their cache misses (the values go to
     * {@link #touched}). Returns the offset in the heap segment of the word {@code pointer} points to when it lies
     * inside the objects of a small span, for {@link #touchObjects}, else -1. Racy and unchecked (the span may be
     * gone or another by now): the values are never used. Only offsets inside the objects of a span the index
     * holds are returned: the span's pages, which no one unmaps or makes {@code PROT_NONE} while a mark runs (the
     * reads of {@link #scan} rely on the same).
     */
    private long touchSpan(long pointer) {
        MSpan s = lastTouched;
        long offset = pointer - s.base;
        if (Long.compareUnsigned(offset, s.limit - s.base) < 0 && s.state() == MSpan.IN_USE) {   // EMPTY: never
            return (pointer & ~7L) - base;   // the span's lines were loaded when it was cached: load the object's
        }
        s = heap.spans.get(pointer);
        if (s == null) {
            return -1;
        }
        offset = pointer - s.base;
        int state = s.state();
        long t = state;
        long at = -1;
        if (s.sizeClass != 0 && Long.compareUnsigned(offset, s.limit - s.base) < 0) {
            long[] bits = s.allocBits;
            int w = (s.objectIndex(offset) >>> 6) + (s.collected ? s.words : 0);
            if (w < bits.length) {
                t += bits[w];
            }
            long[] type = s.typeInfo;                // the heap bits or malloc header scan will read
            if (type != null) {
                int k = s.hasHeader ? s.objectIndex(offset) : (int) (offset >>> 9);
                if (k < type.length) {
                    t += type[k];
                }
            }
            if (state == MSpan.IN_USE) {
                at = (pointer & ~7L) - base;
                lastTouched = s;
            }
        }
        touched += t;
        return at;
    }

    /**
     * The small span {@link #touchSpan} last found in use, or {@link MSpan#EMPTY}: most pointers of a heap built in
     * order hit it. Its state is checked again at every use (a MarkWork may serve several marks: an assist's).
     */
    private MSpan lastTouched = MSpan.EMPTY;

    /**
     * Loads, for each of the first {@code n} offsets of {@code at} that is not -1 (see {@link #touchSpan}), the word
     * there, to start its cache miss. A loop of its own, apart from the
     * span loads: its body is short, so the core's reorder window holds many of these misses at once.
     */
    private void touchObjects(long[] at, int n) {
        long t = 0;
        for (int i = 0; i < n; i++) {
            long offset = at[i];
            if (offset >= 0) {
                t += memory.get(WORD, offset);
            }
        }
        touched += t;
    }

    /** Shades the pointers the batch's scans found: their spans' loads first, so their misses overlap. */
    private void shadeFound() {
        int n = foundCount;
        long[] f = found;
        long[] at = loadAt;
        for (int i = 0; i < n; i += 2) {
            at[i >>> 1] = touchSpan(f[i]);
        }
        touchObjects(at, n >>> 1);
        foundCount = 0;
        int from = top;
        int shifts = stackShifts;
        for (int i = 0; i < n; i += 2) {
            shadeSlot(f[i], f[i + 1]);
        }
        if (shifts == stackShifts) {
            loadedFrom = Math.min(loadedFrom, from);    // min: an earlier round of this batch's finds is loaded too
        }
    }

    /**
     * Stack entries from this index up to {@link #top} were pushed by the last batch's {@link #shadeFound} after it
     * loaded them, so the next batch need not load them again; {@link Integer#MAX_VALUE}: none. Only a hint for
     * speed (a wrong value costs or saves loads, nothing else): a push from elsewhere and a shift of the stack
     * (sharing) reset it to none.
     */
    private int loadedFrom = Integer.MAX_VALUE;
    /** Counts the shifts of the stack's entries (sharing its oldest): {@link #loadedFrom} no longer holds then. */
    private int stackShifts;

    /** Where a concurrent marker gives grey objects to threads that want work (see {@link #shareWith}). */
    @FunctionalInterface
    public interface GreySink {
        /** Takes {@code count} grey objects from {@code objects[from...]}. */
        void give(long[] objects, int from, int count);
    }

    /** Set by {@link #shareWith}: whether another thread waits for work, and where to give it. */
    private java.util.function.BooleanSupplier shareWanted;
    private GreySink shareSink;
    private int pushesSinceShare;

    /**
     * From now on, every 64 objects this MarkWork queues — while draining or while scanning one huge object, such
     * as a table of millions of pointers — it checks {@code wanted} (another thread waits for work: an assisting
     * mutator) and if so gives the oldest entries of its stack, the widest subtrees, to {@code sink}: half of it,
     * at most 512.
     */
    public void shareWith(java.util.function.BooleanSupplier wanted, GreySink sink) {
        this.shareWanted = wanted;
        this.shareSink = sink;
    }

    private void maybeShare() {
        if (top >= 2 && shareWanted.getAsBoolean()) {
            giveOldestHalf(512, shareSink);
        }
    }

    /**
     * Gives the oldest half of the stack, at most {@code max} entries — the widest subtrees — to {@code sink} and
     * drops them here (so {@link #loadedFrom} no longer holds). At least two entries queued.
     */
    private void giveOldestHalf(int max, GreySink sink) {
        int give = Math.min(top / 2, max);
        sink.give(stack, 0, give);
        System.arraycopy(stack, give, stack, 0, top - give);
        top -= give;
        stackShifts++;
        loadedFrom = Integer.MAX_VALUE;
    }

    /**
     * Scans grey objects until none is left or {@code maxScanBytes} of pointer slots were scanned (an assist's
     * budget, a background worker's slice; checked between batches, so up to {@link #BATCH} - 1 objects more may be
     * scanned); what is left stays queued here (see {@link #takeRemaining}). Returns the bytes scanned.
     */
    public long drainBudget(long maxScanBytes) {
        long start = scannedBytes;
        Runnable shake = shaker;
        while (top > 0 && scannedBytes - start < maxScanBytes) {
            scanBatch(shake);
        }
        return scannedBytes - start;
    }

    /** Whether no grey object is queued here. */
    public boolean isEmpty() {
        return top == 0;
    }

    /** Hands every object still queued here to {@code sink} and empties the queue. */
    public void takeRemaining(GreySink sink) {
        if (top > 0) {
            sink.give(stack, 0, top);
            top = 0;
        }
    }

    /**
     * Scans grey objects with other markers sharing {@code pool} until none is left anywhere (see
     * {@link MarkPool}): every 64 objects, if another marker is idle, the older half of this stack (up to a
     * chunk) — the widest subtrees — goes to the pool; with an empty stack this marker takes chunks from it. Returns when marking is
     * over or aborted.
     */
    public void drainShared(MarkPool pool) {
        int sinceCheck = 0;
        for (;;) {
            while (top > 0) {
                sinceCheck += BATCH;
                if (sinceCheck >= 64) {
                    sinceCheck = 0;
                    if (pool.abort) {
                        return;
                    }
                    if (top >= 2 && pool.hungry()) {
                        giveOldestHalf(MarkPool.CHUNK, pool::give);
                    }
                }
                scanBatch(null);
            }
            long[] chunk = pool.awaitWork();
            if (chunk == null) {
                return;
            }
            for (long object : chunk) {
                push(object);
            }
        }
    }

    /** Bytes of pointer slots scanned so far (Go's heapScanWork). */
    public long scannedBytes() {
        return scannedBytes;
    }

    /** Bytes of the collected objects this MarkWork marked (Go's heapMarked, this marker's part). */
    public long markedBytes() {
        return markedBytes;
    }

    private void push(long object) {
        if (top == stack.length) {
            stack = Arrays.copyOf(stack, stack.length * 2);
        }
        stack[top++] = object;
        if (!deferShade) {
            loadedFrom = Integer.MAX_VALUE;               // not loaded by shadeFound (see loadedFrom)
        }
        if (shareSink != null && ++pushesSinceShare >= 64) {
            pushesSinceShare = 0;
            maybeShare();
        }
    }

    /** The in-use span holding {@code address}, or null; the last span first. */
    private MSpan spanOf(long address) {
        MSpan s = lastSpan;
        if (Long.compareUnsigned(address - s.base, s.limit - s.base) < 0 && s.state() == MSpan.IN_USE) {  // EMPTY: never
            return s;
        }
        s = heap.findSpan(address);
        if (s != null) {
            lastSpan = s;
        }
        return s;
    }

    private void scan(long object) {
        MSpan s = spanOf(object);
        if (s == null) {
            if (concurrent) {
                return;                  // freed explicitly and its span returned while queued
            }
            throw new IllegalStateException(String.format("0x%x was queued for scanning but is in no span", object));
        }
        if (s.noscan) {
            return;
        }
        if (s.isLarge()) {
            GcType t = s.largeType;
            if (t != null) {
                scanElements(object, s.largeCount, t);
            }
        } else if (s.hasHeader) {
            long header = s.typeInfo[s.objectIndex(object - s.base)];
            if (header == 0) {
                return;
            }
            GcType t = GcType.byId(header & 0xFFFF_FFFFL);
            long count = header >>> 32;
            if (t == null || count * t.size() > s.elemSize - SizeClasses.MALLOC_HEADER_SIZE) {
                if (concurrent) {
                    return;              // read while a mutator freed or reused the slot: nothing to scan there
                }
                throw new IllegalStateException(String.format("the malloc header of the object at 0x%x holds 0x%x,"
                        + " which names no type fitting its slot", object, header));
            }
            scanElements(object, count, t);
        } else {
            scanSlots(object, HeapBits.read(s, object));
        }
    }

    /**
     * Scans the words of {@code object} whose bits are set in {@code wordBits} (bit w = word w), the last first:
     * the stack then pops the first slot's object first, so a structure built in allocation order (a list by its
     * next field, a tree by its first child) is marked in address order, which the CPU's prefetcher follows.
     */
    private void scanSlots(long object, long wordBits) {
        for (long bits = wordBits; bits != 0; ) {
            int w = 63 - Long.numberOfLeadingZeros(bits);
            bits &= ~(1L << w);
            scanSlot(object + ((long) w << 3));
        }
    }

    private void scanElements(long object, long count, GcType t) {
        long size = t.size();
        long[] bitmap = t.bitmap();
        for (long e = count - 1; e >= 0; e--) {                  // the last first, as scanSlots
            long element = object + e * size;
            for (int w = bitmap.length - 1; w >= 0; w--) {
                scanSlots(element + ((long) w << 9), bitmap[w]);
            }
        }
    }

    private void scanSlot(long slot) {
        scannedBytes += 8;
        long value = memory.get(WORD, slot - base);
        if (value != 0) {
            if (deferShade) {
                if (foundCount == found.length) {
                    shadeFound();                        // a large object: shade what was found so far
                }
                found[foundCount++] = value;
                found[foundCount++] = slot;
                return;
            }
            shadeSlot(value, slot);
        }
    }

    /** Shades {@code value}, found in {@code slot}, and reports it if it is bad (or unmarked, in checkmark mode). */
    private void shadeSlot(long value, long slot) {
        long r = shade(value);
        if (r == BAD) {
            badPointer.found(value, slot);
        } else if (r == UNMARKED) {
            throw unmarked(value, String.format("the pointer slot at 0x%x", slot));
        }
    }
}
