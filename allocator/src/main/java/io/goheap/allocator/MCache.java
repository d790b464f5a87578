package io.goheap.allocator;

import java.lang.invoke.VarHandle;

/**
 * A P's cache of spans, one per span class (Go's {@code mcache}), plus its tiny block and its statistics.
 *
 * <h2>Who may touch what</h2>
 * Only the thread currently holding the owning {@link P} calls into an mcache, so its fields are plain;
 * handing the P to another thread (a CAS on {@code P.owner}, released with a release store) orders them.
 * The statistics counters are written by that thread with release stores (a plain {@code mov} on x86, no
 * fence) and read by {@link MemStats} snapshots with acquire loads; see {@link HeapStats} for the order.
 *
 * <h2>Fast path</h2>
 * {@link #malloc}: size → class by table, {@link MSpan#nextFreeFast()} (ctz on a 64-bit cache), zero the slot
 * if the span says so, count. No lock, no Java allocation, no volatile write. Frees of objects in spans this
 * cache holds are just as cheap ({@link MSpan#freeLocal}); others take the remote path ({@link MCentral}).
 *
 * <h2>Tiny blocks</h2>
 * Pointer-free objects under 16 bytes share 16-byte blocks, as in Go (same alignment and block-choice rules).
 * Because goheap also frees explicitly, each block slot of the tiny span class has a state word
 * ({@link MSpan#tinyState}): bit k (0–15) = a live sub-object starts at offset k, bit 16+k = one ends at
 * offset k, {@link #TINY_HELD} while an mcache still carves from the block, and bit 33+k = a sub-object
 * started at offset k at some time (so a second free of it is reported as a double free). Whoever turns the
 * word to 0 (the last sub-object free, or the mcache letting go of the block) frees the 16-byte slot itself.
 * A slot of that class whose word is 0 is an ordinary 16-byte object.
 */
final class MCache {
    static final long TINY_HELD = 1L << 32;
    static final int TINY_PAST_SHIFT = 33;
    private static final long TINY_LIVE = 0xFFFFL | TINY_HELD;

    /** Counter layout: mallocs by size class, frees by size class, then tiny allocations. */
    static final int MALLOCS = 0;
    static final int FREES = SizeClasses.NUM_SIZE_CLASSES;
    static final int TINY_ALLOCS = 2 * SizeClasses.NUM_SIZE_CLASSES;
    static final int COUNTERS = TINY_ALLOCS + 1;

    private static final VarHandle COUNTER = MSpan.LONGS;

    final MHeap heap;
    private final MSpan[] alloc = new MSpan[SizeClasses.NUM_SPAN_CLASSES];
    final long[] counters = new long[COUNTERS];

    /**
     * The span of the last local free: frees tend to hit the span just used, so this skips the page index. A
     * stale entry is harmless: the ownership check below rejects a span this cache no longer holds.
     */
    private MSpan lastFreed = MSpan.EMPTY;

    private long tiny;
    private long tinyOffset;
    private MSpan tinySpan;
    private int tinySlot;

    MCache(MHeap heap) {
        this.heap = heap;
        java.util.Arrays.fill(alloc, MSpan.EMPTY);
    }

    private void count(int index) {
        COUNTER.setRelease(counters, index, counters[index] + 1);
    }

    // ------------------------------------------------------------------ allocation

    /** Allocates {@code size} bytes, zeroed. The caller has checked 0 < size ≤ the heap's maximum. */
    long malloc(long size, boolean noscan) {
        if (size <= SizeClasses.MAX_SMALL_ALLOC) {
            if (noscan && size < SizeClasses.TINY_SIZE) {
                return mallocTiny(size);
            }
            boolean header = !noscan && size > SizeClasses.MIN_SIZE_FOR_MALLOC_HEADER;
            int sizeClass = SizeClasses.sizeToClass(header ? size + SizeClasses.MALLOC_HEADER_SIZE : size);
            int spanClass = (sizeClass << 1) | (noscan ? 1 : 0);
            MSpan s = alloc[spanClass];
            long p = s.nextFreeFast();
            if (p == 0) {
                p = nextFree(spanClass);
                s = alloc[spanClass];
            }
            if (s.needzero) {
                heap.zero(p, s.elemSize);
            }
            count(MALLOCS + sizeClass);
            return header ? p + SizeClasses.MALLOC_HEADER_SIZE : p;
        }
        return heap.allocLarge(size, noscan);
    }

    /** Slow path: the cached span of {@code spanClass} is full; merge its remote frees or swap it for another. */
    private long nextFree(int spanClass) {
        MSpan s = alloc[spanClass];
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
        refill(spanClass);
        s = alloc[spanClass];
        p = s.nextFreeSlow();
        if (p == 0) {
            throw new IllegalStateException("mcentral returned a full span: " + s);
        }
        return p;
    }

    private void refill(int spanClass) {
        MSpan old = alloc[spanClass];
        alloc[spanClass] = MSpan.EMPTY;
        if (old != MSpan.EMPTY) {
            heap.central[spanClass].uncacheSpan(old);
        }
        alloc[spanClass] = heap.central[spanClass].cacheSpan(this);
    }

    private long mallocTiny(long size) {
        long off = tinyOffset;
        if ((size & 7) == 0) {
            off = (off + 7) & ~7L;
        } else if ((size & 3) == 0) {
            off = (off + 3) & ~3L;
        } else if ((size & 1) == 0) {
            off = (off + 1) & ~1L;
        }
        if (tiny != 0 && off + size <= SizeClasses.TINY_SIZE) {
            tinySpan.tinyGetAndBitwiseOr(tinySlot, tinyBits(off, size));
            tinyOffset = off + size;
            count(TINY_ALLOCS);
            return tiny + off;
        }
        // A new block: it counts as one 16-byte object of the tiny class.
        MSpan s = alloc[SizeClasses.TINY_SPAN_CLASS];
        long p = s.nextFreeFast();
        if (p == 0) {
            p = nextFree(SizeClasses.TINY_SPAN_CLASS);
            s = alloc[SizeClasses.TINY_SPAN_CLASS];
        }
        if (s.needzero) {
            heap.zero(p, SizeClasses.TINY_SIZE);
        }
        count(MALLOCS + (SizeClasses.TINY_SPAN_CLASS >>> 1));
        int slot = (int) ((p - s.base) >>> 4);
        // Keep whichever block has more room left, as Go does.
        boolean adopt = tiny == 0 || size < tinyOffset;
        s.tinyGetAndBitwiseOr(slot, tinyBits(0, size) | (adopt ? TINY_HELD : 0));
        if (adopt) {
            releaseTinyBlock();
            tiny = p;
            tinySpan = s;
            tinySlot = slot;
            tinyOffset = size;
        }
        return p;
    }

    private static long tinyBits(long off, long size) {
        return (1L << off) | (1L << (16 + off + size - 1)) | (1L << (TINY_PAST_SHIFT + off));
    }

    /** Lets go of the current tiny block; frees its slot if every sub-object in it was freed already. */
    private void releaseTinyBlock() {
        if (tiny == 0) {
            return;
        }
        MSpan s = tinySpan;
        int slot = tinySlot;
        tiny = 0;
        tinySpan = null;
        tinyOffset = 0;
        long st;
        long updated;
        do {
            st = s.tinyState(slot);
            updated = (st & 0xFFFF) == 0 ? 0 : st & ~TINY_HELD;
        } while (!s.tinyCompareAndSet(slot, st, updated));
        if (updated == 0) {
            freeSlot(s, slot);
        }
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
                if (off == userOff && s.isAllocated(idx) && !s.isRemoteFreedRacy(idx)
                        && (s.tinyState == null || s.tinyStatePlain(idx) == 0)) {
                    s.freeLocal(idx);
                    count(FREES + s.sizeClass);
                    return;
                }
            }
        }
        freeChecked(address);
    }

    /** Every other free, with every check: remote frees, tiny sub-objects, large objects, bad addresses. */
    private void freeChecked(long address) {
        MSpan s = heap.spanOfObject(address);
        if (s.isLarge()) {
            heap.freeLarge(s, address);
            return;
        }
        long off = address - s.base;
        int idx = s.objectIndex(off);
        long slotOff = idx * s.elemSize;
        if (s.tinyState != null) {
            long st = s.tinyState(idx);
            if (st != 0) {
                freeTiny(s, idx, (int) (off - slotOff), address);
                return;
            }
        }
        long userOff = s.hasHeader ? slotOff + SizeClasses.MALLOC_HEADER_SIZE : slotOff;
        if (!s.isAllocatedRacy(idx) || s.isRemoteFreed(idx)) {
            throw new IllegalStateException(String.format(
                    "free(0x%x): no allocated object there (the %d-byte slot at 0x%x is free: double free?)",
                    address, s.elemSize, s.base + slotOff));
        }
        if (off != userOff) {
            throw new IllegalArgumentException(String.format(
                    "free(0x%x): address points inside the object at 0x%x; free needs the object's own address",
                    address, s.base + userOff));
        }
        freeSlot(s, idx);
    }

    /** Frees slot {@code idx} of small span {@code s}: locally if this cache holds the span, else remotely. */
    private void freeSlot(MSpan s, int idx) {
        if (s.cachedByPlain() == this) {
            if (!s.isAllocated(idx) || s.isRemoteFreed(idx)) {
                throw doubleFree(s, idx);
            }
            s.freeLocal(idx);
            count(FREES + s.sizeClass);
            return;
        }
        if (!s.isAllocatedRacy(idx)) {
            throw doubleFree(s, idx);
        }
        long after = s.recordRemoteFree(idx);
        if (after == -1) {
            throw doubleFree(s, idx);
        }
        if ((after & MSpan.R_CACHED) == 0) {
            long pending = after & MSpan.R_PENDING_MASK;
            long published = (after & MSpan.R_COUNT_MASK) >>> MSpan.R_COUNT_SHIFT;
            if ((after & MSpan.R_FULL) != 0 || pending >= published) {
                if (!heap.central[s.spanClass].settleAfterRemoteFree(s, idx)) {
                    throw doubleFree(s, idx);
                }
            }
        }
        count(FREES + s.sizeClass);
    }

    private void freeTiny(MSpan s, int slot, int off, long address) {
        long st;
        long updated;
        do {
            st = s.tinyState(slot);
            if (off >= 16 || (st & (1L << off)) == 0) {
                if (off < 16 && (st & (1L << (TINY_PAST_SHIFT + off))) != 0) {
                    throw new IllegalStateException(String.format(
                            "free(0x%x): double free (tiny object already freed)", address));
                }
                throw new IllegalArgumentException(String.format(
                        "free(0x%x): address is not the start of a tiny object in the block at 0x%x",
                        address, s.base + ((long) slot << 4)));
            }
            long ends = (st >>> 16) & 0xFFFF;
            int end = off + Long.numberOfTrailingZeros(ends >>> off);
            updated = st & ~(1L << off) & ~(1L << (16 + end));
            if ((updated & TINY_LIVE) == 0) {
                updated = 0;
            }
        } while (!s.tinyCompareAndSet(slot, st, updated));
        if (updated == 0) {
            freeSlot(s, slot);
        }
    }

    private static IllegalStateException doubleFree(MSpan s, int idx) {
        long addr = s.base + idx * s.elemSize + (s.hasHeader ? SizeClasses.MALLOC_HEADER_SIZE : 0);
        return new IllegalStateException(String.format(
                "free(0x%x): double free (object of %d bytes is not allocated)", addr, s.elemSize));
    }

    /** Usable bytes of the tiny sub-object at {@code off} in block {@code slot}, or -1 if none starts there. */
    static long tinyUsable(MSpan s, int slot, int off) {
        long st = s.tinyState(slot);
        if (off >= 16 || (st & (1L << off)) == 0) {
            return -1;
        }
        long ends = (st >>> 16) & 0xFFFF;
        return Long.numberOfTrailingZeros(ends >>> off) + 1;
    }

    /** Returns every cached span and the tiny block (the P is going away or being flushed). */
    void releaseAll() {
        releaseTinyBlock();
        for (int spc = 0; spc < alloc.length; spc++) {
            MSpan s = alloc[spc];
            if (s != MSpan.EMPTY) {
                alloc[spc] = MSpan.EMPTY;
                heap.central[spc].uncacheSpan(s);
            }
        }
    }

    /** Approximate Java-heap bytes of one mcache (for MCacheInuse / MCacheSys). */
    static long metadataBytes() {
        return 16 + (16 + 4L * SizeClasses.NUM_SPAN_CLASSES) + (16 + 8L * COUNTERS) + 48;
    }
}
