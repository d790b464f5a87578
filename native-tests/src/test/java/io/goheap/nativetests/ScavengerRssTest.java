package io.goheap.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import io.goheap.ffi.OsMemory;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The scavenger, through the public API on the real OS: 1 GiB of collected objects is touched,
 * dropped and collected; then
 * <ul>
 *   <li>the background scavenger alone (no further call into the heap) brings the heap's resident memory down to
 *       its retain goal — the time it took is printed, the speed is judged by the benchmark, not here;</li>
 *   <li>{@code freeOSMemory()} does it at once;</li>
 * </ul>
 * and in both cases MemStats' HeapReleased is what the kernel says: the heap's range in {@code /proc/self/smaps}
 * holds about {@code HeapSys − HeapReleased}, and the process's {@code Rss} in {@code /proc/self/smaps_rollup}
 * fell by about what was released.
 */
class ScavengerRssTest {
    private static final long MIB = 1L << 20;
    private static final long DROPPED = 1L << 30;
    private static final HeapType TABLE = HeapType.of(ValueLayout.ADDRESS).arrayOf(DROPPED / (64 << 10));
    private static final HeapType BLOCK = HeapType.of(MemoryLayout.sequenceLayout(8192, ValueLayout.JAVA_LONG));
    /** What the rest of the JVM may add to or take from RSS meanwhile, and the heap's own small live part. */
    private static final long NOISE = 24 * MIB;

    /** Allocates and touches 1 GiB of 64 KiB collected objects held by a manual table; returns the table. */
    private static long fill(Heap heap) {
        long table = heap.malloc(TABLE);
        MemorySegment memory = heap.segment();
        try (Mutator m = heap.attach()) {
            long n = TABLE.length();
            for (long i = 0; i < n; i++) {
                long block = m.allocate(BLOCK);
                for (long at = 0; at < BLOCK.size(); at += 4096) {
                    memory.set(ValueLayout.JAVA_LONG, block - heap.base() + at, i + 1);
                }
                m.storePointer(table + i * 8, block);
            }
        }
        return table;
    }

    private static long heapRss(Heap heap) {
        return HeapRssTest.rangeMemory(heap.base(), heap.base() + heap.reservation())[0];
    }

    @Test
    void theBackgroundScavengerAloneBringsADropped1GiBDownToItsRetainGoal() throws Exception {
        try (Heap heap = Heap.builder().reservation(8L << 30).gcPercent(100).build()) {
            long table = fill(heap);
            long touched = heapRss(heap);
            assertTrue(touched >= DROPPED, "1 GiB touched: the heap's RSS is " + touched / MIB + " MiB");
            heap.free(table);
            heap.gc();                                   // the dropped objects' pages are free now, not released
            long goal = heap.readMetrics().get("/gc/scavenge/goal:bytes").longValue();
            assertTrue(goal < 64 * MIB, "retain goal after the drop: " + goal / MIB + " MiB");
            long start = System.nanoTime();
            long deadline = start + 300_000_000_000L;     // generous: the benchmark, not this test, judges speed
            long rss = heapRss(heap);
            long half = -1;
            while (rss > goal + NOISE && System.nanoTime() < deadline) {
                Thread.sleep(100);
                rss = heapRss(heap);
                if (half < 0 && rss <= touched / 2) {
                    half = System.nanoTime() - start;
                }
            }
            long took = System.nanoTime() - start;
            Map<String, Number> metrics = heap.readMetrics();
            double cpu = metrics.get("/cpu/classes/scavenge/background:cpu-seconds").doubleValue();
            System.out.printf("background scavenger: %d MiB -> %d MiB (goal %d MiB): half at %.1f s, goal at %.1f s, "
                            + "scavenger CPU %.3f s (%.2f%% of one CPU)%n", touched / MIB, rss / MIB, goal / MIB,
                    half / 1e9, took / 1e9, cpu, 100 * cpu / (took / 1e9));
            assertTrue(rss <= goal + NOISE, "the heap still holds " + rss / MIB + " MiB after "
                    + took / 1_000_000_000 + " s; retain goal " + goal / MIB + " MiB");
            assertTrue(metrics.get("/gc/scavenge/background:bytes").longValue() >= DROPPED - goal - NOISE,
                    "released by the background scavenger: " + metrics.get("/gc/scavenge/background:bytes"));
            assertReleasedMatchesTheKernel(heap);
        }
    }

    @Test
    void freeOSMemoryReleasesADropped1GiBAtOnceAndHeapReleasedMatchesTheKernel() {
        try (Heap heap = Heap.builder().reservation(8L << 30).gcPercent(100).build()) {
            long table = fill(heap);
            long rollupBefore = OsMemory.system().processMemory().rss();
            MemStats before = heap.readMemStats();
            heap.free(table);
            long t0 = System.nanoTime();
            long released = heap.freeOSMemory();          // a full collection, then every free page released
            long took = System.nanoTime() - t0;
            long rss = heapRss(heap);
            long rollupAfter = OsMemory.system().processMemory().rss();
            MemStats after = heap.readMemStats();
            System.out.printf("freeOSMemory: released %d MiB in %.1f ms; heap RSS now %d MiB%n",
                    released / MIB, took / 1e6, rss / MIB);
            long releasedRise = after.heapReleased() - before.heapReleased();
            // the background scavenger, woken by the collection inside freeOSMemory, may take part of it first
            assertTrue(released > 0 && releasedRise >= DROPPED - NOISE, "freeOSMemory released " + released / MIB
                    + " MiB, HeapReleased rose by " + releasedRise / MIB + " MiB");
            assertTrue(rss <= NOISE, "the heap still holds " + rss / MIB + " MiB");
            long rollupDrop = rollupBefore - rollupAfter;
            assertTrue(Math.abs(rollupDrop - releasedRise) <= NOISE, "smaps_rollup Rss fell by " + rollupDrop / MIB
                    + " MiB, HeapReleased rose by " + releasedRise / MIB + " MiB");
            assertEquals(after.heapSys(), after.heapIdle() + after.heapInuse());
            assertReleasedMatchesTheKernel(heap);
        }
    }

    /** The heap's resident memory is what MemStats says it retains (HeapSys − HeapReleased), within the noise. */
    private static void assertReleasedMatchesTheKernel(Heap heap) {
        MemStats m = heap.readMemStats();
        long retained = m.heapSys() - m.heapReleased();
        long rss = heapRss(heap);
        assertTrue(rss <= retained + 4 * MIB, "the kernel holds " + rss / MIB + " MiB of the heap, MemStats says "
                + retained / MIB + " MiB retained: HeapReleased counts pages the kernel still backs");
        assertTrue(retained - rss <= NOISE, "MemStats says " + retained / MIB + " MiB retained, the kernel holds "
                + rss / MIB + " MiB");
    }
}
