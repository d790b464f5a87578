package io.goheap.allocator;

import java.lang.invoke.VarHandle;

/**
 * A P's cache of spans, one per span class (Go's {@code mcache}), and its statistics.
 *
 * <h2>Who may touch what</h2>
 * Only the thread currently holding the owning {@link P} calls into an mcache, so its fields are plain;
 * handing the P to another thread (a CAS on {@code P.owner}, released with a release store) orders them.
 * The statistics counters are written by that thread with release stores (a plain {@code mov} on x86, no
 * fence) and read by {@link AllocStats} snapshots with acquire loads; see {@link HeapStats} for the order.
 *
 * <h2>Fast path</h2>
 * {@link #malloc}: size → class by table, {@link MSpan#nextFreeFast()} (ctz on a 64-bit cache), zero the slot
 * if the span says so, count. No lock, no Java allocation, no volatile write. Frees of objects in spans this
 * cache holds are just as cheap ({@link MSpan#freeLocal}); others take the remote path ({@link MCentral}).
 *
 * <h2>No tiny blocks for manual objects (a design change from Go)</h2>
 * Go packs pointer-free objects under 16 bytes into shared 16-byte blocks and can do so because it frees a
 * block only as a whole, when nothing in it is reachable. goheap's manual objects are freed one by one, so
 * packing them needed a per-block state word (live starts and ends, a "held" flag, a history for double-free
 * reports): one {@code long} of Java heap per 16 off-heap bytes, 55–62% metadata for objects of 16 bytes or
 * less. Each manual object now takes its own slot of Go's size classes (8 or 16 bytes), whose only per-object
 * metadata is three bits in its span's bitmaps. The price is off-heap memory for objects under 8 bytes (a 1–7
 * byte object takes 8 bytes, where a tiny block fits two to sixteen of them) and nothing in speed (the tiny
 * path's CAS on the state word is gone). Go's tiny allocator returns for collected objects, whose blocks are
 * freed whole by the sweeper.
 */
final class MCache {
    /**
     * Counter layout: mallocs by size class, then frees by size class, then the large objects this P allocated
     * from and freed into its retained spans (count and bytes each; all other large objects are counted under the
     * heap lock).
     */
    static final int MALLOCS = 0;
    static final int FREES = SizeClasses.NUM_SIZE_CLASSES;
    static final int LARGE_MALLOCS = 2 * SizeClasses.NUM_SIZE_CLASSES;
    static final int LARGE_MALLOC_BYTES = LARGE_MALLOCS + 1;
    static final int LARGE_FREES = LARGE_MALLOCS + 2;
    static final int LARGE_FREE_BYTES = LARGE_MALLOCS + 3;
    /** Objects the tiny allocator placed in blocks (Go's tinyAllocs: counted as allocated and freed at once). */
    static final int TINY_ALLOCS = LARGE_MALLOCS + 4;
    static final int COUNTERS = LARGE_MALLOCS + 5;

    /** Largest manual large object whose span a P retains when it is freed: 1 MiB (128 pages). */
    static final int RETAIN_MAX_PAGES = 128;
    /** Bytes of freed large spans one P retains at most (jemalloc's tcache for large sizes, bounded). */
    static final long RETAIN_MAX_BYTES = 2L << 20;
    static final int RETAIN_MAX_SPANS = 8;

    private static final VarHandle COUNTER = MSpan.LONGS;

    final MHeap heap;
    /** The cached span per cache class ({@link MSpan#cacheClass}): manual span classes, then collected ones. */
    private final MSpan[] alloc = new MSpan[MSpan.NUM_CACHE_CLASSES];
    final long[] counters = new long[COUNTERS];

    /**
     * The span of the last local free: frees tend to hit the span just used, so this skips the page index. A
     * stale entry is harmless: the ownership check below rejects a span this cache no longer holds.
     */
    private MSpan lastFreed = MSpan.EMPTY;

    /**
     * Spans of manual large objects this P freed, kept (published, in use, on their mcentral's full list, with
     * their allocation bit clear) so the next large allocation of the same page count and kind takes one without
     * the heap lock, the page allocator or a new descriptor. Oldest first; at most {@link #RETAIN_MAX_SPANS}
     * spans and {@link #RETAIN_MAX_BYTES} bytes; all given back to the heap by {@link #releaseAll} (every
     * collection, {@code freeOSMemory}, a dead thread's P). Only this P's holder touches the array. A free of an
     * object in a retained span finds its allocation bit clear: a double free, as for any freed slot.
     */
    private final MSpan[] retained = new MSpan[RETAIN_MAX_SPANS];

    /**
     * Manual spans this P filled, kept cached instead of given back to their mcentral (mimalloc's per-thread full
     * and partial page queues): frees of their objects by this P stay local — plain stores, no lock, no atomic —
     * and when the allocating span is full a stashed span with free slots takes over without the mcentral lock.
     * Per cache class a deque of full spans (as of stashing; a local free moves one to the partial list) and a
     * stack of partial ones, linked through the spans' own list fields (unused while cached). Remote frees to a
     * stashed span only set bits (it is cached), merged when the span is taken or given back. At most
     * {@link #STASH_MAX_BYTES} per P, evicted oldest first within the class; all given back by
     * {@link #releaseAll} (every collection, freeOSMemory, a P's flush). Owner only.
     */
    private final MSpan[] stashFullHead = new MSpan[MSpan.NUM_CACHE_CLASSES];
    private final MSpan[] stashFullTail = new MSpan[MSpan.NUM_CACHE_CLASSES];
    private final MSpan[] stashPartial = new MSpan[MSpan.NUM_CACHE_CLASSES];
    private long stashedBytes;
    static final long STASH_MAX_BYTES = 4L << 20;
    private int retainedCount;
    private long retainedBytes;

    /**
     * Go's per-P page cache: a 64-page window of free pages small spans are carved from without the heap lock
     * (see {@link MHeap#allocSmallSpan}). Only this P's holder touches it; given back by {@link #releaseAll}.
     */
    final io.goheap.pagealloc.PageCache pageCache = new io.goheap.pagealloc.PageCache();
    /**
     * Set for the cache of a P made beyond GOMAXPROCS (before the P is published): it never fills its page cache, so
     * a thousand threads holding Ps at once do not hold a thousand 64-page windows (512 KiB each).
     */
    boolean noPageCache;

    /**
     * The span of the last small allocation, null after a large one: the type record that follows an allocation
     * ({@link GcHooks#writeType(MCache, long, long, GcType)}) needs no page-index lookup.
     */
    MSpan lastSpan;

    /**
     * The tiny allocator (Go's {@code mcache.tiny}): the P's current 16-byte block of a tiny span, and the bytes of
     * it already handed out. Collected pointer-free objects under 16 bytes are packed into it, aligned to their size
     * (8, 4 or 2 bytes); a new block is taken when one does not fit, and kept if it has more room left than the old
     * one. A block is one object to the collector: marked whenever any of its objects is reachable (a pointer into
     * it finds its slot), swept as a whole when none is. A new block is allocated black during a mark, as any
     * object; a later piece of a block is not marked on its own: whatever holds it was stored through the write
     * barrier, a root or a frame, which shade it (its block) while a mark runs — the rule that covers every new
     * object between its allocation and its first store. The block is dropped whenever the cache's collected
     * spans are given back ({@link #prepareForSweep}, {@link #releaseAll}): a block the ending mark did not mark
     * is swept, so nothing may be carved from it afterwards. Owner only.
     */
    private long tiny;
    private long tinyOffset;

    /**
     * The heap sweepgen this cache was last prepared for ({@link #prepareForSweep}, Go's {@code mcache.flushGen}).
     * Written by the P's holder (or the stopper, with the world stopped); read racily by the cycle's thread only as
     * a hint before it takes an idle P.
     */
    int flushGen;

    MCache(MHeap heap) {
        this.heap = heap;
        this.flushGen = heap.sweepgen;
        java.util.Arrays.fill(alloc, MSpan.EMPTY);
    }

    /**
     * Gives back the collected spans cached before the current sweep cycle began (Go's
     * {@code mcache.prepareForSweep}): a mark termination advances sweepgen without touching any mcache, so a
     * cache may still hold spans marked in the cycle that just ended — stale spans, whose unmarked objects are
     * garbage. Uncaching sweeps each of them ({@link MCentral#uncacheSpan}). Every path by which a thread starts
     * or resumes using a P after a stop calls this first — taking a P ({@link Procs#acquire}), leaving a safepoint
     * or a blocking region ({@link Procs#leaveSafe}), the stopper's own P at the restart — so no allocation or
     * local free ever touches a stale span. One volatile load when there is nothing to do.
     *
     * <p>Manual spans stay cached (the stash and the retained large spans are why they are cached at all): they
     * hold no garbage, and a manual span's sweepgen is brought up to date when it is uncached. The P's page cache
     * (at most 64 free pages) is given back too, once per cycle: pages a P holds are hidden from the scavenger. Not
     * in mark termination's pause, where it took 20–450 µs of the heap lock with the world stopped.
     */
    void prepareForSweep() {
        int sg = heap.sweepgen;
        if (flushGen == sg) {
            return;
        }
        for (int cc = SizeClasses.NUM_SPAN_CLASSES; cc < alloc.length; cc++) {
            MSpan s = alloc[cc];
            if (s != MSpan.EMPTY) {
                alloc[cc] = MSpan.EMPTY;
                heap.central[cc].uncacheSpan(s);
            }
        }
        lastSpan = null;
        dropTinyBlock();
        heap.flushPageCache(pageCache);     // free pages back where the scavenger sees them (a memory limit needs it)
        flushGen = sg;
    }

    /** Calls {@code visitor} with every manual span this cache holds (allocating and stashed). World stopped. */
    void forEachCachedManualSpan(java.util.function.Consumer<MSpan> visitor) {
        for (int cc = 0; cc < SizeClasses.NUM_SPAN_CLASSES; cc++) {
            if (alloc[cc] != MSpan.EMPTY) {
                visitor.accept(alloc[cc]);
            }
            for (MSpan s = stashFullHead[cc]; s != null; s = s.next) {
                visitor.accept(s);
            }
            for (MSpan s = stashPartial[cc]; s != null; s = s.next) {
                visitor.accept(s);
            }
        }
    }

    private void count(int index) {
        COUNTER.setRelease(counters, index, counters[index] + 1);
    }

    private void uncount(int index) {
        COUNTER.setRelease(counters, index, counters[index] - 1);
    }

    private void add(int index, long delta) {
        COUNTER.setRelease(counters, index, counters[index] + delta);
    }

    // ------------------------------------------------------------------ allocation

    /** Allocates a manual object of {@code size} bytes, zeroed. The caller has checked 0 < size ≤ the heap's maximum. */
    long malloc(long size, boolean noscan) {
        return malloc(size, noscan, false);
    }

    /**
     * Allocates {@code size} bytes, zeroed, in a span of manual or {@code collected} objects. The caller has
     * checked 0 < size ≤ the heap's maximum; a scan object's type is written by the caller ({@link GcType}).
     */
    long malloc(long size, boolean noscan, boolean collected) {
        return malloc(size, noscan, collected, true);
    }

    /**
     * As {@link #malloc(long, boolean, boolean)}; with {@code zero} false the memory is handed out as it is (a
     * pointer-free manual object whose caller writes every byte: Go's {@code needzero=false}). The span's
     * needzero state is left alone, so the next zeroed allocation of a slot still zeroes it.
     */
    long malloc(long size, boolean noscan, boolean collected, boolean zero) {
        try {
            return mallocOnce(size, noscan, collected, zero);
        } catch (AddressSpaceExhaustedError e) {
            // Before giving up, take back what the Ps keep (this one's retained spans and page cache, idle Ps'
            // caches, the mcentrals' retained spans): freed memory must be allocatable however it was freed.
            heap.reclaimCached.run();
            return mallocOnce(size, noscan, collected, zero);
        }
    }

    private long mallocOnce(long size, boolean noscan, boolean collected, boolean zero) {
        if (size <= SizeClasses.MAX_SMALL_ALLOC) {
            boolean header = !noscan && size > SizeClasses.MIN_SIZE_FOR_MALLOC_HEADER;
            int sizeClass = SizeClasses.sizeToClass(header ? size + SizeClasses.MALLOC_HEADER_SIZE : size);
            int cacheClass = MSpan.cacheClass((sizeClass << 1) | (noscan ? 1 : 0), collected);
            MSpan s = alloc[cacheClass];
            long p = s.nextFreeFast();
            if (p == 0) {
                p = nextFree(cacheClass);
                s = alloc[cacheClass];
            }
            if (zero && s.needzero) {
                heap.zero(p, s.elemSize);
            }
            if (collected && heap.allocateBlack) {
                allocateBlack(s, s.objectIndex(p - s.base));
            }
            count(MALLOCS + sizeClass);
            lastSpan = s;
            return header ? p + SizeClasses.MALLOC_HEADER_SIZE : p;
        }
        if (!collected && retainedCount > 0) {
            MSpan s = takeRetained((size + MHeap.PAGE_SIZE - 1) >>> SizeClasses.PAGE_SHIFT, noscan);
            if (s != null) {
                s.reuseLarge();
                if (zero) {
                    heap.zeroLarge(s.base, s.elemSize);
                }
                add(LARGE_MALLOCS, 1);
                add(LARGE_MALLOC_BYTES, s.elemSize);
                lastSpan = s;
                return s.base;
            }
        }
        lastSpan = null;
        long p = heap.allocLarge(size, noscan, collected, zero);
        if (collected && heap.allocateBlack) {
            allocateBlack(heap.spanOfObject(p), 0);
        }
        return p;
    }

    /**
     * Allocates a collected object of {@code shape}, zeroed, and records its type: the collected fast path, with
     * the size class and type record worked out once per type ({@link AllocShape}). The caller has checked the
     * Mutator's state. Small objects leave {@link #lastSpan} alone: no type record follows.
     */
    long mallocShaped(AllocShape shape) {
        int kind = shape.kind;
        if (kind == AllocShape.TINY) {
            return mallocTiny(shape.size, shape.tinyAlign);
        }
        if (kind == AllocShape.LARGE) {
            long p = malloc(shape.size, shape.noscan, true, true);
            if (!shape.noscan) {
                MSpan s = heap.spanOfObject(p);
                s.largeCount = shape.count;
                s.largeType = shape.type;                 // volatile: after the count
            }
            return p;
        }
        int cacheClass = shape.cacheClass;
        MSpan s = alloc[cacheClass];
        long p = s.nextFreeFast();
        if (p == 0) {
            p = nextFree(cacheClass);
            s = alloc[cacheClass];
        }
        if (s.needzero) {
            heap.zero(p, s.elemSize);
        }
        if (kind == AllocShape.HEAP_BITS) {
            HeapBits.write(s, p, shape.heapBits);
            if (heap.recordTypeIds) {
                s.recordTypeId(p, shape.type.id());
            }
        } else if (kind == AllocShape.HEADER) {
            s.typeInfo[s.objectIndex(p - s.base)] = shape.header;   // off the heap's memory (see MSpan#typeInfo)
        }
        if (heap.allocateBlack) {
            allocateBlack(s, s.objectIndex(p - s.base));
        }
        count(MALLOCS + shape.sizeClass);
        return kind == AllocShape.HEADER ? p + SizeClasses.MALLOC_HEADER_SIZE : p;
    }

    /**
     * The tiny allocator: {@code size} (&lt; 16) bytes aligned to {@code align} from the current block, or from a
     * new zeroed block (see {@link #tiny}).
     */
    private long mallocTiny(long size, long align) {
        long off = (tinyOffset + align - 1) & -align;
        long block = tiny;
        if (block != 0 && off + size <= SizeClasses.TINY_SIZE) {
            tinyOffset = off + size;
            count(TINY_ALLOCS);
            return block + off;
        }
        int cc = MSpan.TINY_CACHE_CLASS;
        MSpan s = alloc[cc];
        long p = s.nextFreeFast();
        if (p == 0) {
            p = nextFree(cc);
            s = alloc[cc];
        }
        if (s.needzero) {
            heap.zero(p, SizeClasses.TINY_SIZE);
        }
        if (heap.allocateBlack) {
            allocateBlack(s, s.objectIndex(p - s.base));
        }
        count(MALLOCS + SizeClasses.TINY_SIZE_CLASS);
        if (block == 0 || size < tinyOffset) {         // keep whichever block has more room left
            tiny = p;
            tinyOffset = size;
        }
        return p;
    }

    /** Forgets the current tiny block (its span is being given back or swept); its unused room is lost, as in Go. */
    private void dropTinyBlock() {
        tiny = 0;
        tinyOffset = 0;
    }

    /**
     * Allocate-black (Go's {@code gcmarknewobject}): while a concurrent mark runs, a new collected object is marked
     * as it is allocated, so the mark need not find it — it holds nothing yet, and every pointer stored into it
     * goes through the write barrier. One atomic OR into the span's mark word (markers OR into the same words);
     * only while marking, so the fast path outside a cycle pays one load of {@link MHeap#allocateBlack}. Its bytes
     * count as marked (Go's bytesMarked), in {@link #blackBytes}.
     */
    private void allocateBlack(MSpan s, int idx) {
        s.tryMark(idx, heap);
        blackBytes += s.elemSize;
    }

    /**
     * Bytes this P allocated black in the current mark (see {@link #allocateBlack}). Owner only; read and reset by
     * the collector with the world stopped ({@link GcHooks#takeBlackBytes}).
     */
    long blackBytes;

    /** Slow path: the cached span of {@code cacheClass} is full; merge its remote frees or swap it for another. */
    private long nextFree(int cacheClass) {
        MSpan s = alloc[cacheClass];
        long p = s.nextFreeSlow();
        if (p != 0) {
            return p;
        }
        if (s != MSpan.EMPTY && s.mergeRemoteFrees(false, heap) > 0) {
            p = s.nextFreeSlow();
            if (p != 0) {
                return p;
            }
        }
        refill(cacheClass);
        s = alloc[cacheClass];
        p = s.nextFreeSlow();
        if (p == 0) {
            throw new IllegalStateException("mcentral returned a full span: " + s);
        }
        return p;
    }

    private void refill(int cacheClass) {
        MSpan old = alloc[cacheClass];
        alloc[cacheClass] = MSpan.EMPTY;
        if (old != MSpan.EMPTY && !tryStash(old)) {
            heap.central[cacheClass].uncacheSpan(old);
        }
        MSpan s = takeStashed(cacheClass);
        alloc[cacheClass] = s != null ? s : heap.central[cacheClass].cacheSpan(this);
    }

    // ------------------------------------------------------------------ the stash

    /** Keeps full span {@code s} (just replaced as the allocating span) if it is manual and the budget allows. */
    private boolean tryStash(MSpan s) {
        if (s.collected) {
            return false;
        }
        long bytes = (long) s.npages << SizeClasses.PAGE_SHIFT;
        int cc = s.cacheClass;
        while (stashedBytes + bytes > STASH_MAX_BYTES) {
            MSpan victim = stashFullTail[cc] != null ? stashFullTail[cc] : stashPartial[cc];
            if (victim == null) {
                return false;                            // the budget is held by other classes: no stash
            }
            unstash(victim);
            heap.central[cc].uncacheSpan(victim);
        }
        s.prev = null;
        s.next = stashFullHead[cc];
        if (s.next != null) {
            s.next.prev = s;
        } else {
            stashFullTail[cc] = s;
        }
        stashFullHead[cc] = s;
        s.stash = MSpan.STASH_FULL;
        stashedBytes += bytes;
        return true;
    }

    /** A stashed span with a free slot, taken off the stash; or null. */
    private MSpan takeStashed(int cc) {
        MSpan s = stashPartial[cc];
        if (s == null) {
            s = stashFullHead[cc];
            if (s == null || (s.remote() & MSpan.R_PENDING_MASK) == 0) {
                return null;                             // the newest full span got no remote free either
            }
        }
        unstash(s);
        s.mergeRemoteFrees(false, heap);
        if (s.hasFreeSlot()) {
            return s;
        }
        heap.central[cc].uncacheSpan(s);                 // (cannot happen: a partial span only gains free slots)
        return null;
    }

    /** A local free made stashed full span {@code s} partial: move it to the partial stack. */
    private void unfull(MSpan s) {
        int cc = s.cacheClass;
        unstash(s);
        s.prev = null;
        s.next = stashPartial[cc];
        if (s.next != null) {
            s.next.prev = s;
        }
        stashPartial[cc] = s;
        s.stash = MSpan.STASH_PARTIAL;
        stashedBytes += (long) s.npages << SizeClasses.PAGE_SHIFT;
    }

    /** Takes {@code s} off whichever stash list holds it. */
    private void unstash(MSpan s) {
        int cc = s.cacheClass;
        if (s.prev != null) {
            s.prev.next = s.next;
        } else if (s.stash == MSpan.STASH_FULL) {
            stashFullHead[cc] = s.next;
        } else {
            stashPartial[cc] = s.next;
        }
        if (s.next != null) {
            s.next.prev = s.prev;
        } else if (s.stash == MSpan.STASH_FULL) {
            stashFullTail[cc] = s.prev;
        }
        s.next = null;
        s.prev = null;
        s.stash = MSpan.STASH_NONE;
        stashedBytes -= (long) s.npages << SizeClasses.PAGE_SHIFT;
    }

    // ------------------------------------------------------------------ free

    /**
     * Frees the object at {@code address}; see {@link Heap#free} for the contract. The common case first: an
     * ordinary object in a span this cache holds (such a span is in use: spans are freed only when uncached).
     */
    void free(long address) {
        MSpan s = lastFreed;
        if (Long.compareUnsigned(address - s.base, s.limit - s.base) >= 0) {
            s = heap.spans.get(address);
        }
        if (s != null && s.cachedByPlain() == this) {
            lastFreed = s;
            long off = address - s.base;
            if (off < s.limit - s.base) {
                int idx = s.objectIndex(off);
                long userOff = idx * s.elemSize + (s.hasHeader ? SizeClasses.MALLOC_HEADER_SIZE : 0);
                if (off == userOff && s.isAllocated(idx) && !s.isRemoteFreedRacy(idx) && !s.tiny) {
                    s.freeLocal(idx);
                    count(FREES + s.sizeClass);
                    if (s.stash == MSpan.STASH_FULL) {
                        unfull(s);
                    }
                    return;
                }
            }
        }
        freeChecked(address);
    }

    /** Every other free, with every check: remote frees, large objects, bad addresses. */
    private void freeChecked(long address) {
        MSpan s = heap.findSpan(address);
        if (s == null) {
            heap.requireHeapAddress(address);
            MSpan tail = heap.spans.get(address);
            if (tail != null && tail.state() == MSpan.IN_USE && address >= tail.limit) {
                throw new IllegalArgumentException(String.format(
                        "free(0x%x): no object starts there: the address is past the last %d-byte object of the "
                                + "span at 0x%x", address, tail.elemSize, tail.base));
            }
            throw new IllegalStateException(String.format(
                    "free(0x%x): double free or never allocated (no object there: no span in use)", address));
        }
        if (s.isLarge()) {
            freeLarge(s, address);
            return;
        }
        if (s.tiny) {
            freeTiny(s, address);
            return;
        }
        long off = address - s.base;
        int idx = s.objectIndex(off);
        long slotOff = idx * s.elemSize;
        long userOff = s.hasHeader ? slotOff + SizeClasses.MALLOC_HEADER_SIZE : slotOff;
        if (!s.isAllocatedRacy(idx) || s.isRemoteFreed(idx)) {
            throw new IllegalStateException(String.format(
                    "free(0x%x): double free or never allocated (the %d-byte slot at 0x%x is free)",
                    address, s.elemSize, s.base + slotOff));
        }
        if (off == slotOff && s.hasHeader) {
            throw new IllegalArgumentException(String.format(
                    "free(0x%x): address is the %d-byte malloc header of the object at 0x%x; free needs the object's own address",
                    address, SizeClasses.MALLOC_HEADER_SIZE, s.base + userOff));
        }
        if (off != userOff) {
            throw new IllegalArgumentException(String.format(
                    "free(0x%x): address points inside the object at 0x%x; free needs the object's own address",
                    address, s.base + userOff));
        }
        freeSlot(s, idx);
    }

    /**
     * Frees large object {@code s}: a manual one of at most {@link #RETAIN_MAX_PAGES} pages is retained by this P
     * for reuse (its free counted here), anything else goes back to the heap at once.
     */
    private void freeLarge(MSpan s, long address) {
        if (s.collected || s.npages > RETAIN_MAX_PAGES || address != s.base) {
            heap.freeLarge(s, address);                  // (an interior address is reported there)
            return;
        }
        if (!s.claimLargeFree()) {
            throw MCentral.largeDoubleFree(s, address);
        }
        s.clearMarks();                                  // (manual spans carry none; a test may have set one)
        add(LARGE_FREES, 1);                             // counted before the span can leave the heap
        add(LARGE_FREE_BYTES, s.elemSize);
        if (retainedCount == RETAIN_MAX_SPANS) {
            releaseOldestRetained();
        }
        retained[retainedCount++] = s;
        retainedBytes += s.elemSize;
        while (retainedBytes > RETAIN_MAX_BYTES) {
            releaseOldestRetained();
        }
    }

    /** The newest retained span of {@code npages} pages and this kind, taken off the list; or null. */
    private MSpan takeRetained(long npages, boolean noscan) {
        for (int i = retainedCount - 1; i >= 0; i--) {
            MSpan s = retained[i];
            if (s.npages == npages && s.noscan == noscan) {
                System.arraycopy(retained, i + 1, retained, i, retainedCount - i - 1);
                retained[--retainedCount] = null;
                retainedBytes -= s.elemSize;
                return s;
            }
        }
        return null;
    }

    private void releaseOldestRetained() {
        MSpan s = retained[0];
        System.arraycopy(retained, 1, retained, 0, retainedCount - 1);
        retained[--retainedCount] = null;
        retainedBytes -= s.elemSize;
        heap.central[s.cacheClass].releaseRetained(s);
    }

    /**
     * A free of a tiny object (see {@link #tiny}): its block holds other objects, so the block is left to the
     * collector, which reclaims it once nothing in it is reachable. An address in a block that is not allocated
     * is still reported.
     */
    private static void freeTiny(MSpan s, long address) {
        int idx = s.objectIndex(address - s.base);
        if (!s.isAllocatedRacy(idx) || s.isRemoteFreedRacy(idx)) {
            throw new IllegalStateException(String.format(
                    "free(0x%x): double free or never allocated (the 16-byte tiny block at 0x%x is free)",
                    address, s.objectAddress(idx)));
        }
    }

    /** Frees slot {@code idx} of small span {@code s}: locally if this cache holds the span, else remotely. */
    private void freeSlot(MSpan s, int idx) {
        if (s.cachedByPlain() == this) {
            if (!s.isAllocated(idx) || s.isRemoteFreed(idx)) {
                throw doubleFree(s, idx);
            }
            s.freeLocal(idx);
            count(FREES + s.sizeClass);
            if (s.stash == MSpan.STASH_FULL) {
                unfull(s);
            }
            return;
        }
        if (!s.isAllocatedRacy(idx)) {
            throw doubleFree(s, idx);
        }
        // Counted before the free's bit is set: from then on the span's owner (or a settle) may merge it and return
        // the span's pages to the heap, and a MemStats snapshot must not see the pages gone while the object still
        // counts as live (HeapAlloc > HeapInuse). The bit is set atomically, so whoever merges it sees the count.
        count(FREES + s.sizeClass);
        long after = s.recordRemoteFree(idx);
        if (after == -1) {
            uncount(FREES + s.sizeClass);
            throw doubleFree(s, idx);
        }
        if ((after & MSpan.R_CACHED) == 0) {
            long pending = after & MSpan.R_PENDING_MASK;
            long published = (after & MSpan.R_COUNT_MASK) >>> MSpan.R_COUNT_SHIFT;
            if ((after & MSpan.R_FULL) != 0 || pending >= published) {
                if (!heap.central[s.cacheClass].settleAfterRemoteFree(s, idx)) {
                    uncount(FREES + s.sizeClass);
                    throw doubleFree(s, idx);
                }
            }
        }
    }

    private static IllegalStateException doubleFree(MSpan s, int idx) {
        long addr = s.objectAddress(idx);
        return new IllegalStateException(String.format(
                "free(0x%x): double free or never allocated (object of %d bytes is not allocated)", addr, s.elemSize));
    }

    /** Returns every cached span and the page cache's free pages (the P is going away or being flushed). */
    void releaseAll() {
        while (retainedCount > 0) {
            releaseOldestRetained();
        }
        for (int cc = 0; cc < alloc.length; cc++) {
            for (MSpan s; (s = stashFullHead[cc] != null ? stashFullHead[cc] : stashPartial[cc]) != null; ) {
                unstash(s);
                heap.central[cc].uncacheSpan(s);
            }
        }
        for (int spc = 0; spc < alloc.length; spc++) {
            MSpan s = alloc[spc];
            if (s != MSpan.EMPTY) {
                alloc[spc] = MSpan.EMPTY;
                heap.central[spc].uncacheSpan(s);
            }
        }
        dropTinyBlock();
        heap.flushPageCache(pageCache);
        flushGen = heap.sweepgen;                         // nothing stale is left
    }

    /** Whether this cache holds no span and no free page (as {@link #releaseAll} leaves it). Its owner only. */
    boolean holdsNothing() {
        for (MSpan s : alloc) {
            if (s != MSpan.EMPTY) {
                return false;
            }
        }
        for (int cc = 0; cc < stashFullHead.length; cc++) {
            if (stashFullHead[cc] != null || stashPartial[cc] != null) {
                return false;
            }
        }
        return retainedCount == 0 && pageCache.isEmpty();
    }

    /** Approximate Java-heap bytes of one mcache (for MCacheInuse / MCacheSys). */
    static long metadataBytes() {
        return 16 + (16 + 4L * MSpan.NUM_CACHE_CLASSES) + (16 + 8L * COUNTERS) + 24 + 24
                + (16 + 4L * RETAIN_MAX_SPANS) + 16 + 3 * (16 + 4L * MSpan.NUM_CACHE_CLASSES)
                + 48;                                             // the page cache
    }
}
