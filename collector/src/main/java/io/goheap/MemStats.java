package io.goheap;

import io.goheap.allocator.AllocStats;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A snapshot of heap statistics with every field of Go's {@code runtime.MemStats}, under Go's names
 * (camel-cased accessors: {@code HeapAlloc} → {@link #heapAlloc()}), filled by {@link Heap#readMemStats()}.
 *
 * <p>Go's invariants hold in every snapshot, also one taken while other threads allocate and free:
 * {@code Sys} is the sum of the {@code *Sys} fields, {@code HeapSys = HeapInuse + HeapIdle},
 * {@code HeapIdle ≥ HeapReleased}, {@code HeapObjects = Mallocs − Frees}, {@code Alloc = HeapAlloc}, and for
 * every size class {@code Frees ≤ Mallocs}. Sizes are in bytes. {@code Frees} counts explicit frees and the
 * objects sweeping freed; an unmarked object counts as live until its span is swept, as in Go.
 *
 * <p>The allocator's fields are copied from its own snapshot; the collector's (NumGC, the pause rings, NextGC,
 * LastGC, GCCPUFraction, EnableGC) from the collector's state. {@code StackInuse}, {@code StackSys} and
 * {@code BuckHashSys} are 0: goheap has no goroutine stacks and no profiling buckets. The {@code *Sys} metadata
 * fields count the Java-heap bytes of goheap's own bookkeeping (estimated from array sizes): {@code MSpan*} the
 * span descriptors and their bitmaps, {@code MCache*} the per-P caches, {@code GCSys} the page allocator's
 * bitmaps and summaries, the page → span index and the mark bitmaps, {@code OtherSys} the remaining fixed
 * structures. A mutable holder, as Go's: fill it with {@link Heap#readMemStats(MemStats)}; not thread-safe.
 */
public final class MemStats {
    /**
     * One entry of {@link #bySize()}: objects of one size class.
     *
     * @param size    the class's object size in bytes
     * @param mallocs cumulative count of objects of this class allocated
     * @param frees   cumulative count of objects of this class freed
     */
    public record BySize(long size, long mallocs, long frees) {
    }

    long alloc, totalAlloc, sys, lookups, mallocs, frees;
    long heapAlloc, heapSys, heapIdle, heapInuse, heapReleased, heapObjects;
    long stackInuse, stackSys, mSpanInuse, mSpanSys, mCacheInuse, mCacheSys, buckHashSys, gcSys, otherSys;
    long nextGC, lastGC, pauseTotalNs;
    final long[] pauseNs = new long[256];
    final long[] pauseEnd = new long[256];
    int numGC, numForcedGC;
    double gcCPUFraction;
    boolean enableGC, debugGC;
    final BySize[] bySize = new BySize[61];

    /** An empty snapshot, to be filled by {@link Heap#readMemStats(MemStats)}. */
    public MemStats() {
    }

    /** Copies the allocator's fields. */
    void copyAllocatorFields(AllocStats a) {
        alloc = a.alloc();
        totalAlloc = a.totalAlloc();
        sys = a.sys();
        lookups = a.lookups();
        mallocs = a.mallocs();
        frees = a.frees();
        heapAlloc = a.heapAlloc();
        heapSys = a.heapSys();
        heapIdle = a.heapIdle();
        heapInuse = a.heapInuse();
        heapReleased = a.heapReleased();
        heapObjects = a.heapObjects();
        stackInuse = a.stackInuse();
        stackSys = a.stackSys();
        mSpanInuse = a.mSpanInuse();
        mSpanSys = a.mSpanSys();
        mCacheInuse = a.mCacheInuse();
        mCacheSys = a.mCacheSys();
        buckHashSys = a.buckHashSys();
        gcSys = a.gcSys();
        otherSys = a.otherSys();
        List<AllocStats.BySize> classes = a.bySize();
        for (int i = 0; i < bySize.length; i++) {
            AllocStats.BySize c = classes.get(i);
            bySize[i] = new BySize(c.size(), c.mallocs(), c.frees());
        }
    }

    /** {@return bytes of allocated heap objects (Go's {@code Alloc}, the same as {@code HeapAlloc})} */
    public long alloc() { return alloc; }
    /** {@return cumulative bytes allocated for heap objects; never decreases (Go's {@code TotalAlloc})} */
    public long totalAlloc() { return totalAlloc; }
    /** {@return bytes of memory obtained from the OS: the sum of the {@code XSys} fields (Go's {@code Sys})} */
    public long sys() { return sys; }
    /** {@return pointer lookups by the runtime; always 0, as in Go (Go's {@code Lookups})} */
    public long lookups() { return lookups; }
    /** {@return cumulative count of heap objects allocated (Go's {@code Mallocs})} */
    public long mallocs() { return mallocs; }
    /** {@return cumulative count of heap objects freed, explicitly or by sweeping (Go's {@code Frees})} */
    public long frees() { return frees; }
    /** {@return bytes of allocated heap objects, reachable or not yet swept (Go's {@code HeapAlloc})} */
    public long heapAlloc() { return heapAlloc; }
    /** {@return bytes of heap memory obtained from the OS, in use, idle or released (Go's {@code HeapSys})} */
    public long heapSys() { return heapSys; }
    /** {@return bytes in idle (unused) spans (Go's {@code HeapIdle})} */
    public long heapIdle() { return heapIdle; }
    /** {@return bytes in in-use spans (Go's {@code HeapInuse})} */
    public long heapInuse() { return heapInuse; }
    /** {@return bytes of physical memory returned to the OS (Go's {@code HeapReleased})} */
    public long heapReleased() { return heapReleased; }
    /** {@return number of allocated heap objects (Go's {@code HeapObjects})} */
    public long heapObjects() { return heapObjects; }
    /** {@return bytes in stack spans; always 0: goheap has no goroutine stacks (Go's {@code StackInuse})} */
    public long stackInuse() { return stackInuse; }
    /** {@return stack memory obtained from the OS; always 0 in goheap (Go's {@code StackSys})} */
    public long stackSys() { return stackSys; }
    /** {@return bytes of allocated span descriptors (Go's {@code MSpanInuse})} */
    public long mSpanInuse() { return mSpanInuse; }
    /** {@return bytes of memory obtained for span descriptors (Go's {@code MSpanSys})} */
    public long mSpanSys() { return mSpanSys; }
    /** {@return bytes of allocated per-P cache structures (Go's {@code MCacheInuse})} */
    public long mCacheInuse() { return mCacheInuse; }
    /** {@return bytes of memory obtained for per-P cache structures (Go's {@code MCacheSys})} */
    public long mCacheSys() { return mCacheSys; }
    /** {@return bytes of profiling bucket hash tables; always 0 in goheap (Go's {@code BuckHashSys})} */
    public long buckHashSys() { return buckHashSys; }
    /** {@return bytes of garbage-collection metadata: mark bits, heap bits (Go's {@code GCSys})} */
    public long gcSys() { return gcSys; }
    /** {@return bytes of other off-heap runtime allocations (Go's {@code OtherSys})} */
    public long otherSys() { return otherSys; }
    /** {@return the heap size the next cycle aims to finish by (Go's {@code NextGC})} */
    public long nextGC() { return nextGC; }
    /** {@return when the last collection finished, in nanoseconds since 1970 (Go's {@code LastGC})} */
    public long lastGC() { return lastGC; }
    /** {@return cumulative nanoseconds of collector pauses since the heap was created (Go's {@code PauseTotalNs})} */
    public long pauseTotalNs() { return pauseTotalNs; }
    /**
     * Go's {@code PauseNs[i]}: the ring of the last 256 pause times, as Go keeps it.
     *
     * @param i an index in [0, 256)
     * @return the pause, in nanoseconds
     */
    public long pauseNs(int i) { return pauseNs[i]; }
    /**
     * Go's {@code PauseEnd[i]}: when the pause at the same index of {@link #pauseNs} ended.
     *
     * @param i an index in [0, 256)
     * @return the end, in nanoseconds since 1970
     */
    public long pauseEnd(int i) { return pauseEnd[i]; }
    /** {@return number of completed collections (Go's {@code NumGC})} */
    public int numGC() { return numGC; }
    /** {@return number of collections the application forced with {@code gc()} (Go's {@code NumForcedGC})} */
    public int numForcedGC() { return numForcedGC; }
    /** {@return the fraction of available CPU time used by the collector since the heap was created (Go's {@code GCCPUFraction})} */
    public double gcCPUFraction() { return gcCPUFraction; }
    /** {@return true: the collector is enabled, as in Go even with {@code GOGC=off} (Go's {@code EnableGC})} */
    public boolean enableGC() { return enableGC; }
    /** {@return false: goheap has no debug collector mode (Go's {@code DebugGC})} */
    public boolean debugGC() { return debugGC; }
    /** {@return Go's {@code BySize}: 61 entries, size classes 0..60 (class 0 has size 0), unmodifiable} */
    public List<BySize> bySize() { return Collections.unmodifiableList(java.util.Arrays.asList(bySize)); }

    /** {@return one line for periodic logs: the numbers people watch} */
    public String compact() {
        return String.format("alloc %s  inuse %s  idle %s  released %s  sys %s  mallocs %d  frees %d  objects %d",
                mib(heapAlloc), mib(heapInuse), mib(heapIdle), mib(heapReleased), mib(sys), mallocs, frees, heapObjects);
    }

    private static String mib(long bytes) {
        return String.format("%.1fMiB", bytes / 1048576.0);
    }

    /** Every field, one per line, under Go's names. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        line(b, "Alloc", alloc);
        line(b, "TotalAlloc", totalAlloc);
        line(b, "Sys", sys);
        line(b, "Lookups", lookups);
        line(b, "Mallocs", mallocs);
        line(b, "Frees", frees);
        line(b, "HeapAlloc", heapAlloc);
        line(b, "HeapSys", heapSys);
        line(b, "HeapIdle", heapIdle);
        line(b, "HeapInuse", heapInuse);
        line(b, "HeapReleased", heapReleased);
        line(b, "HeapObjects", heapObjects);
        line(b, "StackInuse", stackInuse);
        line(b, "StackSys", stackSys);
        line(b, "MSpanInuse", mSpanInuse);
        line(b, "MSpanSys", mSpanSys);
        line(b, "MCacheInuse", mCacheInuse);
        line(b, "MCacheSys", mCacheSys);
        line(b, "BuckHashSys", buckHashSys);
        line(b, "GCSys", gcSys);
        line(b, "OtherSys", otherSys);
        b.append(String.format("%-13s %s%n", "NextGC", nextGC == Long.MAX_VALUE ? "none (GOGC=off)" : nextGC));
        line(b, "LastGC", lastGC);
        line(b, "PauseTotalNs", pauseTotalNs);
        b.append(String.format("%-13s %s%n", "PauseNs", recent(pauseNs)));
        b.append(String.format("%-13s %s%n", "PauseEnd", recent(pauseEnd)));
        line(b, "NumGC", numGC);
        line(b, "NumForcedGC", numForcedGC);
        b.append(String.format("%-13s %.6f%n", "GCCPUFraction", gcCPUFraction));
        b.append(String.format("%-13s %s%n", "EnableGC", enableGC));
        b.append(String.format("%-13s %s%n", "DebugGC", debugGC));
        b.append("BySize        size mallocs frees (classes with activity)\n");
        for (BySize s : bySize) {
            if (s.mallocs() != 0) {
                b.append(String.format("  %13d %9d %9d%n", s.size(), s.mallocs(), s.frees()));
            }
        }
        return b.toString();
    }

    private String recent(long[] ring) {
        List<Long> last = new ArrayList<>();
        for (int i = 0; i < Math.min(numGC, 8); i++) {
            last.add(ring[(numGC - 1 - i + 256) % 256]);
        }
        return last.isEmpty() ? "[]" : last + (numGC > 8 ? " ..." : "");
    }

    private static void line(StringBuilder b, String name, long v) {
        b.append(String.format("%-13s %d%n", name, v));
    }
}
