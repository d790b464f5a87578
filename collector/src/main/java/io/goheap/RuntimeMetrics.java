package io.goheap;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Named samples as Go's {@code runtime/metrics} names them, for the memory classes, the pacer's knobs, the limiter
 * and the scavenger (see {@link Heap#readMetrics()}). The memory classes partition {@code Sys} exactly as Go's do
 * ({@code /memory/classes/total:bytes} is their sum); goheap has no goroutine stacks or profiling buckets, so
 * those classes are 0. CPU classes are in seconds. Stateless.
 */
final class RuntimeMetrics {
    private RuntimeMetrics() {
    }

    static Map<String, Number> read(MemStats m, Collector c) {
        Map<String, Number> out = new TreeMap<>();
        out.put("/memory/classes/heap/objects:bytes", m.heapAlloc());
        out.put("/memory/classes/heap/unused:bytes", m.heapInuse() - m.heapAlloc());
        out.put("/memory/classes/heap/free:bytes", m.heapIdle() - m.heapReleased());
        out.put("/memory/classes/heap/released:bytes", m.heapReleased());
        out.put("/memory/classes/heap/stacks:bytes", m.stackInuse());
        out.put("/memory/classes/os-stacks:bytes", m.stackSys() - m.stackInuse());
        out.put("/memory/classes/metadata/mspan/inuse:bytes", m.mSpanInuse());
        out.put("/memory/classes/metadata/mspan/free:bytes", m.mSpanSys() - m.mSpanInuse());
        out.put("/memory/classes/metadata/mcache/inuse:bytes", m.mCacheInuse());
        out.put("/memory/classes/metadata/mcache/free:bytes", m.mCacheSys() - m.mCacheInuse());
        out.put("/memory/classes/metadata/other:bytes", m.gcSys());
        out.put("/memory/classes/profiling/buckets:bytes", m.buckHashSys());
        out.put("/memory/classes/other:bytes", m.otherSys());
        out.put("/memory/classes/total:bytes", m.sys());
        out.put("/gc/heap/goal:bytes", m.nextGC());
        out.put("/gc/heap/live:bytes", c.liveHeap());
        out.put("/gc/gomemlimit:bytes", c.memoryLimit());
        out.put("/gc/gogc:percent", c.gcPercent());
        out.put("/gc/cycles/total:gc-cycles", m.numGC());
        out.put("/gc/cycles/forced:gc-cycles", m.numForcedGC());
        out.put("/gc/limiter/last-enabled:gc-cycle", c.limiterLastEnabledCycle());
        out.put("/sched/gomaxprocs:threads", c.heap.maxProcs());
        out.put("/sched/procs:procs", m.procs());
        out.put("/sched/stall-reports:reports", m.stallReports());
        ScavengerPacer s = c.scavengerPacer;
        out.put("/cpu/classes/scavenge/background:cpu-seconds", s.background.cpuNanos() / 1e9);
        out.put("/gc/scavenge/background:bytes", s.scavenger.releasedBackgroundBytes());
        out.put("/gc/scavenge/eager:bytes", s.scavenger.releasedEagerBytes());
        out.put("/gc/scavenge/goal:bytes", s.background.goal());
        return Collections.unmodifiableMap(out);
    }
}
