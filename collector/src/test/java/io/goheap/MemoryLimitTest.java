package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The memory limit through the public API: setMemoryLimit's Go semantics, the goal it caps, freeOSMemory as a full
 * collection plus release, scavtrace, pressure listeners with hysteresis, the opt-in death-spiral exit (and going on
 * after it), and a close racing the background scavenger.
 */
class MemoryLimitTest {
    private static final long MIB = 1L << 20;
    private static final HeapType BLOCK = HeapType.of(MemoryLayout.sequenceLayout(8192, ValueLayout.JAVA_LONG));

    /** A manual table of {@code n} slots, each holding a collected 64 KiB block: {@code n × 64 KiB} live. */
    private static long holdLive(Heap heap, int n) {
        long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(n));
        try (Mutator m = heap.attach()) {
            for (int i = 0; i < n; i++) {
                m.storePointer(table + 8L * i, m.allocate(BLOCK));
            }
        }
        return table;
    }

    private static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("v"),
            ValueLayout.ADDRESS.withName("next")));

    private static final int CHAINS = 1024;

    /**
     * About {@code mib} MiB of live data that is costly to mark, as a real service's: 16-byte nodes in 1024 linked
     * chains headed by a manual table. Returns the table (free it to drop them all).
     */
    static long holdPointerRich(Heap heap, int mib) {
        long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(CHAINS));
        try (Mutator m = heap.attach()) {
            growChains(m, table, mib);
        }
        return table;
    }

    /** Adds about {@code mib} MiB of nodes to the chains of {@code table}. */
    private static void growChains(Mutator m, long table, int mib) {
        long perChain = ((long) mib << 20) / 16 / CHAINS;
        long next = NODE.offsetOf(MemoryLayout.PathElement.groupElement("next"));
        for (long i = 0; i < perChain; i++) {
            for (int c = 0; c < CHAINS; c++) {
                long n = m.allocate(NODE);
                m.storePointer(n + next, m.loadPointer(table + 8L * c));
                m.storePointer(table + 8L * c, n);
            }
        }
    }

    @Test
    void setMemoryLimitReturnsThePreviousValueAndNegativeOnlyReads() {
        try (Heap heap = Heap.builder().reservation(1L << 30).memoryLimit("512MiB").build()) {
            assertEquals(512 * MIB, heap.setMemoryLimit(-1));
            assertEquals(512 * MIB, heap.setMemoryLimit(64 * MIB));
            assertEquals(64 * MIB, heap.setMemoryLimit(Long.MIN_VALUE));
            assertEquals(64 * MIB, heap.readMetrics().get("/gc/gomemlimit:bytes").longValue());
            assertEquals(64 * MIB, heap.setMemoryLimit(Long.MAX_VALUE));
            assertEquals(Long.MAX_VALUE, heap.setMemoryLimit(-5));
        }
    }

    @Test
    void theLimitCapsTheHeapGoalAlsoWithGogcOff() {
        try (Heap heap = Heap.builder().reservation(1L << 30).gcPercent(-1).build()) {
            assertEquals(Long.MAX_VALUE, heap.readMemStats().nextGC(), "GOGC off, no limit: no goal");
            heap.setMemoryLimit(64 * MIB);
            long goal = heap.readMemStats().nextGC();
            assertTrue(goal < 64 * MIB && goal > 56 * MIB, "goal under a 64 MiB limit: " + goal);
            long table = holdLive(heap, 256);                // 16 MiB live, with allocation past the goal
            try (Mutator m = heap.attach()) {
                for (int i = 0; i < 2048; i++) {             // 128 MiB of garbage: the limit makes cycles run
                    m.allocate(BLOCK);
                }
            }
            MemStats s = heap.readMemStats();
            assertTrue(s.numGC() > 0, "GOGC off, but the limit started cycles");
            assertTrue(s.heapSys() - s.heapReleased() <= 72 * MIB, "retained " + (s.heapSys() - s.heapReleased()));
            heap.free(table);
        }
    }

    @Test
    void freeOSMemoryCollectsThenReleasesEverythingFree() {
        try (Heap heap = Heap.builder().reservation(1L << 30).gcPercent(-1).build()) {
            long table = holdLive(heap, 256);
            heap.free(table);                                 // 16 MiB of collected garbage, GOGC off: nobody collects
            MemStats before = heap.readMemStats();
            long released = heap.freeOSMemory();
            MemStats after = heap.readMemStats();
            assertEquals(before.numGC() + 1, after.numGC());
            assertEquals(before.numForcedGC() + 1, after.numForcedGC());
            assertEquals(0, after.heapAlloc());
            assertTrue(released >= 16 * MIB, "released " + released);
            assertEquals(after.heapSys() - after.heapInuse(), after.heapReleased(), "every free page released");
            Map<String, Number> m = heap.readMetrics();
            long classes = 0;
            for (var e : m.entrySet()) {
                if (e.getKey().startsWith("/memory/classes/") && !e.getKey().equals("/memory/classes/total:bytes")) {
                    classes += e.getValue().longValue();
                }
            }
            assertEquals(m.get("/memory/classes/total:bytes").longValue(), classes, "the classes partition Sys");
            assertEquals(after.heapReleased(), m.get("/memory/classes/heap/released:bytes").longValue());
            assertTrue(m.get("/gc/scavenge/eager:bytes").longValue()
                    + m.get("/gc/scavenge/background:bytes").longValue() >= released);
        }
    }

    @Test
    void scavtracePrintsGosLineOnFreeOSMemory() {
        PrintStream err = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setErr(new PrintStream(out, true));
        try (Heap heap = Heap.builder().reservation(1L << 30).godebug("scavtrace=1").build()) {
            heap.free(holdLive(heap, 64));
            heap.freeOSMemory();
        } finally {
            System.setErr(err);
        }
        java.util.List<String> lines = out.toString().lines().filter(l -> l.startsWith("scav ")).toList();
        assertTrue(!lines.isEmpty() && lines.get(lines.size() - 1).endsWith(" (forced)"), out.toString());
        long work = 0;
        for (String line : lines) {
            assertTrue(line.matches("scav \\d+ KiB work \\(bg\\), \\d+ KiB work \\(eager\\), \\d+ KiB now, "
                    + "\\d+% util( \\(forced\\))?"), line);
            work += Long.parseLong(line.replaceAll("scav (\\d+) KiB work \\(bg\\).*", "$1"));
            work += Long.parseLong(line.replaceAll(".*\\(bg\\), (\\d+) KiB work \\(eager\\).*", "$1"));
        }
        // the freed objects' pages were released, background or eager (not necessarily all 4 MiB: spans of fewer
        // than 16 pages may come from, and go back through, a P's page cache)
        assertTrue(work > 0, "nothing released: " + lines);
    }

    @Test
    void pressureListenersHearRisingAndFallingOnceEachWay() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).memoryLimit(64 * MIB).build()) {
            BlockingQueue<MemoryPressureEvent> events = new LinkedBlockingQueue<>();
            AutoCloseable reg = heap.addMemoryPressureListener(MemoryPressureEvent.Measure.LIVE_HEAP, 0.5, 0.25,
                    events::add);
            assertThrows(IllegalArgumentException.class, () -> heap.addMemoryPressureListener(
                    MemoryPressureEvent.Measure.RSS, 0.5, 0.5, e -> { }));
            assertThrows(IllegalArgumentException.class, () -> heap.addMemoryPressureListener(
                    MemoryPressureEvent.Measure.RSS, 0, 0, e -> { }));
            long table = holdLive(heap, 640);                  // 40 MiB live: above half of 64 MiB
            heap.gc();
            MemoryPressureEvent up = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(up, "no rising event");
            assertTrue(up.rising());
            assertEquals(MemoryPressureEvent.Measure.LIVE_HEAP, up.measure());
            assertTrue(up.bytes() >= 32 * MIB, "rising below half the limit: live " + up.bytes());  // a cycle
            // while the 40 MiB were being allocated may have seen them first
            heap.gc();
            heap.gc();                                         // still above: nothing repeated
            heap.free(table);
            long smaller = holdLive(heap, 400);                // 25 MiB: below 50%, above 25%: inside the band
            heap.gc();
            heap.free(smaller);
            heap.gc();                                         // ~0: below 25%
            MemoryPressureEvent down = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(down, "no falling event");
            assertFalse(down.rising());
            assertTrue(down.bytes() < 16 * MIB, "live " + down.bytes());
            heap.gc();
            assertEquals(null, events.poll(200, TimeUnit.MILLISECONDS), "exactly one event each way");
            reg.close();
            long again = holdLive(heap, 640);
            heap.gc();
            assertEquals(null, events.poll(200, TimeUnit.MILLISECONDS), "a closed registration hears nothing");
            heap.free(again);
        }
    }

    @Test
    void anRssListenerHearsTheProcessCrossAFractionOfTheLimit() throws Exception {
        // the JVM's RSS moves by tens of MiB between tests (closed heaps are unmapped a second later): wide margins
        long rss = io.goheap.ffi.OsMemory.system().processMemory().rss();
        try (Heap heap = Heap.builder().reservation(1L << 30).memoryLimit(rss).build()) {
            BlockingQueue<MemoryPressureEvent> events = new LinkedBlockingQueue<>();
            heap.addMemoryPressureListener(MemoryPressureEvent.Measure.RSS, 0.25, 0.1, events::add);
            heap.gc();                                         // RSS is about the limit: far above a quarter
            MemoryPressureEvent up = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(up, "no rising event");
            assertTrue(up.rising() && up.measure() == MemoryPressureEvent.Measure.RSS, up.toString());
            assertTrue(up.bytes() >= up.limit() / 4, up.toString());
            heap.setMemoryLimit(rss * 20);                     // RSS is now ~1/20 of the limit: below 15%
            Thread.sleep(150);                                 // RSS is re-read at most every 100 ms
            heap.gc();
            MemoryPressureEvent down = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(down, "no falling event");
            assertFalse(down.rising());
            assertEquals(rss * 20, down.limit());
        }
    }

    @Test
    void theDeathSpiralExitFiresAndTheHeapGoesOnAfterMemoryIsFreed() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).memoryLimit(32 * MIB)
                .memoryLimitExit(Duration.ofMillis(200)).build()) {
            long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(CHAINS));
            MemoryLimitExceededException thrown = null;
            long deadline = System.nanoTime() + 120_000_000_000L;
            try (Mutator m = heap.attach()) {
                try {
                    growChains(m, table, 40);                  // 40 MiB live under a 32 MiB limit: the spiral may
                    while (System.nanoTime() < deadline) {     // set in while it grows, or in the churn after
                        m.allocate(BLOCK);                     // garbage: each cycle finds the same live data
                    }
                } catch (MemoryLimitExceededException e) {
                    thrown = e;
                }
            }
            assertNotNull(thrown, "collected for two minutes over the limit without the exit firing");
            assertEquals(32 * MIB, thrown.memoryLimit());
            assertTrue(thrown.liveBytes() >= thrown.heapRoom(), thrown.getMessage());
            assertTrue(thrown.saturatedNanos() >= 200_000_000L, thrown.getMessage());
            assertTrue(thrown.getMessage().contains("memory limit"), thrown.getMessage());
            heap.free(table);                                  // the service sheds its data
            heap.gc();
            try (Mutator m = heap.attach()) {
                for (int i = 0; i < 1024; i++) {              // 64 MiB of allocation goes through
                    m.allocate(BLOCK);
                }
            }
            assertTrue(heap.readMemStats().heapAlloc() < 32 * MIB);
        }
    }

    @Test
    void aDeciderMayLetTheAllocationProceed() {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).memoryLimit(32 * MIB)
                .memoryLimitExit(Duration.ZERO, e -> asked.incrementAndGet() < 0).build()) {
            long table = holdPointerRich(heap, 40);
            long deadline = System.nanoTime() + 120_000_000_000L;
            try (Mutator m = heap.attach()) {
                while (asked.get() == 0 && System.nanoTime() < deadline) {
                    m.allocate(BLOCK);                          // never throws: the decider says no
                }
            }
            assertTrue(asked.get() > 0, "the decider was never asked");
            heap.free(table);
        }
    }

    @Test
    void closingWhileTheBackgroundScavengerWorksIsSafe() throws Exception {
        long before = scavengerThreads();
        for (int round = 0; round < 10; round++) {
            Heap heap = Heap.builder().reservation(1L << 30).build();
            heap.free(holdLive(heap, 256));
            heap.gc();                                          // 16 MiB free: the scavenger starts on it
            Thread.sleep(round % 3);
            heap.close();
            assertThrows(IllegalStateException.class, heap::freeOSMemory);
            assertThrows(IllegalStateException.class, () -> heap.setMemoryLimit(1));
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (scavengerThreads() > before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(scavengerThreads() <= before, "closed heaps' scavenger threads end");
    }

    /**
     * freeOSMemory's result is what went back to the OS during the call, also when the background scavenger (started
     * by the first collection, here the one freeOSMemory runs) released part of it meanwhile (a hostile pass saw
     * 5.8 MB reported against 110.9 MB released).
     */
    @Test
    void freeOSMemoryReportsWhatWentBackDuringTheCall() {
        try (Heap heap = Heap.builder().reservation(1L << 30).build()) {
            heap.gc();                                        // the background scavenger runs from here on
            long table = holdLive(heap, 1600);
            heap.free(table);                                 // 100 MiB of garbage
            long releasedBefore = heap.readMemStats().heapReleased();
            long reported = heap.freeOSMemory();
            MemStats after = heap.readMemStats();
            long rose = after.heapReleased() - releasedBefore;
            assertTrue(reported >= rose * 9 / 10 && reported <= after.heapReleased(),
                    "reported " + reported + ", HeapReleased rose by " + rose);
            assertEquals(after.heapSys() - after.heapInuse(), after.heapReleased());
        }
    }

    /**
     * The exit is for a collector that cannot keep up: even with a zero duration it needs the CPU limiter saturated,
     * not just a live heap over the room (a hostile pass saw it fire at once, the limiter never saturated).
     */
    @Test
    void aZeroDurationExitStillWaitsForTheLimiterToSaturate() {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).memoryLimit(32 * MIB)
                .memoryLimitExit(Duration.ZERO, e -> asked.incrementAndGet() > 0).build()) {
            long table = holdLive(heap, 640);                  // 40 MiB live over a 32 MiB limit, in one go
            heap.gc();                                        // one cycle: the live heap is known, the bucket far from full
            try (Mutator m = heap.attach()) {
                m.allocate(BLOCK);
                m.allocate(BLOCK);
            }
            assertEquals(0, asked.get(), "the exit was consulted without a saturated limiter");
            heap.free(table);
        }
    }

    /** A closed heap says so: the exit neither throws its exception nor asks its decider again (hostile pass). */
    @Test
    void afterCloseAllocationSaysTheHeapIsClosedAndAsksNoDecider() {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).memoryLimit(32 * MIB)
                .memoryLimitExit(Duration.ZERO, e -> asked.incrementAndGet() > 0).build();
        long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(CHAINS));
        try (Mutator m = heap.attach()) {
            long deadline = System.nanoTime() + 120_000_000_000L;
            MemoryLimitExceededException thrown = null;
            try {
                growChains(m, table, 40);
                while (System.nanoTime() < deadline) {
                    m.allocate(BLOCK);
                }
            } catch (MemoryLimitExceededException e) {
                thrown = e;
            }
            assertNotNull(thrown, "the exit never fired");
            int asks = asked.get();
            heap.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> m.allocate(NODE));
            assertEquals("heap is closed", closed.getMessage());
            assertEquals(asks, asked.get(), "the decider was asked on a closed heap");
        }
    }

    private static long scavengerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("goheap-scavenger"))
                .count();
    }
}
