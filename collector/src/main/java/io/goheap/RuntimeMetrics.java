package io.goheap;

import io.goheap.allocator.AllocStats;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Go's {@code runtime/metrics} for one heap: the names, their descriptions ({@link #DESCRIPTIONS}) and a read that
 * never stops the world ({@link #read}). Stateless; any thread.
 *
 * <h2>What a read waits for: nothing</h2>
 * The allocator's figures come from {@code Heap.sampleMemStats} (per-P counters loaded with acquire loads,
 * heap-level counters with atomic or opaque loads, no lock taken); the collector's from volatile fields and the
 * statistics lock, which is only ever held for a few stores (never across a stop, a wait or a system call). A thread
 * that holds a Mutator and never polls, and a collection waiting for it to stop, do not delay a read.
 *
 * <h2>Consistency</h2>
 * Exact in every read, also while other threads allocate, free and collect:
 * <ul>
 *   <li>every {@code /memory/classes/...} value is ≥ 0 and they sum to {@code /memory/classes/total:bytes};</li>
 *   <li>{@code /gc/heap/objects:objects = /gc/heap/allocs:objects − /gc/heap/frees:objects}, and
 *       {@code frees ≤ allocs} for objects and for bytes;</li>
 *   <li>cumulative values never decrease from one read to a later one (each is loaded once from counters that only
 *       grow).</li>
 * </ul>
 * Approximate, off by what changed while the read ran (a few spans' pages under churn, nothing when the heap is
 * quiet): the split of heap pages between {@code heap/objects}, {@code heap/unused}, {@code heap/free} and
 * {@code heap/released} — their sum, {@code HeapSys}, is exact; where counters loaded at slightly different moments
 * would make a class negative (objects counted in spans already returned, pages counted both in use and released)
 * the read moves the difference into the neighbouring class, so {@code heap/objects:bytes} can be below
 * {@code allocs − frees} bytes by those pages. {@link Heap#readMemStats()} stops the world for an exact cut.
 */
final class RuntimeMetrics {
    private RuntimeMetrics() {
    }

    private static MetricDescription gauge(String name, String description) {
        return new MetricDescription(name, description, MetricDescription.Kind.UINT64, false);
    }

    private static MetricDescription counter(String name, String description) {
        return new MetricDescription(name, description, MetricDescription.Kind.UINT64, true);
    }

    private static MetricDescription seconds(String name, String description) {
        return new MetricDescription(name, description, MetricDescription.Kind.FLOAT64, true);
    }

    /** Every name {@link #read} returns, sorted by name. */
    static final List<MetricDescription> DESCRIPTIONS;

    static {
        List<MetricDescription> d = new ArrayList<>(List.of(
                gauge("/memory/classes/heap/objects:bytes", "Memory occupied by live objects and dead objects not yet swept."),
                gauge("/memory/classes/heap/unused:bytes", "Memory in spans in use that holds no object (free slots, size-class rounding)."),
                gauge("/memory/classes/heap/free:bytes", "Free heap memory still backed by the OS (not released)."),
                gauge("/memory/classes/heap/released:bytes", "Free heap memory returned to the OS."),
                gauge("/memory/classes/heap/stacks:bytes", "Always 0: goheap has no goroutine stacks."),
                gauge("/memory/classes/os-stacks:bytes", "Always 0: goheap has no goroutine stacks."),
                gauge("/memory/classes/metadata/mspan/inuse:bytes", "Java-heap bytes of live span descriptors and their bitmaps."),
                gauge("/memory/classes/metadata/mspan/free:bytes", "Span descriptor bytes counted at their peak but not in use now."),
                gauge("/memory/classes/metadata/mcache/inuse:bytes", "Java-heap bytes of the per-P caches."),
                gauge("/memory/classes/metadata/mcache/free:bytes", "Always 0: per-P caches are never freed."),
                gauge("/memory/classes/metadata/other:bytes", "Page allocator bitmaps and summaries, the page-to-span index and mark bitmaps."),
                gauge("/memory/classes/profiling/buckets:bytes", "Always 0: the heap profile's records live on the Java heap."),
                gauge("/memory/classes/other:bytes", "Other fixed bookkeeping."),
                gauge("/memory/classes/total:bytes", "All memory the heap maps or keeps (MemStats Sys): the sum of the classes above."),
                counter("/gc/heap/allocs:bytes", "Bytes of objects allocated since the heap was built (size-class sizes)."),
                counter("/gc/heap/allocs:objects", "Objects allocated since the heap was built."),
                counter("/gc/heap/frees:bytes", "Bytes of objects freed, explicitly or by sweeping."),
                counter("/gc/heap/frees:objects", "Objects freed, explicitly or by sweeping."),
                gauge("/gc/heap/objects:objects", "Objects allocated and not yet freed or swept (allocs - frees)."),
                gauge("/gc/heap/goal:bytes", "The heap size the pacer aims to end the next cycle at (Long.MAX_VALUE with GOGC off and no limit)."),
                gauge("/gc/heap/live:bytes", "Bytes the last cycle marked live, plus manual objects."),
                gauge("/gc/gomemlimit:bytes", "The soft memory limit (Long.MAX_VALUE: none)."),
                gauge("/gc/gogc:percent", "GOGC; -1 when automatic collection is off (reported as a Long)."),
                counter("/gc/cycles/total:gc-cycles", "Completed collection cycles."),
                counter("/gc/cycles/forced:gc-cycles", "Cycles forced by gc() or freeOSMemory()."),
                counter("/gc/cycles/automatic:gc-cycles", "Cycles the pacer started."),
                gauge("/gc/limiter/last-enabled:gc-cycle", "The cycle after the GC CPU limiter last turned on; 0 if never."),
                gauge("/sched/gomaxprocs:threads", "GOMAXPROCS: the Ps that bound the collector's parallelism and CPU share."),
                gauge("/sched/procs:procs", "goheap's: the Ps the heap has made (GOMAXPROCS plus those made for threads that found every P held)."),
                counter("/sched/stall-reports:reports", "goheap's: reports of a stop or handshake that waited longer than the stall threshold for a thread."),
                seconds("/cpu/classes/gc/total:cpu-seconds", "CPU time the collector used: pauses times GOMAXPROCS, workers and assists."),
                seconds("/cpu/classes/scavenge/background:cpu-seconds", "CPU time of the background scavenger."),
                counter("/gc/scavenge/background:bytes", "Bytes the background scavenger returned to the OS."),
                counter("/gc/scavenge/eager:bytes", "Bytes returned to the OS at once (memory limit, freeOSMemory)."),
                gauge("/gc/scavenge/goal:bytes", "Heap memory the background scavenger retains (Long.MAX_VALUE: no goal).")));
        d.sort(java.util.Comparator.comparing(MetricDescription::name));
        DESCRIPTIONS = Collections.unmodifiableList(d);
    }

    /**
     * A read that waits for no thread: {@code a} from {@code Heap.sampleMemStats}, the rest from the collector's
     * volatile state (see the class comment for what is exact and what is approximate).
     */
    static Map<String, Number> read(AllocStats a, Collector c) {
        Map<String, Number> out = new TreeMap<>();
        // The heap's pages: in use + free + released = HeapSys exactly; clamp each part so none is negative.
        long heapSys = a.heapSys();
        long inUse = Math.min(a.heapInuse(), heapSys);
        long released = Math.min(a.heapReleased(), heapSys - inUse);
        long objects = Math.min(a.heapAlloc(), inUse);
        out.put("/memory/classes/heap/objects:bytes", objects);
        out.put("/memory/classes/heap/unused:bytes", inUse - objects);
        out.put("/memory/classes/heap/free:bytes", heapSys - inUse - released);
        out.put("/memory/classes/heap/released:bytes", released);
        out.put("/memory/classes/heap/stacks:bytes", a.stackInuse());
        out.put("/memory/classes/os-stacks:bytes", a.stackSys() - a.stackInuse());
        out.put("/memory/classes/metadata/mspan/inuse:bytes", a.mSpanInuse());
        out.put("/memory/classes/metadata/mspan/free:bytes", a.mSpanSys() - a.mSpanInuse());
        out.put("/memory/classes/metadata/mcache/inuse:bytes", a.mCacheInuse());
        out.put("/memory/classes/metadata/mcache/free:bytes", a.mCacheSys() - a.mCacheInuse());
        out.put("/memory/classes/metadata/other:bytes", a.gcSys());
        out.put("/memory/classes/profiling/buckets:bytes", a.buckHashSys());
        out.put("/memory/classes/other:bytes", a.otherSys());
        out.put("/memory/classes/total:bytes", a.sys());
        out.put("/gc/heap/allocs:bytes", a.totalAlloc());
        out.put("/gc/heap/allocs:objects", a.mallocs());
        out.put("/gc/heap/frees:bytes", a.totalAlloc() - a.heapAlloc());
        out.put("/gc/heap/frees:objects", a.frees());
        out.put("/gc/heap/objects:objects", a.heapObjects());
        out.put("/gc/heap/goal:bytes", c.nextGC());
        out.put("/gc/heap/live:bytes", c.liveHeap());
        out.put("/gc/gomemlimit:bytes", c.memoryLimit());
        out.put("/gc/gogc:percent", (long) c.gcPercent());
        GcStats.Counts cycles = c.cycleCounts();
        out.put("/gc/cycles/total:gc-cycles", cycles.total());
        out.put("/gc/cycles/forced:gc-cycles", cycles.forced());
        out.put("/gc/cycles/automatic:gc-cycles", cycles.total() - cycles.forced());
        out.put("/gc/limiter/last-enabled:gc-cycle", c.limiterLastEnabledCycle());
        out.put("/sched/gomaxprocs:threads", (long) c.heap.maxProcs());
        out.put("/sched/procs:procs", (long) a.procs());
        out.put("/sched/stall-reports:reports", a.stallReports());
        out.put("/cpu/classes/gc/total:cpu-seconds", cycles.gcCpuNanos() / 1e9);
        ScavengerPacer s = c.scavengerPacer;
        out.put("/cpu/classes/scavenge/background:cpu-seconds", s.background.cpuNanos() / 1e9);
        out.put("/gc/scavenge/background:bytes", s.scavenger.releasedBackgroundBytes());
        out.put("/gc/scavenge/eager:bytes", s.scavenger.releasedEagerBytes());
        out.put("/gc/scavenge/goal:bytes", s.background.goal());
        return Collections.unmodifiableMap(out);
    }
}
