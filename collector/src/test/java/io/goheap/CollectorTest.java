package io.goheap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemoryLayout;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stop-the-world collector's contract through the public API. */
class CollectorTest {
    /** A list node: a value, then the next node. */
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(JAVA_LONG.withName("value"),
            ADDRESS.withName("next")));
    static final HeapType DATA = HeapType.of(MemoryLayout.sequenceLayout(100, JAVA_LONG));

    Heap heap;

    @BeforeEach
    void open() {
        heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
    }

    @AfterEach
    void close() {
        heap.close();
    }

    /** A list of {@code n} nodes, values 0..n-1, kept in {@code m}'s frame while it is built; returns the head. */
    static long list(Mutator m, int n) {
        long head = 0;
        try (Mutator.Frame f = m.enterFrame()) {
            for (int i = n - 1; i >= 0; i--) {
                long node = f.keep(m.allocate(NODE));
                m.heap().segment().set(JAVA_LONG, node - m.heap().base(), i);
                m.storePointer(node + 8, head);
                head = node;
            }
        }
        return head;
    }

    static int length(Heap heap, long head, boolean checkValues) {
        int n = 0;
        for (long p = head; p != 0; p = heap.segment().get(JAVA_LONG, p + 8 - heap.base())) {
            if (checkValues) {
                assertEquals(n, heap.segment().get(JAVA_LONG, p - heap.base()), "node " + n + " intact");
            }
            n++;
        }
        return n;
    }

    @Test
    void reachableObjectsSurviveAndGarbageIsReclaimed() {
        try (Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long kept = list(m, 1000);
            root.set(kept);
            list(m, 2000);                                   // garbage once its frame closed
            for (int i = 0; i < 500; i++) {
                m.allocate(DATA);                             // pointer-free garbage
            }
            assertEquals(3500, heap.readMemStats().heapObjects());
            m.gc();
            MemStats s = heap.readMemStats();
            assertEquals(1000, s.heapObjects(), "exactly the rooted list survives");
            assertEquals(1000, length(heap, kept, true));
            assertEquals(1, s.numGC());
            assertEquals(1, s.numForcedGC());
            assertTrue(s.enableGC());
            root.set(0);
            m.gc();
            assertEquals(0, heap.readMemStats().heapObjects(), "dropping the root frees the list");
            assertEquals(2, heap.readMemStats().numGC());
        }
    }

    @Test
    void framesAreRootsUntilClosedAndDeepListsDoNotOverflowTheStack() {
        try (Mutator m = heap.attach()) {
            long head;
            try (Mutator.Frame f = m.enterFrame()) {
                head = f.keep(list(m, 200_000));
                m.gc();
                assertEquals(200_000, length(heap, head, true), "a 200,000-node list marked without recursion");
            }
            m.gc();
            assertEquals(0, heap.readMemStats().heapObjects());
        }
    }

    @Test
    void manualObjectsWithPointersAreRootsAndNeverSwept() {
        HeapType holder = HeapType.of(MemoryLayout.structLayout(ADDRESS, ADDRESS));
        try (Mutator m = heap.attach()) {
            long manual = m.malloc(holder);
            long list = list(m, 10);
            m.storePointer(manual + 8, list);
            long plain = m.malloc(64);                     // manual, pointer-free: never swept
            m.gc();
            assertEquals(10, length(heap, list, true), "reachable from a manual object");
            assertEquals(64, heap.usableSize(plain));
            m.free(manual);
            m.gc();
            assertEquals(1, heap.readMemStats().heapObjects(), "only the manual pointer-free object is left");
            m.free(plain);
        }
    }

    @Test
    void largeAndHeaderObjectsAndArraysAreScannedPrecisely() {
        HeapType bigArray = HeapType.of(ADDRESS).arrayOf(10_000);    // 80 KB: a large object
        HeapType midArray = HeapType.of(ADDRESS).arrayOf(100);       // 800 B: a malloc header
        try (Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long big = m.allocate(bigArray);
            root.set(big);
            long mid = m.allocate(midArray);
            m.storePointer(big + 8 * 9_999, mid);
            long leaf = m.allocate(NODE);
            m.storePointer(mid + 8 * 99, leaf);
            m.gc();
            assertEquals(3, heap.readMemStats().heapObjects());
            assertEquals(mid, m.loadPointer(big + 8 * 9_999));
            assertEquals(leaf, m.loadPointer(mid + 8 * 99));
            m.storePointer(big + 8 * 9_999, 0);
            m.gc();
            assertEquals(1, heap.readMemStats().heapObjects());
        }
    }

    @Test
    void interiorPointersKeepTheirObjectAndNonHeapValuesAreIgnored() {
        HeapType two = HeapType.of(MemoryLayout.structLayout(ADDRESS, ADDRESS));
        try (Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long holder = m.allocate(two);
            root.set(holder);
            long target = m.allocate(DATA);
            m.storePointer(holder, target + 400);                   // into the middle of target
            m.storePointer(holder + 8, 0x1234);                     // not a heap address: ignored
            m.gc();
            assertEquals(2, heap.readMemStats().heapObjects());
        }
    }

    @Test
    void aPointerToAFreedObjectIsReportedAndTheHeapStaysUsable() {
        try (Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long head = list(m, 3);
            root.set(head);
            long second = m.loadPointer(head + 8);
            m.free(second);                                 // the list still points at it
            InvalidPointerException e = assertThrows(InvalidPointerException.class, m::gc);
            assertEquals(second, e.pointer());
            assertEquals(head + 8, e.slot());
            assertTrue(e.getMessage().contains(Long.toHexString(second)) && e.getMessage().contains(Long.toHexString(head + 8)),
                    e.getMessage());
            assertEquals(0, heap.readMemStats().numGC(), "the abandoned cycle freed nothing");
            m.storePointer(head + 8, 0);
            m.gc();
            assertEquals(1, heap.readMemStats().heapObjects());
            root.set(heap.base() + 8);                      // a root holding an address where nothing is
            assertThrows(InvalidPointerException.class, m::gc);
            root.set(head);
            m.gc();
        }
        try (Heap lenient = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("invalidptr=0").build();
             Root root = lenient.newRoot(); Mutator m = lenient.attach()) {
            long head = list(m, 3);
            root.set(head);
            m.free(m.loadPointer(head + 8));
            m.gc();                                          // ignored, as GODEBUG=invalidptr=0 asks
            assertEquals(1, lenient.readMemStats().heapObjects(), "the head; the third node is unreachable now");
        }
    }

    @Test
    void thePacerCollectsByItselfAndGogcOffDoesNot() {
        try (Heap paced = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(100).godebug("").build();
             Mutator m = paced.attach()) {
            for (int i = 0; i < 100_000; i++) {
                m.allocate(DATA);                            // 800 B of garbage each: 80 MB in all
            }
            MemStats s = paced.readMemStats();
            assertTrue(s.numGC() >= 5, "cycles started by themselves: " + s.numGC());
            assertEquals(0, s.numForcedGC());
            assertTrue(s.heapInuse() < 16L << 20, "the heap stayed near its 4 MiB goal: " + s.compact());
            assertEquals(64L << 20, s.heapSys(), "80 MB of garbage never grew the heap past its first arena");
            assertTrue(s.nextGC() >= 4L << 20 && s.nextGC() < 16L << 20, "goal " + s.nextGC());
            assertEquals(100, paced.setGCPercent(-1), "setGCPercent returns the previous value");
            int before = paced.readMemStats().numGC();
            for (int i = 0; i < 50_000; i++) {
                m.allocate(DATA);
            }
            assertEquals(before, paced.readMemStats().numGC(), "GOGC=off starts no cycle");
            assertEquals(Long.MAX_VALUE, paced.readMemStats().nextGC());
            assertEquals(-1, paced.setGCPercent(50));
        }
    }

    @Test
    void theBackgroundSweeperFreesWhatAnAutomaticCycleFoundDeadWithoutFurtherAllocation() throws Exception {
        // stop-the-world cycles, so exactly one new node outlives the cycle (a concurrent one allocates black, so the
        // few objects allocated during its mark float to the next cycle); the sweeper is the same in both
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(100).godebug("gcstoptheworld=1")
                .build();
             Root root = heap.newRoot(); Mutator m = heap.attach()) {
            root.set(list(m, 1000));                         // 1,000 live nodes
            for (int i = 0; i < 150_000; i++) {
                m.allocate(NODE);                            // 2.4 MB of garbage nodes, under the 4 MiB goal
            }
            assertEquals(0, heap.readMemStats().numGC());
            while (heap.readMemStats().numGC() == 0) {
                m.allocate(DATA);                            // then other garbage until the pacer runs a cycle;
            }                                                // allocation sweeps DATA's spans, not NODE's
            MemStats after = heap.readMemStats();
            assertEquals(0, after.numForcedGC());
            long deadline = System.nanoTime() + 20_000_000_000L;
            long objects = after.heapObjects();
            // the list, and the node whose allocation ran the cycle (allocated after its safepoint: not garbage yet)
            while (objects != 1001 && System.nanoTime() < deadline) {
                Thread.sleep(5);                             // nobody allocates: only the background sweeper works
                objects = heap.readMemStats().heapObjects();
            }
            assertEquals(1001, objects, "swept by the background sweeper: only the list and the newest node are left");
            assertTrue(heap.collector.sweeper.swept() > 0, "the background sweeper swept spans");
            assertEquals(1000, length(heap, root.get(), true), "the list is intact");
        }
    }

    @Test
    void memStatsGcFieldsAndInvariantsAfterCycles() {
        try (Mutator m = heap.attach()) {
            for (int c = 0; c < 300; c++) {
                list(m, 10);
                m.gc();
            }
            MemStats s = heap.readMemStats();
            assertEquals(300, s.numGC());
            assertEquals(300, s.numForcedGC());
            long total = 0;
            for (int i = 0; i < 256; i++) {
                assertTrue(s.pauseNs(i) > 0, "pause ring entry " + i);
                total += s.pauseNs(i);
            }
            assertTrue(s.pauseTotalNs() >= total);
            assertTrue(s.lastGC() > 0 && s.pauseEnd((s.numGC() - 1) % 256) > 0);
            assertTrue(s.gcCPUFraction() >= 0 && s.gcCPUFraction() <= 1);
            assertEquals(s.heapObjects(), s.mallocs() - s.frees());
            assertEquals(0, s.heapObjects());
            assertTrue(s.toString().contains("NumGC         300"), s.toString());
        }
    }

    @Test
    void settingsAreReadAsGoReadsThemAndBadValuesAreClearErrors() {
        assertEquals(100, GcSettings.parseGogc(null));
        assertEquals(-1, GcSettings.parseGogc("off"));
        assertEquals(50, GcSettings.parseGogc("50"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GcSettings.parseGogc("abc"));
        assertTrue(e.getMessage().contains("GOGC=abc"), e.getMessage());
        GcSettings s = GcSettings.resolve(null, null, Map.of("GOGC", "off", "GODEBUG", "gctrace=1,madvdontneed=1")::get);
        assertEquals(-1, s.gcPercent());
        assertTrue(s.gctrace());
        assertTrue(s.invalidptr());
        assertFalse(GcSettings.resolve(7, "invalidptr=0", Map.of("GOGC", "abc")::get).invalidptr(),
                "the builder's values win over the environment (a bad GOGC there is not read)");
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().godebug("gctrace"));
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().godebug("gctrace=yes"));
        assertThrows(IllegalArgumentException.class, () -> GcSettings.gomaxprocs(Map.of("GOMAXPROCS", "0")::get));
        assertEquals(3, GcSettings.gomaxprocs(Map.of("GOMAXPROCS", "3")::get));
    }

    /** Go's gctrace line, parsed with the pattern Go's own tests use for it. */
    @Test
    void gctraceLinesHaveGosFormat() {
        Pattern goFormat = Pattern.compile("gc \\d+ @\\d+\\.\\d{3}s \\d+%: [\\d.]+\\+[\\d.]+\\+[\\d.]+ ms clock, "
                + "[\\d.]+\\+[\\d.]+/[\\d.]+/[\\d.]+\\+[\\d.]+ ms cpu, \\d+->\\d+->\\d+ MB, \\d+ MB goal, \\d+ MB stacks, "
                + "\\d+ MB globals, \\d+ P( \\(forced\\))?");
        String line = GcTrace.line(7, 3_120_000_000L, 0.004, 44_000, 510_000, 5_000, 8, 1 << 20, 1 << 20, 0,
                4 << 20, true);
        assertEquals("gc 7 @3.120s 0%: 0.044+0.51+0.005 ms clock, 0.35+0/0.51/0+0.040 ms cpu, 1->1->0 MB, 4 MB goal,"
                + " 0 MB stacks, 0 MB globals, 8 P (forced)", line);
        assertTrue(goFormat.matcher(line).matches());
        assertEquals("0.015", GcTrace.ms(15_000));
        assertEquals("0.62", GcTrace.ms(620_000));
        assertEquals("1.2", GcTrace.ms(1_234_000));
        assertEquals("12", GcTrace.ms(12_500_000));
        assertEquals("0", GcTrace.ms(999));

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Collector c = new Collector(heap, heap.allocator.gcHooks(), 100, true, true, false, false, false,
                new PrintStream(out, true));
        heap.collector.mutators.forEach(x -> { });
        c.collect(true, null);
        String printed = out.toString().trim();
        assertTrue(goFormat.matcher(printed).matches(), printed);
        assertTrue(printed.startsWith("gc 1 @"), printed);
    }

    /**
     * gcpacertrace=1: Go's three pacer lines — at a mark's start, at its end, when the sweep is done — in Go's
     * format (Go's runtime float printing), with this heap's figures: three roots read once, at setup (termination
     * reads no root again), are 24 bytes of globals work, and the sweep counts the pages it swept.
     */
    @Test
    void gcpacertraceLinesHaveGosFormat() {
        assertEquals("+1.232155e+000", GcTrace.goFloat(1.232155));
        assertEquals("+0.000000e+000", GcTrace.goFloat(0));
        assertEquals("-6.183550e-004", GcTrace.goFloat(-6.18355e-4));
        assertEquals("+2.500000e+010", GcTrace.goFloat(2.5e10));
        assertTrue(GcSettings.resolve(null, "gcpacertrace=1", k -> null).gcpacertrace());
        assertFalse(GcSettings.resolve(null, "gctrace=1", k -> null).gcpacertrace());

        String f = "[+-]\\d\\.\\d{6}e[+-]\\d{3}";
        Pattern start = Pattern.compile("pacer: assist ratio=" + f + " \\(scan \\d+ MB in \\d+->\\d+ MB\\) workers=0\\+\\+2\\.500000e-001");
        Pattern end = Pattern.compile("pacer: \\d+% CPU \\(\\d+ exp\\.\\) for \\d+\\+\\d+\\+24 B work \\(\\d+ B exp\\.\\) "
                + "in \\d+ B -> \\d+ B \\(\u2206goal -?\\d+, cons/mark " + f + "\\)");
        Pattern sweep = Pattern.compile("pacer: sweep done at heap size \\d+MB; allocated \\d+MB during sweep; "
                + "swept ([1-9]\\d*) pages at " + f + " pages/byte");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        Heap built;
        System.setErr(new PrintStream(out, true));           // the collector takes System.err when it is built
        try {
            built = Heap.builder().reservation(256L << 20).maxProcs(2).godebug("gcpacertrace=1").build();
        } finally {
            System.setErr(stderr);
        }
        try (Heap h = built;
             Mutator m = h.attach();
             Root a = h.newRoot(); Root b = h.newRoot(); Root c = h.newRoot()) {
            Collector traced = h.collector;
            for (int i = 0; i < 1000; i++) {
                m.allocate(CollectorModelTest.NODE);          // garbage for the sweep
            }
            a.set(m.allocate(CollectorModelTest.NODE));
            b.set(m.allocate(CollectorModelTest.NODE));
            c.set(m.allocate(CollectorModelTest.NODE));
            try (var region = m.blocking()) {
                traced.runPacedCycleForTests();
                traced.collect(true, null);                   // forced: swept before it returns
            }
            List<String> lines = out.toString().lines().toList();
            assertEquals(2, lines.stream().filter(l -> start.matcher(l).matches()).count(), lines.toString());
            assertEquals(2, lines.stream().filter(l -> end.matcher(l).matches()).count(), lines.toString());
            assertTrue(lines.stream().anyMatch(l -> sweep.matcher(l).matches()), lines.toString());
            assertEquals(lines.size(), lines.stream().filter(l -> start.matcher(l).matches()
                    || end.matcher(l).matches() || sweep.matcher(l).matches()).count(), "no other line: " + lines);
        }
    }

    /**
     * The pause histogram counts every pause a thread sees: each cycle's stop at termination, and each handshake
     * step a polling thread runs itself — two at mark setup, one reading its frames and one in the ragged barrier
     * before termination, per cycle — never the handshaker's own work for idle Ps, which pauses nobody.
     */
    @Test
    void thePauseHistogramCountsEveryStopAndEveryHandshakeStepAThreadRan() throws Exception {
        try (Heap h = Heap.builder().reservation(256L << 20).maxProcs(2).gcPercent(-1).build()) {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicLong iterations = new java.util.concurrent.atomic.AtomicLong();
            Thread looping = new Thread(() -> {
                try (Mutator m = h.attach()) {
                    running.countDown();
                    while (!stop.get()) {
                        m.free(m.malloc(48));                 // manual objects: no pacing, no cycle of its own
                        iterations.incrementAndGet();
                    }
                }
            });
            looping.start();
            running.await();
            try {
                for (int i = 0; i < 3; i++) {
                    // running, not parked after the last cycle's stop (a parked holder's steps are run for it)
                    for (long seen = iterations.get(); iterations.get() < seen + 1000; ) {
                        Thread.onSpinWait();
                    }
                    h.collector.runPacedCycleForTests();
                }
            } finally {
                stop.set(true);
                looping.join();
            }
            PauseHistogram p = h.readPauseHistogram();
            assertEquals(3 + 3 * 4, p.total(), "3 stops and the looping thread's 12 handshake steps");
            assertEquals(3, h.readMemStats().numGC());
            assertTrue(p.quantileNanos(1.0) > 0 && p.quantileNanos(0.5) <= p.quantileNanos(1.0));
            assertThrows(IllegalArgumentException.class, () -> p.quantileNanos(1.5));
            assertEquals(0, new PauseHistogram(new long[] {0, 5}, new long[] {0}).quantileNanos(0.9));
            // a value type: equal snapshots are equal; bad bounds or counts are refused (hostile pass)
            assertEquals(h.readPauseHistogram(), h.readPauseHistogram());
            assertEquals(h.readPauseHistogram().hashCode(), h.readPauseHistogram().hashCode());
            assertTrue(h.readPauseHistogram().toString().startsWith("PauseHistogram[total=15, ["),
                    h.readPauseHistogram().toString());
            assertThrows(IllegalArgumentException.class, () -> new PauseHistogram(new long[] {5, 1}, new long[] {1}));
            assertThrows(IllegalArgumentException.class, () -> new PauseHistogram(new long[] {0, 1}, new long[] {-3}));
            assertThrows(IllegalArgumentException.class, () -> new PauseHistogram(new long[] {-1, 1}, new long[] {1}));
            assertThrows(IllegalArgumentException.class, () -> new PauseHistogram(new long[] {0, 1}, new long[] {1, 2}));
        }
    }

    @Test
    void badInputThrowsAndLeavesTheHeapUsable() {
        try (Mutator m = heap.attach()) {
            assertThrows(NullPointerException.class, () -> m.allocate(null));
            assertThrows(IllegalArgumentException.class, () -> m.storePointer(heap.base() + 3, 0));
            assertThrows(IllegalArgumentException.class, () -> m.storePointer(16, 0));
            assertThrows(IllegalArgumentException.class, () -> m.loadPointer(heap.base() + heap.reservation()));
            assertThrows(IllegalArgumentException.class, () -> m.copyPointers(heap.base(), heap.base() + 8, 12));
            long end = heap.base() + heap.reservation();
            IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                    () -> m.copyPointers(end - 16, heap.base(), 32));     // a range running past the heap's end
            assertTrue(past.getMessage().contains("runs past the end of the heap"), past.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.copyPointers(heap.base(), end - 8, 16));
            Root r = heap.newRoot();
            r.close();
            assertThrows(IllegalStateException.class, () -> r.set(1));
            long node = m.allocate(NODE);
            m.keep(node);
            m.gc();
            assertEquals(1, heap.readMemStats().heapObjects());
        }
        Mutator closed = heap.attach();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.keep(8));
        assertThrows(IllegalStateException.class, () -> closed.allocate(NODE));
        heap.close();
        assertThrows(IllegalStateException.class, heap::gc);
        assertThrows(IllegalStateException.class, heap::newRoot);
    }
}
