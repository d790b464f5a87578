package io.goheap.allocator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A span: a run of 8 KiB pages holding objects of one span class (Go's {@code mspan}), or one large object.
 *
 * <h2>Ownership (who may touch what)</h2>
 * <ul>
 *   <li>Immutable after construction: geometry ({@link #base}, {@link #npages}, {@link #spanClass},
 *       {@link #elemSize}, {@link #nelems}, {@link #divMagic}, {@link #limit}).</li>
 *   <li>The <em>owner</em> writes the allocation state with plain stores: {@link #allocBits},
 *       {@link #freeIndex}, {@link #allocCache}, {@link #allocCount}, {@link #needzero}. The owner is the P
 *       whose mcache caches the span ({@link #cachedBy}), or, while the span is uncached, whoever holds its
 *       mcentral's lock. Handing a span between owners always passes through that lock, which orders the
 *       plain stores.</li>
 *   <li>Any thread may free an object of a span it does not own ("remote free"): it sets the object's bit
 *       in {@link #remoteFreed} atomically and bumps the pending count in {@link #remote}. Only the owner
 *       merges remote frees into {@link #allocBits} ({@link #mergeRemoteFrees}).</li>
 * </ul>
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code allocBits} is exact: bit i is set iff object i is allocated (Go's allocBits are exact only
 *       up to {@code freeindex}; ours are kept exact because explicit free needs them).</li>
 *   <li>{@code allocCache} is the complement of the allocBits word holding {@code freeIndex}, shifted so
 *       that bit 0 stands for {@code freeIndex}. Every free object has index ≥ freeIndex.</li>
 *   <li>{@code allocCount} = popcount(allocBits); a remote-freed object stays counted until merged.</li>
 *   <li>{@link #remote} packs, for the remote-free protocol: pending remote frees (bits 0–15), the
 *       allocation count published when the span was last uncached (bits 16–31, meaningful only while
 *       not {@link #R_CACHED}), and the flags {@link #R_CACHED} and {@link #R_FULL}. See {@link MCentral}
 *       for the protocol.</li>
 *   <li>{@code state} goes {@link #IN_USE} → {@link #DEAD} once, under the heap lock; a dead span is never
 *       reused (a new MSpan object describes the pages next time), so a stale reference can only observe
 *       {@code DEAD}.</li>
 *   <li>{@code sweepgen} follows Go's arithmetic against the heap's {@code sg} (see {@link MSweep}): an
 *       uncached span is swept ({@code sg}) or waits for sweeping ({@code sg − 2}); a cached span is always
 *       swept. {@link #gcmarkBits} are set by the marker and turned into allocation bits by
 *       {@link #sweepMarks}, by the span's owner only.</li>
 * </ul>
 */
final class MSpan {
    static final int IN_USE = 1;
    static final int DEAD = 2;

    static final long R_PENDING_MASK = 0xFFFFL;
    static final int R_COUNT_SHIFT = 16;
    static final long R_COUNT_MASK = 0xFFFFL << R_COUNT_SHIFT;
    static final long R_CACHED = 1L << 32;
    static final long R_FULL = 1L << 33;

    /** Lists a span can be on in its mcentral. */
    static final byte LIST_NONE = 0, LIST_PARTIAL = 1, LIST_FULL = 2;

    private static final VarHandle REMOTE;
    private static final VarHandle STATE;
    private static final VarHandle CACHED_BY;
    private static final VarHandle MARK_BITS;
    static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            REMOTE = l.findVarHandle(MSpan.class, "remote", long.class);
            STATE = l.findVarHandle(MSpan.class, "state", int.class);
            CACHED_BY = l.findVarHandle(MSpan.class, "cachedBy", MCache.class);
            MARK_BITS = l.findVarHandle(MSpan.class, "gcmarkBits", long[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // ---- geometry (immutable) ----
    /**
     * Whether the span holds collected objects (reclaimed by sweeping when unmarked) or manual ones (malloc/free,
     * never swept: Go's manually managed spans). The two kinds never share a span, so sweeping needs no
     * per-object flag and manual spans need no mark bits.
     */
    final boolean collected;
    /**
     * Index of the span's mcentral and mcache slot: {@code spanClass}, plus {@link SizeClasses#NUM_SPAN_CLASSES} if
     * collected; {@link #TINY_CACHE_CLASS} for a span of tiny blocks.
     */
    final int cacheClass;
    /**
     * Whether the span's slots are tiny blocks: 16-byte blocks of the collected noscan class into which the owner's
     * tiny allocator packs pointer-free collected objects under 16 bytes (see {@link MCache}). Such a span has an
     * mcentral of its own, so every slot of it is a block, never a plain 16-byte object.
     */
    final boolean tiny;
    final long base;
    final int npages;
    final int spanClass;
    final int sizeClass;
    final boolean noscan;
    /**
     * Objects have Go's 8-byte malloc header room (scan objects of more than 512 bytes): user address = slot + 8.
     * The type itself is kept in {@link #typeInfo}, not in that word.
     */
    final boolean hasHeader;
    /**
     * Where the collector reads a small scan object's type, on the Java heap so that no store into the heap's
     * memory — a stray pointer store before an object, past its end or into the span's tail — can change what the
     * marker believes about any object: for spans of objects of at most 512 bytes, the heap bits (one bit per word of
     * the span, 1 = pointer slot; {@link HeapBits}); for the other small scan spans, one malloc header per object
     * ({@code typeId | count << 32}, 0 = nothing to scan; {@link GcHooks#writeType}). Null for noscan and large
     * spans. Written by the allocating owner before the object's address escapes, read by markers (see
     * {@link HeapBits} for why plain accesses suffice).
     */
    final long[] typeInfo;
    /**
     * For spans with heap bits, while pointer checks are on ({@link GcHooks#recordTypeIds}): each object's type id,
     * so a check can name the type (heap bits alone do not record it). Made by the owner's first typed allocation
     * then; null otherwise. Owner writes, racy reads (for messages only).
     */
    int[] typeIds;

    /** Records the type id of the object at {@code address} in {@link #typeIds}, made on first use. Span owner only. */
    void recordTypeId(long address, int id) {
        int[] ids = typeIds;
        if (ids == null) {
            typeIds = ids = new int[nelems];
        }
        ids[objectIndex(address - base)] = id;
    }
    /**
     * Collected spans, in the quarantine debug mode: cycles each object has left in quarantine, 0 = not
     * quarantined; null until the span first quarantines one. Written by the span's sweeper (see {@link Quarantine}).
     */
    byte[] quarantine;
    final long elemSize;
    final int nelems;
    /** floor((2^32 - 1) / elemSize) + 1, so that index = (offset * divMagic) >>> 32; 0 for large spans. */
    final long divMagic;
    /** End of the usable objects: base + nelems * elemSize. */
    final long limit;

    // ---- owner state (plain) ----
    /**
     * Allocation bits, words {@code [0, words)}; in a span of collected objects followed by its mark bits, words
     * {@code [words, 2 × words)}: a marker's lookup of an object then reads one array, mostly one cache line, for
     * both (the owner writes the first half with plain stores, markers OR into the second half atomically — other
     * elements of one array, so neither disturbs the other).
     */
    final long[] allocBits;
    /** Words of allocation bits ({@code (nelems + 63) / 64}). */
    final int words;
    int freeIndex;
    long allocCache;
    int allocCount;
    boolean needzero;

    // ---- remote frees ----
    final long[] remoteFreed;
    @SuppressWarnings("unused") // via REMOTE
    private volatile long remote;

    // ---- lifecycle ----
    @SuppressWarnings("unused") // via STATE
    private volatile int state;
    /** Go's sweepgen: set at creation and by the sweeper, both under the span's mcentral lock (see MSweep). */
    volatile int sweepgen;
    /**
     * The collector's mark bits, one per object; all zero outside a cycle (sweeping clears them). Null until the
     * first mark in the span (null reads as "nothing marked"): spans that are never marked — every span of a heap
     * without a collector, and manual objects' spans once the collector lands — carry no mark bitmap, which keeps
     * the Java-heap metadata of 8-byte objects under 6%. Made by the first marker with a CAS (see {@link #mark}).
     */
    @SuppressWarnings("unused") // via MARK_BITS
    private volatile long[] gcmarkBits;
    @SuppressWarnings("unused") // via CACHED_BY
    private volatile MCache cachedBy;

    // ---- mcentral list links (under the mcentral lock) ----
    /**
     * An empty manual span its mcentral kept on its partial list instead of returning its pages (see
     * {@link MCentral#settle}); under the mcentral lock.
     */
    boolean retainedEmpty;
    /**
     * Links of the mcentral lists while uncached; while cached, of its owner mcache's stash lists (see
     * {@link MCache}: the owner alone touches them then, with {@link #stash}).
     */
    MSpan next, prev;
    /** Which stash list of its owner mcache a cached span is on: {@link #STASH_NONE}, full or partial. Owner only. */
    byte stash;
    static final byte STASH_NONE = 0, STASH_FULL = 1, STASH_PARTIAL = 2;
    byte list;
    /** Which of its mcentral's two list pairs the span is on: (sweepgen / 2) mod 2 when it was linked. */
    byte listSet;

    /** The placeholder every mcache slot starts with: no objects, so the fast path falls through to refill. */
    static final MSpan EMPTY = new MSpan();

    /**
     * The type of a large scan object ({@link GcType}), set right after allocation; null for a noscan or untyped
     * object (nothing to scan). Go's {@code largeType}.
     */
    volatile GcType largeType;
    /** Elements of {@link #largeType} in the large object (an array's length); written before largeType. */
    long largeCount;

    private MSpan() {
        collected = false; cacheClass = 0; tiny = false;
        base = 0; npages = 0; spanClass = 0; sizeClass = 0; noscan = true; hasHeader = false; typeInfo = null;
        elemSize = 0; nelems = 0; divMagic = 0; limit = 0;
        allocBits = new long[0]; remoteFreed = new long[0]; words = 0;
        freeIndex = 0; allocCache = 0;
        state = DEAD;
    }

    /** A small-object span of {@code spanClass} over {@code npages} pages at {@code base}. */
    MSpan(long base, int npages, int spanClass, boolean collected, boolean needzero, int sweepgen) {
        this(base, npages, spanClass, cacheClass(spanClass, collected), needzero, sweepgen);
    }

    /** A small-object span for mcache slot {@code cacheClass} (of span class {@code spanClass}). */
    MSpan(long base, int npages, int spanClass, int cacheClass, boolean needzero, int sweepgen) {
        this.collected = cacheClass >= SizeClasses.NUM_SPAN_CLASSES;
        this.cacheClass = cacheClass;
        this.tiny = cacheClass == TINY_CACHE_CLASS;
        this.base = base;
        this.npages = npages;
        this.spanClass = spanClass;
        this.sizeClass = SizeClasses.sizeClassOf(spanClass);
        this.noscan = SizeClasses.isNoscan(spanClass);
        this.elemSize = SizeClasses.classSize(sizeClass);
        this.hasHeader = !noscan && elemSize > SizeClasses.MIN_SIZE_FOR_MALLOC_HEADER;
        this.nelems = noscan ? SizeClasses.classObjects(sizeClass) : SizeClasses.scanObjects(sizeClass);
        this.divMagic = (0xFFFF_FFFFL / elemSize) + 1;
        this.limit = base + nelems * elemSize;
        this.typeInfo = noscan ? null
                : hasHeader ? new long[nelems] : new long[(int) ((npages * SizeClasses.PAGE_SIZE) >>> 9)];
        int words = (nelems + 63) >>> 6;
        this.words = words;
        this.allocBits = new long[collected ? 2 * words : words];
        this.remoteFreed = new long[words];
        this.freeIndex = 0;
        this.allocCache = -1L;
        this.needzero = needzero;
        this.sweepgen = sweepgen;
        this.state = IN_USE;
    }

    /** A large span holding one object of {@code npages} pages. */
    MSpan(long base, int npages, boolean noscan, boolean collected, boolean needzero, int sweepgen) {
        this.collected = collected;
        this.cacheClass = cacheClass(SizeClasses.spanClass(0, noscan), collected);
        this.tiny = false;
        this.base = base;
        this.npages = npages;
        this.spanClass = SizeClasses.spanClass(0, noscan);
        this.sizeClass = 0;
        this.noscan = noscan;
        this.hasHeader = false;
        this.typeInfo = null;
        this.elemSize = (long) npages << SizeClasses.PAGE_SHIFT;
        this.nelems = 1;
        this.divMagic = 0;
        this.limit = base + elemSize;
        this.words = 1;
        this.allocBits = collected ? new long[] {1L, 0L} : new long[] {1L};
        this.remoteFreed = new long[1];
        this.freeIndex = 1;
        this.allocCache = 0;
        this.allocCount = 1;
        this.needzero = needzero;
        this.sweepgen = sweepgen;
        this.state = IN_USE;
    }

    /** The address malloc returned for object {@code idx}: its slot, past the malloc header if it has one. */
    long objectAddress(int idx) {
        return base + idx * elemSize + (hasHeader ? SizeClasses.MALLOC_HEADER_SIZE : 0);
    }

    /** The mcentral / mcache index of span class {@code spanClass} for manual or collected objects. */
    static int cacheClass(int spanClass, boolean collected) {
        return collected ? spanClass + SizeClasses.NUM_SPAN_CLASSES : spanClass;
    }

    /** The mcentral / mcache index of the spans of tiny blocks: after the manual and collected classes. */
    static final int TINY_CACHE_CLASS = 2 * SizeClasses.NUM_SPAN_CLASSES;
    /** Number of mcentrals and mcache slots: manual classes, collected classes, tiny blocks. */
    static final int NUM_CACHE_CLASSES = TINY_CACHE_CLASS + 1;

    /** The span class of the spans of mcache slot {@code cacheClass}. */
    static int spanClassOf(int cacheClass) {
        return cacheClass == TINY_CACHE_CLASS ? SizeClasses.TINY_SPAN_CLASS : cacheClass % SizeClasses.NUM_SPAN_CLASSES;
    }

    boolean isLarge() {
        return sizeClass == 0;
    }

    int state() {
        return (int) STATE.getAcquire(this);
    }

    void setState(int s) {
        STATE.setRelease(this, s);
    }

    MCache cachedBy() {
        return (MCache) CACHED_BY.getAcquire(this);
    }

    /** The mcache that owns the span, read without ordering: exact for the owner itself, a hint for others. */
    MCache cachedByPlain() {
        return (MCache) CACHED_BY.get(this);
    }

    void setCachedBy(MCache c) {
        CACHED_BY.setVolatile(this, c);
    }

    long remote() {
        return (long) REMOTE.getVolatile(this);
    }

    long getAndAddRemote(long delta) {
        return (long) REMOTE.getAndAdd(this, delta);
    }

    boolean casRemote(long expect, long update) {
        return REMOTE.compareAndSet(this, expect, update);
    }

    /** Index of the object containing {@code offset} bytes from base, by multiplication (Go's divMagic). */
    int objectIndex(long offset) {
        return (int) ((offset * divMagic) >>> 32);
    }

    // ---------------------------------------------------------------- allocation (owner)

    /**
     * The fast path: the next free slot from the 64-bit cache, or 0 when the cache must be refilled.
     * No allocation, no lock, no volatile access.
     */
    long nextFreeFast() {
        long cache = allocCache;
        int t = Long.numberOfTrailingZeros(cache);
        if (t < 64) {
            int idx = freeIndex + t;
            if (idx < nelems) {
                int next = idx + 1;
                if ((next & 63) != 0 || next == nelems) {
                    allocCache = (cache >>> t) >>> 1;
                    freeIndex = next;
                    allocCount++;
                    allocBits[idx >>> 6] |= 1L << idx;
                    return base + idx * elemSize;
                }
            }
        }
        return 0;
    }

    /**
     * The slow path: walks the allocation bitmap from {@code freeIndex} for a free slot, refilling the cache.
     * Returns 0 when the span is full (after the caller has merged remote frees, if any).
     */
    long nextFreeSlow() {
        int idx = nextFreeIndex();
        if (idx >= nelems) {
            return 0;
        }
        freeIndex = idx + 1;
        allocCache = (idx + 1) < nelems && ((idx + 1) & 63) != 0 ? allocCache >>> 1 : refillCache(idx + 1);
        allocCount++;
        allocBits[idx >>> 6] |= 1L << idx;
        return base + idx * elemSize;
    }

    /** First free index ≥ freeIndex (leaving allocCache aligned to it), or nelems when there is none. */
    private int nextFreeIndex() {
        int idx = freeIndex;
        long cache = allocCache;
        while (idx < nelems) {
            int t = Long.numberOfTrailingZeros(cache);
            if (t < 64 && (idx & ~63) == ((idx + t) & ~63)) {
                int found = idx + t;
                if (found >= nelems) {
                    break;
                }
                allocCache = cache >>> t;
                freeIndex = found;
                return found;
            }
            idx = (idx + 64) & ~63;
            cache = refillCache(idx);
        }
        freeIndex = nelems;
        allocCache = 0;
        return nelems;
    }

    /** The cache for a window starting at {@code idx}: complement of its allocBits word, shifted to idx. */
    private long refillCache(int idx) {
        if (idx >= nelems) {
            return 0;
        }
        return ~allocBits[idx >>> 6] >>> (idx & 63);
    }

    /** Restarts allocation from slot 0 (after frees were merged or the span was swept). */
    void resetAllocCursor() {
        freeIndex = 0;
        allocCache = nelems == 0 ? 0 : ~allocBits[0];
    }

    boolean isAllocated(int idx) {
        return (allocBits[idx >>> 6] & (1L << idx)) != 0;
    }

    /** Whether object {@code idx} looks allocated to a thread that does not own the span (a racy but safe read). */
    boolean isAllocatedRacy(int idx) {
        return ((long) LONGS.getOpaque(allocBits, idx >>> 6) & (1L << idx)) != 0;
    }

    /** As {@link #isRemoteFreed} without ordering: the owner's quick check (a racing remote free is caught when merged). */
    boolean isRemoteFreedRacy(int idx) {
        return ((long) LONGS.getOpaque(remoteFreed, idx >>> 6) & (1L << idx)) != 0;
    }

    /** Whether a remote free of object {@code idx} is pending (not merged yet). */
    boolean isRemoteFreed(int idx) {
        return ((long) LONGS.getVolatile(remoteFreed, idx >>> 6) & (1L << idx)) != 0;
    }

    /** Owner frees object {@code idx}: exact bitmap, cursor moved back if needed. Caller checked it is allocated. */
    void freeLocal(int idx) {
        allocBits[idx >>> 6] &= ~(1L << idx);
        allocCount--;
        needzero = true;
        if (idx < freeIndex) {
            freeIndex = idx;
            allocCache = ~allocBits[idx >>> 6] >>> (idx & 63);
        } else if ((idx >>> 6) == (freeIndex >>> 6)) {
            allocCache |= 1L << (idx - freeIndex);
        }
    }

    boolean hasFreeSlot() {
        return allocCount < nelems;
    }

    // ---------------------------------------------------------------- remote frees

    /**
     * Records a free of object {@code idx} by a thread that does not own the span: counts it pending, then sets
     * its bit. Returns {@link #remote} as read <em>after</em> the bit is set (the freer decides from that value
     * whether it must settle the span), or -1 if the bit was already set (double free; the count is taken back).
     */
    long recordRemoteFree(int idx) {
        getAndAddRemote(1);
        long bit = 1L << idx;
        long prev = (long) LONGS.getAndBitwiseOr(remoteFreed, idx >>> 6, bit);
        if ((prev & bit) != 0) {
            getAndAddRemote(-1);
            return -1;
        }
        return remote();
    }

    /** Clears object {@code idx}'s remote-free bit; returns whether it was set. */
    boolean clearRemoteFreed(int idx) {
        long bit = 1L << idx;
        return ((long) LONGS.getAndBitwiseAnd(remoteFreed, idx >>> 6, ~bit) & bit) != 0;
    }

    /**
     * Owner merges pending remote frees into the allocation bitmap and returns how many it merged. The
     * pending count (and, when {@code uncachedCount}, the published allocation count) drop by that many in one
     * atomic step, so a remote freer always reads a consistent (pending, count) pair.
     */
    int mergeRemoteFrees(boolean uncachedCount, MHeap heap) {
        int drained = 0;
        int merged = 0;
        for (int w = 0; w < remoteFreed.length; w++) {
            if ((long) LONGS.getVolatile(remoteFreed, w) != 0) {
                long bits = (long) LONGS.getAndSet(remoteFreed, w, 0L);
                // A bit whose object is not allocated is a double free that raced with a free by the owner:
                // it is dropped here (and counted by the caller) so the counts stay exact.
                long live = bits & allocBits[w];
                allocBits[w] &= ~bits;
                drained += Long.bitCount(bits);
                merged += Long.bitCount(live);
            }
        }
        if (drained > 0) {
            allocCount -= merged;
            if (drained > merged) {
                // their frees were counted by the freers: take them back so AllocStats stays exact
                heap.lateDoubleFrees.addAndGet(sizeClass, drained - merged);
            }
            needzero = true;
            long delta = drained + (uncachedCount ? ((long) merged << R_COUNT_SHIFT) : 0);
            getAndAddRemote(-delta);
            resetAllocCursor();
        }
        return merged;
    }

    // ---------------------------------------------------------------- marking and sweeping

    /**
     * Marks object {@code idx} unless it is marked; returns whether this call marked it. The span's first mark
     * makes its bitmap and counts it in {@code heap}'s GC metadata. A plain check first, then an atomic OR, so
     * concurrent markers neither lose a bit nor both claim the object.
     */
    boolean tryMark(int idx, MHeap heap) {
        long[] marks;
        int w;
        if (collected) {
            marks = allocBits;
            w = words + (idx >>> 6);
        } else {
            marks = lazyMarks(heap);
            w = idx >>> 6;
        }
        long bit = 1L << idx;
        return (marks[w] & bit) == 0 && ((long) LONGS.getAndBitwiseOr(marks, w, bit) & bit) == 0;
    }

    /** A manual span's mark bitmap (only tests mark manual objects), made by the first mark with a CAS. */
    private long[] lazyMarks(MHeap heap) {
        long[] marks = (long[]) MARK_BITS.getAcquire(this);
        if (marks == null) {
            long[] fresh = new long[words];
            marks = (long[]) MARK_BITS.compareAndExchange(this, (long[]) null, fresh);
            if (marks == null) {
                marks = fresh;
                heap.markBitsBytes.addAndGet(markBitsBytes());
            }
        }
        return marks;
    }

    boolean isMarked(int idx) {
        if (collected) {
            return ((long) LONGS.getVolatile(allocBits, words + (idx >>> 6)) & (1L << idx)) != 0;
        }
        long[] marks = (long[]) MARK_BITS.getAcquire(this);
        return marks != null && ((long) LONGS.getVolatile(marks, idx >>> 6) & (1L << idx)) != 0;
    }

    /**
     * Frees a large span's object: its allocation bit from 1 to 0 atomically, so of two racing frees exactly one
     * succeeds. Returns false when the object was not allocated (a double free).
     */
    boolean claimLargeFree() {
        if (!LONGS.compareAndSet(allocBits, 0, 1L, 0L)) {
            return false;
        }
        allocCount = 0;
        return true;
    }

    /** Allocates a retained large span's object again (its owner mcache only). */
    void reuseLarge() {
        allocCount = 1;
        needzero = true;
        LONGS.setRelease(allocBits, 0, 1L);
    }

    /** Whether this span has mark bits: always for collected objects (in {@link #allocBits}), else once made. */
    boolean hasMarkBits() {
        return collected || MARK_BITS.getAcquire(this) != null;
    }

    /** Java-heap bytes of this span's mark bits, made or not. */
    long markBitsBytes() {
        return collected ? 8L * words : 16 + 8L * words;
    }

    /** Clears every mark bit (the owner, after the marker is done). */
    void clearMarks() {
        if (collected) {
            java.util.Arrays.fill(allocBits, words, 2 * words, 0L);
            return;
        }
        long[] marks = (long[]) MARK_BITS.getAcquire(this);
        if (marks != null) {
            java.util.Arrays.fill(marks, 0L);
        }
    }

    /**
     * The bit step of sweeping a small span (Go's {@code mspan.sweep}): every allocated object without a mark
     * bit is freed — the allocation bits become {@code allocBits & gcmarkBits}, so a marked slot that was
     * explicitly freed stays free — the mark bits are cleared for the next cycle, and the number of objects freed
     * is returned. The caller owns the span (uncached, its mcentral's lock held), has merged its remote frees,
     * and does the accounting.
     */
    int sweepMarks() {
        long[] marks = collected ? allocBits : (long[]) MARK_BITS.getAcquire(this);
        int markBase = collected ? words : 0;
        int freed = 0;
        for (int w = 0; w < words; w++) {
            long allocated = allocBits[w];
            long dead = allocated & ~(marks == null ? 0 : marks[markBase + w]);
            if (dead != 0) {
                freed += Long.bitCount(dead);
                allocBits[w] = allocated & ~dead;
            }
        }
        clearMarks();
        if (freed > 0) {
            allocCount -= freed;
            needzero = true;
            resetAllocCursor();
        }
        return freed;
    }

    @Override
    public String toString() {
        return "span[0x" + Long.toHexString(base) + ", " + npages + " pages, class " + sizeClass
                + (noscan ? " noscan" : " scan") + ", " + allocCount + "/" + nelems + " objects]";
    }
}
