package io.goheap.allocator;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.AddressSpace;
import io.goheap.pagealloc.ArenaIndex;
import io.goheap.pagealloc.PageAllocator;
import io.goheap.pagealloc.PageCache;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The page heap (Go's {@code mheap}): spans carved from the page allocator over one reserved address range,
 * the page → span index, the mcentrals, and heap-level statistics.
 *
 * <h2>Locking</h2>
 * {@link #lock} (the page allocator's lock, Go's heap lock) guards the page allocator, the page → span index
 * writes, arena growth, filling and flushing the per-P page caches, and the large-object counters. It is never
 * held while taking an mcentral lock (mcentral → heap is the only order). Zeroing large objects happens outside
 * it.
 *
 * <h2>Span allocation without the heap lock (Go's per-P page cache)</h2>
 * A small span (fewer than {@link #PAGE_CACHE_MAX_PAGES} pages) is carved from its P's {@link PageCache} — a
 * 64-page window of free pages the P took from the page allocator under the lock — with no lock at all: the
 * pages are the P's alone, their page-index entries sit in a page array made under the lock when the window was
 * taken ({@link ArenaIndex#setPrepared}), {@link #zeroedBase} advances by compare-and-set (Go's allocNeedsZero),
 * and the span counters are atomics. Those counters change once per span (8 KiB or more of objects), never per
 * object, so one atomic each costs less than Go's per-P deltas and needs no snapshot protocol: a snapshot under
 * the lock reads {@code inUsePages} once, every page it counts is in use in the page allocator (a cache's pages
 * are, from the fill), so {@code HeapIdle ≥ HeapReleased}; and a span is counted before any object in it is
 * allocated, so an object a snapshot counts live is in a span it counts ({@code HeapAlloc ≤ HeapInuse}).
 * Returning a span still takes the lock. A P's cache is given back ({@link #flushPageCache}) whenever its mcache
 * is ({@link MCache#releaseAll}: every collection, {@code freeOSMemory}, a dead holder's P). Allowed: a lookup racing a
 * lock-free publication sees null or the new span; a range zeroed although fresh. Forbidden: a page owned by two
 * caches or by a cache and a span, an index entry lost to a concurrent locked set (jcstress
 * {@code PageCacheIndexStress}), a dirty range handed out as zeroed, a snapshot counting an object live in a span
 * it does not count.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>Every page of an in-use span maps to that span in {@link #spans}; pages of free runs map to nothing.
 *       Lookups ({@link #spanOfObject}) are lock-free reads and validate the span's state.</li>
 *   <li>{@code inUsePages} = pages of live spans = the page allocator's in-use pages minus the free pages of
 *       the Ps' page caches, except while the scavenger temporarily holds a run it is releasing.</li>
 *   <li>{@code zeroedBase[a]}: bytes of arena {@code a} below it may have been used; above it, memory is as the
 *       OS gave it (zero). A span wholly above needs no zeroing (Go's {@code allocNeedsZero}). Released pages are
 *       below it; a span made only of released pages needs no zeroing either when the decommit mode leaves them
 *       reading as zero ({@code MADV_DONTNEED}, hard decommit), but does after {@code MADV_FREE}.</li>
 *   <li>Pages released by hard decommit are {@code PROT_NONE}: a span that takes any of them commits its range
 *       again before it is published (Go's {@code sysUsed}), so no access can fault.</li>
 * </ul>
 */
final class MHeap {
    static final long PAGE_SIZE = SizeClasses.PAGE_SIZE;

    final AddressSpace space;
    final PageAllocator pages;
    final ReentrantLock lock;
    /**
     * Held (shared) while system calls act on addresses of the heap's range outside the heap lock — {@code
     * freeOSMemory}'s releases, the zeroing of large objects by {@code madvise} — and (exclusive) by {@code
     * Heap.close} while it unmaps the range, so no madvise can reach a range that was unmapped and perhaps mapped
     * again by someone else. Whoever holds it shared checks {@link AddressSpace#isClosed()} first.
     */
    final ReentrantReadWriteLock osCalls = new ReentrantReadWriteLock();
    final ArenaIndex<MSpan> spans;
    /** Non-null while a concurrent mark's snapshot of the manual spans is taken (see {@link ManualRoots#take}). */
    volatile ManualRoots.Recorder manualRecorder;

    /**
     * Run once per sweep cycle by the sweeper that first finds no span left to sweep (Go's "sweep done"); set by the
     * collector, for {@code gcpacertrace}. Null: nothing to run.
     */
    volatile Runnable sweepDoneListener;
    /** The sweepgen whose sweep was last reported done; advanced by CAS, so each cycle is reported once. */
    private final java.util.concurrent.atomic.AtomicInteger sweepDoneGen = new java.util.concurrent.atomic.AtomicInteger();

    /** A sweeper found nothing left to sweep: tells the listener, once per sweep cycle. */
    void noteSweepDone() {
        int sg = sweepgen;
        int seen = sweepDoneGen.get();
        if (seen != sg && sweepDoneGen.compareAndSet(seen, sg)) {
            Runnable r = sweepDoneListener;
            if (r != null) {
                r.run();
            }
        }
    }

    /**
     * Takes back what the Ps keep — retained large spans, page caches, cached spans of Ps no thread holds and the
     * caller's own — and the mcentrals' retained empty spans, so an allocation the reservation cannot otherwise
     * hold gets their pages (set by the heap: it knows the Ps). Called by an allocating thread holding its P,
     * between operations of its mcache, with no lock held.
     */
    Runnable reclaimCached = () -> { };

    /**
     * Debug modes of the sweeper (see {@link Quarantine}): cycles a dead collected object stays quarantined (0:
     * none), and whether freed collected objects are clobbered. Set once, before the heap is shared.
     */
    int quarantineCycles;
    boolean clobberFree;
    /** Quarantined objects a mark found reachable (written to without a Mutator): counted for the collector. */
    final java.util.concurrent.atomic.AtomicLong quarantineReached = new java.util.concurrent.atomic.AtomicLong();

    /** Pages swept since the current sweep cycle began (Go's {@code mheap.pagesSwept}); any sweeper adds. */
    final java.util.concurrent.atomic.AtomicLong pagesSwept = new java.util.concurrent.atomic.AtomicLong();
    /** Pages in use when the current sweep cycle began: all of them wait to be swept (Go's pagesInUse then). */
    volatile long pagesToSweep;
    /** Manual span classes first, then collected ones: indexed by {@link MSpan#cacheClass}. */
    final MCentral[] central = new MCentral[MSpan.NUM_CACHE_CLASSES];
    private final java.util.concurrent.atomic.AtomicLongArray zeroedBase;
    private final MemorySegment memory;
    private final long base;
    /**
     * Set while a concurrent mark runs (written with the world stopped, at the mark's start and end): collected
     * objects are allocated marked (see {@link MCache}). Volatile so a loop of allocations re-reads it.
     */
    volatile boolean allocateBlack;
    /**
     * Pointer checks are on (GODEBUG checkptr): allocations record each heap-bits object's type id in its span, so a
     * check can name the type. Set once before the heap is shared with other threads.
     */
    boolean recordTypeIds;
    /** Go's mheap_.sweepgen: advanced by 2 per cycle by {@link MSweep#startCycle}, with the world stopped. */
    volatile int sweepgen;

    // ---- heap-level statistics ----
    /** Pages of live spans; atomic (spans are made without the lock from page caches, see the class comment). */
    final java.util.concurrent.atomic.AtomicLong inUsePages = new java.util.concurrent.atomic.AtomicLong();
    /** Java-heap bytes of live span descriptors and their peak (MSpanInuse, MSpanSys); atomic, as inUsePages. */
    final java.util.concurrent.atomic.AtomicLong spanMetadataBytes = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong spanMetadataPeak = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong liveSpans = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Large objects made and freed under the lock (a P's retained large spans count theirs in its mcache); read
     * without it only by {@link HeapStats#sample} (opaque loads).
     */
    long largeAllocCount, largeAllocBytes, largeFreeCount, largeFreeBytes;
    /**
     * Per size class: remote frees found, when merged, to hit an object its owner had freed meanwhile (a double
     * free racing with the owner's own free). Their frees were counted by the freers; AllocStats subtracts these.
     */
    final AtomicLongArray lateDoubleFrees = new AtomicLongArray(SizeClasses.NUM_SIZE_CLASSES);
    /** Per size class: objects freed by sweeping (unmarked at the end of a cycle). AllocStats adds them to Frees. */
    final AtomicLongArray sweptFrees = new AtomicLongArray(SizeClasses.NUM_SIZE_CLASSES);
    /** Java-heap bytes of the spans' mark bitmaps (made by the first mark in a span), counted in GCSys as Go's. */
    final java.util.concurrent.atomic.AtomicLong markBitsBytes = new java.util.concurrent.atomic.AtomicLong();

    private final OsMemory os;
    /** Released pages must be committed again before use (hard decommit leaves them PROT_NONE). */
    private final boolean recommitReleased;
    /** Released pages read as zero when used again (MADV_DONTNEED and hard decommit; not MADV_FREE). */
    private final boolean releasedReadZero;
    /** Scavenged pages among those the last {@link #allocPages} returned; under lock. */
    private long lastAllocScavenged;

    MHeap(AddressSpace space, OsMemory.DecommitMode decommitMode) {
        this.space = space;
        this.os = space.os();
        this.recommitReleased = decommitMode == OsMemory.DecommitMode.HARD;
        this.releasedReadZero = decommitMode != OsMemory.DecommitMode.FREE;
        this.pages = new PageAllocator(space.base(), space.limit());
        this.lock = pages.lock();
        this.spans = new ArenaIndex<>(space);
        this.zeroedBase = new java.util.concurrent.atomic.AtomicLongArray(
                (int) ((space.limit() - space.base()) / AddressSpace.ARENA_BYTES));
        this.memory = space.segment();
        this.base = space.base();
        for (int spc = 0; spc < SizeClasses.NUM_SPAN_CLASSES; spc++) {
            central[spc] = new MCentral(spc, false, this);
            central[MSpan.cacheClass(spc, true)] = new MCentral(spc, true, this);
        }
        central[MSpan.TINY_CACHE_CLASS] = new MCentral(SizeClasses.TINY_SPAN_CLASS, MSpan.TINY_CACHE_CLASS, this);
    }

    long base() {
        return base;
    }

    MemorySegment memory() {
        return memory;
    }

    // ------------------------------------------------------------------ spans

    /** Spans of fewer pages than this come from the P's page cache (Go: a quarter of the cache's 64 pages). */
    static final int PAGE_CACHE_MAX_PAGES = PageAllocator.CACHE_PAGES / 4;

    /** Bytes of in-use spans, readable without the lock (the pacer's measure, parallel marking's threshold). */
    long inUseBytes() {
        return inUsePages.get() * PAGE_SIZE;
    }

    /**
     * A fresh span for {@code spanClass} (mcentral grow) for {@code cache}'s P: from the P's page cache without
     * the heap lock when it is small enough and the cache has a run for it (refilled under the lock when empty),
     * else from the page allocator under the lock — always for a P made beyond GOMAXPROCS, which has no page cache.
     */
    MSpan allocSmallSpan(int cacheClass, MCache cache) {
        int spanClass = MSpan.spanClassOf(cacheClass);
        int npages = SizeClasses.classPages(SizeClasses.sizeClassOf(spanClass));
        if (npages < PAGE_CACHE_MAX_PAGES && cache != null && !cache.noPageCache) {
            PageCache pc = cache.pageCache;
            long addr = pc.alloc(npages);
            if (addr == 0 && pc.isEmpty()) {
                lock.lock();
                try {
                    fillPageCache(pc);
                } finally {
                    lock.unlock();
                }
                addr = pc.alloc(npages);
            }
            if (addr != 0) {
                return spanFromPageCache(addr, npages, pc.lastAllocScavengedPages(), spanClass, cacheClass);
            }
        }
        lock.lock();
        try {
            return allocSpan(npages, spanClass, cacheClass);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Bytes of empty manual spans the mcentrals keep for reuse instead of returning their pages (see
     * {@link MCentral#settle}), at most {@link #RETAIN_EMPTY_MAX_BYTES}; given back at every collection and by
     * {@code freeOSMemory}.
     */
    final java.util.concurrent.atomic.AtomicLong retainedEmptyBytes = new java.util.concurrent.atomic.AtomicLong();
    static final long RETAIN_EMPTY_MAX_BYTES = 8L << 20;

    /** Reserves room for retaining empty span {@code s}; false when the budget is spent. */
    boolean tryRetainEmpty(MSpan s) {
        long bytes = (long) s.npages * PAGE_SIZE;
        long now;
        do {
            now = retainedEmptyBytes.get();
            if (now + bytes > RETAIN_EMPTY_MAX_BYTES) {
                return false;
            }
        } while (!retainedEmptyBytes.compareAndSet(now, now + bytes));
        return true;
    }

    /** Every mcentral gives its retained empty spans back to the heap. Takes each mcentral lock in turn. */
    void releaseRetainedEmpty() {
        if (retainedEmptyBytes.get() == 0) {
            return;
        }
        for (MCentral c : central) {
            if (!c.collected) {
                c.releaseRetainedEmpty();
            }
        }
    }

    /**
     * Fills an empty page cache with one 64-page window (growing the heap if no page is free) and prepares the
     * window's page-index entries for lock-free sets. Heap lock held.
     */
    private void fillPageCache(PageCache pc) {
        if (!pages.allocToCache(pc)) {
            grow(1);
            if (!pages.allocToCache(pc)) {
                throw new IllegalStateException("grew the heap but found no free page for a page cache");
            }
        }
        try {
            spans.prepare(pc.base(), PageAllocator.CACHE_PAGES);
        } catch (Throwable t) {      // the Java heap could not hold the page array: give the window back
            pc.flush(pages);
            throw t;
        }
    }

    /** Gives a P's page cache back to the page allocator (its holder or a stopper holding the P). */
    void flushPageCache(PageCache pc) {
        if (pc.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            pc.flush(pages);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes a span of the {@code npages} pages at {@code addr} the P's page cache just handed out; no heap lock
     * (see the class comment). Scavenged pages that hard decommit left PROT_NONE are committed first, under the
     * close guard. If anything fails, the pages go back to the page allocator under the lock.
     */
    private MSpan spanFromPageCache(long addr, int npages, long scavenged, int spanClass, int cacheClass) {
        if (scavenged > 0 && recommitReleased) {
            try {
                commitReleased(addr, (long) npages << SizeClasses.PAGE_SHIFT);
            } catch (RuntimeException e) {
                giveBack(addr, npages, true);         // the whole run is PROT_NONE again: see commitReleased
                throw e;
            }
        }
        boolean indexed = false;
        try {
            boolean needZero = allocNeedsZero(addr, npages) && !(releasedReadZero && scavenged == npages);
            MSpan s = new MSpan(addr, npages, spanClass, cacheClass, needZero, sweepgen);
            spans.setPrepared(addr, npages, s);
            indexed = true;
            count(s);
            return s;
        } catch (Throwable t) {             // typically the Java heap out of room for the descriptor
            if (indexed) {
                lock.lock();
                try {
                    spans.clear(addr, npages);
                } finally {
                    lock.unlock();
                }
            }
            giveBack(addr, npages, false);
            throw t;
        }
    }

    /** Returns pages a failed span allocation took: as released ones if they were decommitted again. */
    private void giveBack(long addr, int npages, boolean released) {
        lock.lock();
        try {
            if (released) {
                pages.freeReleased(addr, npages);
            } else {
                pages.free(addr, npages);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Commits pages hard decommit left PROT_NONE, outside the heap lock: under {@link #osCalls} so no mprotect
     * reaches an unmapped range. On failure the range is made PROT_NONE again as a whole and the error propagates.
     */
    private void commitReleased(long addr, long bytes) {
        osCalls.readLock().lock();
        try {
            if (space.isClosed()) {
                throw new IllegalStateException("heap is closed");
            }
            commitOrDecommitAgain(addr, bytes);
        } finally {
            osCalls.readLock().unlock();
        }
    }

    /**
     * Commits a run hard decommit left PROT_NONE; if that fails, makes the whole run PROT_NONE again (so none of it
     * can be mistaken for usable memory) and rethrows. The caller guards against a closed heap.
     */
    private void commitOrDecommitAgain(long addr, long bytes) {
        try {
            os.commit(addr, bytes);
        } catch (RuntimeException e) {
            try {
                os.decommit(addr, bytes, OsMemory.DecommitMode.HARD);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /** Returns an empty small span's pages (the span's mcentral lock is held by the caller). */
    void freeSmallSpan(MSpan s) {
        lock.lock();
        try {
            unpublish(s);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Allocates a large object (its own span) of {@code size} bytes, zeroed. The span is created and linked on
     * its mcentral's full list under that mcentral's lock, so the sweeper and explicit frees see it whole.
     */
    long allocLarge(long size, boolean noscan, boolean collected, boolean zero) {
        long pageCount = (size + PAGE_SIZE - 1) >>> SizeClasses.PAGE_SHIFT;
        if (pageCount > MAX_SPAN_PAGES) {
            throw new OutOfMemoryError(String.format(
                    "goheap: cannot allocate %d bytes: larger than the largest object, %d pages of 8 KiB (16 TiB - 8 KiB)",
                    size, MAX_SPAN_PAGES));
        }
        int npages = (int) pageCount;
        MCentral c = central[MSpan.cacheClass(SizeClasses.spanClass(0, noscan), collected)];
        MSpan s;
        synchronized (c) {
            lock.lock();
            try {
                s = allocSpan(npages, c.spanClass, c.cacheClass);
                largeAllocCount++;
                largeAllocBytes += s.elemSize;
            } finally {
                lock.unlock();
            }
            c.linkLarge(s);
        }
        if (zero && s.needzero) {
            try {
                zeroLarge(s.base, s.elemSize);
            } catch (RuntimeException | Error e) {
                c.freeLarge(s, s.base);              // not handed out: give it back, counted as freed
                throw e;
            }
        }
        return s.base;
    }

    /**
     * Objects from this size on are zeroed by handing their pages back to the kernel ({@code MADV_DONTNEED}: the
     * next touch of each page maps a fresh zero page) instead of by writing zeros. Writing would touch every page
     * and raise RSS by the object's size even if the caller never uses most of it: reusing the pages of a freed
     * 2 GiB object cost 2 GiB of RSS, and of a 16 TiB one got the process killed. Below it, writing is
     * cheaper than the system call and the page faults that follow it.
     */
    static final long ZERO_BY_MADVISE_BYTES = 4L << 20;

    void zeroLarge(long addr, long len) {
        if (len < ZERO_BY_MADVISE_BYTES) {
            zero(addr, len);
            return;
        }
        osCalls.readLock().lock();
        try {
            if (space.isClosed()) {
                throw new IllegalStateException("heap is closed");
            }
            os.decommit(addr, len, OsMemory.DecommitMode.DONTNEED);
        } finally {
            osCalls.readLock().unlock();
        }
    }

    void freeLarge(MSpan s, long address) {
        if (!s.isAllocatedRacy(0)) {
            throw MCentral.largeDoubleFree(s, address);  // freed, its span kept by a P: no object lives there
        }
        if (address != s.base) {
            throw new IllegalArgumentException(String.format(
                    "free(0x%x): address points inside the large object at 0x%x; free needs the object's own address",
                    address, s.base));
        }
        central[s.cacheClass].freeLarge(s, address);
    }

    /**
     * Returns a large span's pages, counting its object freed (explicitly or by the sweeper). The caller holds
     * the span's mcentral lock and has unlinked it.
     */
    void releaseLarge(MSpan s) {
        lock.lock();
        try {
            largeFreeCount++;
            largeFreeBytes += s.elemSize;
            unpublish(s);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the pages of a large span an mcache retained after its object was freed (and counted freed, by
     * that mcache). The caller holds the span's mcentral lock and has unlinked it.
     */
    void releaseRetained(MSpan s) {
        lock.lock();
        try {
            unpublish(s);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The one place spans are made (Go's {@code allocSpan}): pages, descriptor, index entries. If anything fails
     * after the pages were taken — typically the Java heap running out while the descriptor or the page index's
     * arrays are created — the pages go back (as free, not released: they may hold data) and no index entry
     * stays. Heap lock held.
     */
    private MSpan allocSpan(int npages, int spanClass, int cacheClass) {
        long addr = allocPages(npages);
        try {
            boolean needZero = needsZero(addr, npages);
            MSpan s = SizeClasses.sizeClassOf(spanClass) == 0
                    ? new MSpan(addr, npages, SizeClasses.isNoscan(spanClass),
                            cacheClass >= SizeClasses.NUM_SPAN_CLASSES, needZero, sweepgen)
                    : new MSpan(addr, npages, spanClass, cacheClass, needZero, sweepgen);
            publish(s);
            return s;
        } catch (Throwable t) {
            spans.clear(addr, npages);
            pages.free(addr, npages);
            throw t;
        }
    }

    private void publish(MSpan s) {
        spans.set(s.base, s.npages, s);
        count(s);
    }

    /** Counts a new span in the heap's statistics: before any object in it can be allocated. */
    private void count(MSpan s) {
        inUsePages.addAndGet(s.npages);
        liveSpans.incrementAndGet();
        long meta = spanMetadataBytes.addAndGet(spanMetadata(s));
        spanMetadataPeak.accumulateAndGet(meta, Math::max);
        if (s.collected) {
            markBitsBytes.addAndGet(s.markBitsBytes());     // made with the span (see MSpan#allocBits)
        }
    }

    private void unpublish(MSpan s) {
        s.setState(MSpan.DEAD);
        spans.clear(s.base, s.npages);
        pages.free(s.base, s.npages);
        inUsePages.addAndGet(-s.npages);
        liveSpans.decrementAndGet();
        spanMetadataBytes.addAndGet(-spanMetadata(s));
        if (s.hasMarkBits()) {
            markBitsBytes.addAndGet(-s.markBitsBytes());
        }
    }

    /**
     * Approximate Java-heap bytes describing one span: the descriptor (12-byte header, 27 fields: 136 bytes with
     * compressed references), its allocation and remote-free bitmaps and its type words (heap bits or malloc
     * headers, see {@link MSpan#typeInfo}). Mark bitmaps count in GCSys.
     */
    static long spanMetadata(MSpan s) {
        long types = s.typeInfo == null ? 0 : 16 + 8L * s.typeInfo.length;
        return 136 + 2 * (16 + 8L * s.words) + types;  // allocation and remote-free bits (marks: GCSys)
    }

    /**
     * A run of {@code npages} pages, grown into if need be, usable at once: pages that hard decommit left
     * PROT_NONE are committed again. If that fails, the whole run is released (so none of it can be mistaken
     * for usable memory), goes back as released pages, and the error propagates. Heap lock held.
     */
    private long allocPages(int npages) {
        long addr = pages.alloc(npages);
        if (addr == 0) {
            grow(npages);
            addr = pages.alloc(npages);
            if (addr == 0) {
                throw new IllegalStateException("grew the heap but found no run of " + npages + " pages");
            }
        }
        lastAllocScavenged = pages.lastAllocScavengedPages();
        if (lastAllocScavenged > 0 && recommitReleased) {
            long bytes = (long) npages << SizeClasses.PAGE_SHIFT;
            if (space.isClosed()) {              // Heap.close unmaps under this lock: never mprotect after it
                pages.freeReleased(addr, npages);
                throw new IllegalStateException("heap is closed");
            }
            try {
                commitOrDecommitAgain(addr, bytes);
            } catch (RuntimeException e) {
                pages.freeReleased(addr, npages);
                throw e;
            }
        }
        return addr;
    }

    /** Whether the run {@link #allocPages} just returned may hold old data. Heap lock held (for lastAllocScavenged). */
    private boolean needsZero(long addr, int npages) {
        boolean used = allocNeedsZero(addr, npages);
        return used && !(releasedReadZero && lastAllocScavenged == npages);
    }

    /**
     * Commits more arenas for at least {@code npages} pages (Go's mheap.grow). If the page allocator cannot take
     * them — its bitmaps for the new chunks do not fit the Java heap — the arenas are given back to the address
     * space, so a failed growth leaves the heap as it was. Heap lock held.
     */
    private void grow(int npages) {
        long want = (long) npages << SizeClasses.PAGE_SHIFT;
        long addr = space.commitArenas(want);
        if (addr == 0) {
            throw new AddressSpaceExhaustedError(String.format(
                    "goheap: the reserved address space of %d MiB is exhausted (%d MiB committed) allocating %d pages",
                    (space.limit() - space.base()) >> 20, (space.committedEnd() - space.base()) >> 20, npages));
        }
        try {
            pages.grow(addr, space.committedEnd() - addr);
        } catch (OutOfMemoryError javaHeap) {
            space.uncommitArenasFrom(addr);
            OutOfMemoryError e = new OutOfMemoryError(String.format(
                    "goheap: the Java heap cannot hold the page allocator's bitmaps for %d MiB more heap "
                            + "(1/32768 of the heap's size; allocating %d pages)", want >> 20, npages));
            e.initCause(javaHeap);
            throw e;
        }
    }

    /** The largest span: 2^31 − 1 pages, so page counts fit an int (a 16 TiB reservation holds 2^31 pages). */
    static final long MAX_SPAN_PAGES = Integer.MAX_VALUE;

    /**
     * Go's allocNeedsZero: whether [addr, addr + npages pages) may hold old data; advances zeroedBase by
     * compare-and-set, since spans from page caches call it without the lock. Every caller owns its range, so a
     * racer only ever raises the mark to the end of a range it owns: if that lies above this range, this range
     * reads as possibly dirty and is zeroed although it may be fresh — wasted work, never a missed zeroing (Go
     * accepts the same).
     */
    private boolean allocNeedsZero(long addr, int npages) {
        boolean needZero = false;
        long end = addr + ((long) npages << SizeClasses.PAGE_SHIFT);
        while (addr < end) {
            int arena = (int) ((addr - base) / AddressSpace.ARENA_BYTES);
            long arenaBase = base + arena * AddressSpace.ARENA_BYTES;
            long offset = addr - arenaBase;
            long limit = Math.min(end - arenaBase, AddressSpace.ARENA_BYTES);
            long zeroed;
            do {
                zeroed = zeroedBase.get(arena);
                if (offset < zeroed) {
                    needZero = true;         // part of the range was below the high-water mark: may be dirty
                }
            } while (limit > zeroed && !zeroedBase.compareAndSet(arena, zeroed, limit));
            addr = arenaBase + limit;
        }
        return needZero;
    }

    // ------------------------------------------------------------------ objects

    /**
     * Zeroes {@code [addr, addr + len)}; len is a multiple of 8. Allocates nothing on the Java heap. A counted loop
     * of 8-byte stores through the heap's segment, which C2 vectorizes: as fast as glibc's memset from 4 KiB to
     * 1 MiB and twice as fast as {@code MemorySegment.fill} (JMH {@code ZeroingBench}), and still checked against
     * the segment's bounds and its arena's close.
     */
    void zero(long addr, long len) {
        MemorySegment m = memory;
        for (long i = addr - base, end = i + len; i < end; i += 8) {
            m.set(ZERO_WORD, i, 0L);
        }
    }

    /** Aligned by construction (objects start on 8-byte boundaries): the access need not check it. */
    private static final ValueLayout.OfLong ZERO_WORD = ValueLayout.JAVA_LONG_UNALIGNED;

    /**
     * The in-use span holding {@code address}, or null. Lock-free: the index is read racily and the span's state
     * confirms it.
     */
    MSpan findSpan(long address) {
        MSpan s = spans.get(address);
        if (s == null || s.state() != MSpan.IN_USE || address >= s.limit || address < s.base) {
            return null;
        }
        return s;
    }

    /** Throws the IllegalArgumentException of an address outside the heap's reserved range. */
    void requireHeapAddress(long address) {
        if (!space.contains(address)) {
            throw new IllegalArgumentException(String.format(
                    "0x%x is not a heap address (the heap spans [0x%x, 0x%x))", address, base, space.limit()));
        }
    }

    /** The in-use span holding {@code address}, or an IllegalArgumentException naming the address. */
    MSpan spanOfObject(long address) {
        MSpan s = findSpan(address);
        if (s == null) {
            requireHeapAddress(address);
            throw new IllegalArgumentException(String.format(
                    "0x%x is not inside an allocated object (no span in use there)", address));
        }
        return s;
    }
}
