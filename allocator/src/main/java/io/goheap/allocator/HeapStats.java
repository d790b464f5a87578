package io.goheap.allocator;

import java.lang.invoke.VarHandle;

/**
 * Builds {@link AllocStats} snapshots (Go's {@code readmemstats_m}) without stopping anyone.
 *
 * <h2>Why the snapshot is consistent</h2>
 * Object counters live in each P's mcache and are written only by the P's holder, with release stores.
 * A snapshot reads, all under the heap lock and in this order: (1) every P's free counters, (2) every P's
 * malloc counters, both with acquire loads, then (3) the large-object counters and the page counts. A free counted
 * in (1) happened after its object's malloc, and that malloc's counter store happened before the free's
 * counter store (program order, then whatever handed the address between threads, then the P hand-off), so
 * (2) sees it: per class {@code Frees ≤ Mallocs}. Large objects are counted under the heap lock, except those
 * a P frees into and allocates from its retained spans ({@link MCache}), which are counted in its mcache like
 * small ones: their frees in (1), their mallocs in (2), and a retained object's first malloc, if it was made
 * under the heap lock, is read in (3), after its free.
 * Totals are derived from the same numbers, so {@code HeapObjects = Mallocs − Frees}, {@code Alloc =
 * HeapAlloc}, {@code Sys = Σ *Sys} and {@code HeapSys = HeapInuse + HeapIdle} hold by construction, and
 * {@code HeapIdle ≥ HeapReleased}: released pages are read under the one lock that changes them, and the in-use
 * page count, read once, never exceeds the page allocator's in-use pages (a span made without the lock comes from
 * pages a P's page cache took under it; see {@link MHeap}). Spans are returned only under the lock, and a span is
 * counted in use before any object in it is allocated: so an object counted live (malloc read, free not) is in a
 * span counted in use — a free is counted before it can return its span ({@link MCache}) — and {@code HeapAlloc ≤
 * HeapInuse}.
 *
 * <p>Known gap: with several threads borrowing each other's Ps (the {@code Heap} methods without a Mutator) and
 * spans made and returned quickly, a read under the lock alone was seen, about once in ten runs of {@code
 * PageCacheSpanTest}, to count an object live whose span had already gone (HeapAlloc above HeapInuse by a few
 * pages); the cause is not found yet. The public {@code readMemStats} stops the world for its read, which rules it
 * out, and the tests read that way.
 */
final class HeapStats {
    private static final VarHandle COUNTER = MSpan.LONGS;
    private static final long OTHER_SYS_FIXED = 4096;
    private static final VarHandle LARGE_ALLOC_COUNT, LARGE_ALLOC_BYTES, LARGE_FREE_COUNT, LARGE_FREE_BYTES;

    static {
        try {
            java.lang.invoke.MethodHandles.Lookup l = java.lang.invoke.MethodHandles.lookup();
            LARGE_ALLOC_COUNT = l.findVarHandle(MHeap.class, "largeAllocCount", long.class);
            LARGE_ALLOC_BYTES = l.findVarHandle(MHeap.class, "largeAllocBytes", long.class);
            LARGE_FREE_COUNT = l.findVarHandle(MHeap.class, "largeFreeCount", long.class);
            LARGE_FREE_BYTES = l.findVarHandle(MHeap.class, "largeFreeBytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private HeapStats() {
    }

    /** The counters a snapshot is derived from, gathered by {@link #read} or {@link #sample}. */
    private static final class Counts {
        final long[] frees = new long[SizeClasses.NUM_SIZE_CLASSES];
        final long[] mallocs = new long[SizeClasses.NUM_SIZE_CLASSES];
        long largeAllocCount, largeAllocBytes, largeFreeCount, largeFreeBytes;
        long inUse, grown, released, spanMeta, spanMetaPeak, indexMeta, markBits;
        /** Objects packed into tiny blocks (see {@link #derive}). */
        long tinyAllocs;
    }

    static void read(MHeap heap, Procs procs, AllocStats m) {
        Counts n = new Counts();
        // The heap lock is held across the whole read, so no span is returned meanwhile, and spans made from page
        // caches are counted before their first object: every object counted live sits in a span counted in use
        // (HeapAlloc <= HeapInuse, as Go's stopped-world read gives). Allocation and free go on.
        heap.lock.lock();
        try {
            readObjectCounters(heap, procs, n);
            n.largeAllocCount += heap.largeAllocCount;
            n.largeAllocBytes += heap.largeAllocBytes;
            n.largeFreeCount += heap.largeFreeCount;
            n.largeFreeBytes += heap.largeFreeBytes;
            n.inUse = heap.inUsePages.get();
            n.grown = heap.pages.grownPages();
            // Scavenged pages a P's page cache holds still count as released until a span takes them (as in Go,
            // whose allocSpan subtracts them then). Read after inUsePages: a span counted there had its pages taken
            // from its cache before (its holder's count happens-after), so no page is counted both in use and
            // released; a span made after that read keeps its pages in idle, which only helps HeapIdle >= released.
            n.released = heap.pages.releasedPages() + cachedScavengedPages(procs);
            readMetadata(heap, n);
        } finally {
            heap.lock.unlock();
        }
        derive(n, procs, m);
    }

    /**
     * A snapshot that takes no lock and waits for no thread (for {@code runtime/metrics}-style reads): the same
     * counters as {@link #read}, loaded in the same order, but while spans are made and returned. What still holds
     * exactly: everything {@link #derive} computes from the counters (HeapObjects = Mallocs − Frees, Alloc =
     * HeapAlloc, Sys = Σ *Sys, HeapSys = HeapInuse + HeapIdle) and, per class and for large objects,
     * Frees ≤ Mallocs (frees are loaded before mallocs, and a free's count happens after its malloc's). What holds
     * only approximately: HeapAlloc ≤ HeapInuse and HeapReleased ≤ HeapIdle, each off by at most the pages spans
     * were made, returned or released from while the read ran (the caller clamps if it needs them exact).
     */
    static void sample(MHeap heap, Procs procs, AllocStats m) {
        Counts n = new Counts();
        long largeFreeCount = (long) LARGE_FREE_COUNT.getOpaque(heap);
        long largeFreeBytes = (long) LARGE_FREE_BYTES.getOpaque(heap);
        VarHandle.acquireFence();
        readObjectCounters(heap, procs, n);
        VarHandle.acquireFence();
        n.largeAllocCount += (long) LARGE_ALLOC_COUNT.getOpaque(heap);
        n.largeAllocBytes += (long) LARGE_ALLOC_BYTES.getOpaque(heap);
        n.largeFreeCount += largeFreeCount;
        n.largeFreeBytes += largeFreeBytes;
        n.grown = heap.pages.grownPagesUnlocked();
        n.inUse = heap.inUsePages.get();
        n.released = heap.pages.releasedPagesUnlocked() + cachedScavengedPages(procs);
        readMetadata(heap, n);
        derive(n, procs, m);
    }

    /**
     * Step (1) and (2) of the class comment: every P's frees, then every P's mallocs (acquire loads), with the
     * frees sweeping counted in between.
     */
    private static void readObjectCounters(MHeap heap, Procs procs, Counts n) {
        int classes = SizeClasses.NUM_SIZE_CLASSES;
        long[] frees = n.frees;
        long[] mallocs = n.mallocs;
        for (int i = 0; i < procs.count(); i++) {
            long[] c = procs.get(i).mcache.counters;
            for (int sc = 0; sc < classes; sc++) {
                frees[sc] += (long) COUNTER.getAcquire(c, MCache.FREES + sc);
            }
            n.largeFreeCount += (long) COUNTER.getAcquire(c, MCache.LARGE_FREES);
            n.largeFreeBytes += (long) COUNTER.getAcquire(c, MCache.LARGE_FREE_BYTES);
        }
        for (int sc = 0; sc < classes; sc++) {
            // Sweeping frees only objects whose mallocs were counted before the world stopped, so these belong
            // with the frees read before the mallocs; a late-double-free correction can only lower Frees.
            frees[sc] += heap.sweptFrees.get(sc);
            frees[sc] -= heap.lateDoubleFrees.get(sc);
        }
        for (int i = 0; i < procs.count(); i++) {
            long[] c = procs.get(i).mcache.counters;
            for (int sc = 0; sc < classes; sc++) {
                mallocs[sc] += (long) COUNTER.getAcquire(c, MCache.MALLOCS + sc);
            }
            n.largeAllocCount += (long) COUNTER.getAcquire(c, MCache.LARGE_MALLOCS);
            n.largeAllocBytes += (long) COUNTER.getAcquire(c, MCache.LARGE_MALLOC_BYTES);
            n.tinyAllocs += (long) COUNTER.getAcquire(c, MCache.TINY_ALLOCS);
        }
    }

    private static long cachedScavengedPages(Procs procs) {
        long pages = 0;
        for (int i = 0; i < procs.count(); i++) {
            pages += procs.get(i).mcache.pageCache.scavengedPageCount();
        }
        return pages;
    }

    private static void readMetadata(MHeap heap, Counts n) {
        n.spanMeta = heap.spanMetadataBytes.get();
        n.spanMetaPeak = Math.max(heap.spanMetadataPeak.get(), n.spanMeta);  // the peak may lag a racing span
        n.indexMeta = heap.spans.metadataBytes();
        n.markBits = heap.markBitsBytes.get();
    }

    private static void derive(Counts n, Procs procs, AllocStats m) {
        int classes = SizeClasses.NUM_SIZE_CLASSES;
        long[] frees = n.frees;
        long[] mallocs = n.mallocs;
        long largeAllocCount = n.largeAllocCount, largeAllocBytes = n.largeAllocBytes;
        long largeFreeCount = n.largeFreeCount, largeFreeBytes = n.largeFreeBytes;
        long inUse = n.inUse, grown = n.grown, released = n.released;
        long spanMeta = n.spanMeta, spanMetaPeak = n.spanMetaPeak, indexMeta = n.indexMeta;
        long totalAlloc = largeAllocBytes;
        long totalFree = largeFreeBytes;
        long smallMallocs = 0;
        long smallFrees = 0;
        for (int sc = 1; sc < classes; sc++) {
            long size = SizeClasses.classSize(sc);
            totalAlloc += mallocs[sc] * size;
            totalFree += frees[sc] * size;
            smallMallocs += mallocs[sc];
            smallFrees += frees[sc];
        }
        m.totalAlloc = totalAlloc;
        m.heapAlloc = totalAlloc - totalFree;
        m.alloc = m.heapAlloc;
        // Objects packed into tiny blocks count as allocated and freed at once, as Go counts its tinyAllocs: the
        // block is the heap object (in its size class), freed whole by the sweeper.
        m.mallocs = largeAllocCount + smallMallocs + n.tinyAllocs;
        m.frees = largeFreeCount + smallFrees + n.tinyAllocs;
        m.heapObjects = m.mallocs - m.frees;
        m.lookups = 0;

        long page = MHeap.PAGE_SIZE;
        m.heapSys = grown * page;
        m.heapInuse = inUse * page;
        m.heapIdle = m.heapSys - m.heapInuse;
        m.heapReleased = released * page;

        m.stackInuse = 0;
        m.stackSys = 0;
        m.buckHashSys = 0;
        m.mSpanInuse = spanMeta;
        m.mSpanSys = spanMetaPeak;
        m.procs = procs.count();
        m.stallReports = procs.stalls.count();
        m.mCacheInuse = m.procs * MCache.metadataBytes();
        m.mCacheSys = m.mCacheInuse;
        // Page allocator: two 512-bit bitmaps per 4 MiB chunk plus about 8/7 of a summary word per chunk.
        long chunks = grown / 512;
        m.gcSys = chunks * (2 * 64 + 10) + indexMeta + n.markBits;
        m.otherSys = OTHER_SYS_FIXED + 2 * SizeClasses.NUM_SPAN_CLASSES * 48L;
        m.sys = m.heapSys + m.stackSys + m.mSpanSys + m.mCacheSys + m.buckHashSys + m.gcSys + m.otherSys;

        for (int sc = 0; sc < m.bySize.length; sc++) {
            m.bySize[sc] = new AllocStats.BySize(SizeClasses.classSize(sc), mallocs[sc], frees[sc]);
        }
    }
}
