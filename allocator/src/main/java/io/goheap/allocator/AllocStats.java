package io.goheap.allocator;

import java.util.Collections;
import java.util.List;

/**
 * The allocator's half of Go's {@code runtime.MemStats}: every field the allocator owns, under Go's names
 * (camel-cased accessors: {@code HeapAlloc} → {@link #heapAlloc()}), filled by {@link Heap#readMemStats()}. The
 * public {@code io.goheap.MemStats} copies these and adds the collector's fields (NumGC, pauses, NextGC, ...).
 *
 * <p>Go's invariants hold in every snapshot, also one taken while other threads allocate and free:
 * {@code Sys} is the sum of the {@code *Sys} fields, {@code HeapSys = HeapInuse + HeapIdle},
 * {@code HeapIdle ≥ HeapReleased}, {@code HeapObjects = Mallocs − Frees}, {@code Alloc = HeapAlloc}, and for
 * every size class {@code Frees ≤ Mallocs}. Sizes are in bytes. {@code Frees} counts explicit frees and the
 * objects sweeping freed; an unmarked object counts as live until its span is swept, as in Go.
 *
 * <p>{@code StackInuse}, {@code StackSys} and {@code BuckHashSys} are 0: goheap has no goroutine stacks and no
 * profiling buckets. The {@code *Sys} metadata fields count the Java-heap bytes the allocator's own
 * bookkeeping uses (estimated from array sizes): {@code MSpan*} the span descriptors and their bitmaps,
 * {@code MCache*} the per-P caches, {@code GCSys} the page allocator's bitmaps and summaries, the page → span
 * index and the mark bitmaps, {@code OtherSys} the remaining fixed structures.
 */
public final class AllocStats {
    /** One entry of {@link #bySize()}: objects of one size class. */
    public record BySize(long size, long mallocs, long frees) {
    }

    long alloc, totalAlloc, sys, lookups, mallocs, frees;
    long heapAlloc, heapSys, heapIdle, heapInuse, heapReleased, heapObjects;
    long stackInuse, stackSys, mSpanInuse, mSpanSys, mCacheInuse, mCacheSys, buckHashSys, gcSys, otherSys;
    long stallReports;
    int procs;
    final BySize[] bySize = new BySize[61];

    /** An empty snapshot, to be filled by {@link Heap#readMemStats(AllocStats)}. */
    public AllocStats() {
    }

    /** goheap's, not Go's: stops and handshakes that reported a thread they waited for (see the heap builder). */
    public long stallReports() { return stallReports; }
    /** goheap's, not Go's: the Ps made so far (GOMAXPROCS, plus those made when every P was held). */
    public int procs() { return procs; }
    public long alloc() { return alloc; }
    public long totalAlloc() { return totalAlloc; }
    public long sys() { return sys; }
    public long lookups() { return lookups; }
    public long mallocs() { return mallocs; }
    public long frees() { return frees; }
    public long heapAlloc() { return heapAlloc; }
    public long heapSys() { return heapSys; }
    public long heapIdle() { return heapIdle; }
    public long heapInuse() { return heapInuse; }
    public long heapReleased() { return heapReleased; }
    public long heapObjects() { return heapObjects; }
    public long stackInuse() { return stackInuse; }
    public long stackSys() { return stackSys; }
    public long mSpanInuse() { return mSpanInuse; }
    public long mSpanSys() { return mSpanSys; }
    public long mCacheInuse() { return mCacheInuse; }
    public long mCacheSys() { return mCacheSys; }
    public long buckHashSys() { return buckHashSys; }
    public long gcSys() { return gcSys; }
    public long otherSys() { return otherSys; }
    /** Go's {@code BySize}: 61 entries, size classes 0..60 (class 0 has size 0). */
    public List<BySize> bySize() { return Collections.unmodifiableList(java.util.Arrays.asList(bySize)); }

    /** One line for periodic logs: the numbers people watch. */
    public String compact() {
        return String.format("alloc %s  inuse %s  idle %s  released %s  sys %s  mallocs %d  frees %d  objects %d",
                mib(heapAlloc), mib(heapInuse), mib(heapIdle), mib(heapReleased), mib(sys), mallocs, frees, heapObjects);
    }

    private static String mib(long bytes) {
        return String.format("%.1fMiB", bytes / 1048576.0);
    }
}
