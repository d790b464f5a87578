package io.goheap;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * JVM-native configuration: Go's four settings as builder calls (Go's syntax), system properties and environment
 * variables, in that precedence; malformed values named with their source; trace lines to a System.Logger; warnings
 * through System.Logger.
 */
class ConfigurationTest {
    private static final long MIB = 1L << 20;
    private static final List<String> PROPERTIES = List.of(GcSettings.GOGC_PROPERTY, GcSettings.MEMLIMIT_PROPERTY,
            GcSettings.GODEBUG_PROPERTY, GcSettings.MAXPROCS_PROPERTY);

    @AfterEach
    void clearProperties() {
        PROPERTIES.forEach(System::clearProperty);
    }

    // ---------------------------------------------------------------- precedence, on the resolver

    @Test
    void builderWinsOverPropertyWhichWinsOverEnvironment() {
        Map<String, String> env = Map.of("GOGC", "10", "GOMEMLIMIT", "10MiB", "GOMAXPROCS", "1");
        Map<String, String> props = Map.of("goheap.gogc", "20", "goheap.memlimit", "20MiB", "goheap.maxprocs", "2");
        Map<String, String> none = Map.of();

        GcSettings envOnly = GcSettings.resolve(null, null, null, none::get, env::get);
        assertEquals(10, envOnly.gcPercent());
        assertEquals(10 * MIB, envOnly.memoryLimit());
        assertEquals(1, GcSettings.gomaxprocs(none::get, env::get));

        GcSettings propsWin = GcSettings.resolve(null, null, null, props::get, env::get);
        assertEquals(20, propsWin.gcPercent());
        assertEquals(20 * MIB, propsWin.memoryLimit());
        assertEquals(2, GcSettings.gomaxprocs(props::get, env::get));

        GcSettings builderWins = GcSettings.resolve(30, 30 * MIB, null, props::get, env::get);
        assertEquals(30, builderWins.gcPercent());
        assertEquals(30 * MIB, builderWins.memoryLimit());

        GcSettings neither = GcSettings.resolve(null, null, null, none::get, none::get);
        assertEquals(100, neither.gcPercent());
        assertEquals(GcSettings.NO_LIMIT, neither.memoryLimit());
        assertNull(GcSettings.gomaxprocs(none::get, none::get));
    }

    @Test
    void anEmptyPropertySetsNothing() {
        Map<String, String> props = Map.of("goheap.gogc", "", "goheap.maxprocs", "");
        Map<String, String> env = Map.of("GOGC", "off", "GOMAXPROCS", "3");
        assertEquals(-1, GcSettings.resolve(null, null, null, props::get, env::get).gcPercent());
        assertEquals(3, GcSettings.gomaxprocs(props::get, env::get));
    }

    @Test
    void godebugIsMergedKeyByKey() {
        Map<String, String> env = Map.of("GODEBUG", "gctrace=1,invalidptr=0,madvdontneed=0");
        Map<String, String> props = Map.of("goheap.godebug", "invalidptr=1,scavtrace=1");
        GcSettings s = GcSettings.resolve(null, null, "gctrace=0", props::get, env::get);
        assertFalse(s.gctrace(), "the builder's gctrace=0 replaces the environment's gctrace=1");
        assertTrue(s.invalidptr(), "the property's invalidptr=1 replaces the environment's invalidptr=0");
        assertTrue(s.scavtrace(), "the property's own key");
        assertEquals(DecommitMode.FREE, s.decommitMode(), "the environment's key no other source sets");
    }

    // ---------------------------------------------------------------- malformed values name their source

    @Test
    void malformedValuesNameTheirSource() {
        Map<String, String> none = Map.of();
        assertMessage("system property goheap.gogc=lots", () -> GcSettings.resolve(null, null, null,
                Map.of("goheap.gogc", "lots")::get, none::get));
        assertMessage("environment variable GOGC=lots", () -> GcSettings.resolve(null, null, null, none::get,
                Map.of("GOGC", "lots")::get));
        assertMessage("system property goheap.memlimit=12XB", () -> GcSettings.resolve(null, null, null,
                Map.of("goheap.memlimit", "12XB")::get, none::get));
        assertMessage("environment variable GOMEMLIMIT=12XB", () -> GcSettings.resolve(null, null, null, none::get,
                Map.of("GOMEMLIMIT", "12XB")::get));
        assertMessage("system property goheap.godebug entry \"gctrace\"", () -> GcSettings.resolve(null, null, null,
                Map.of("goheap.godebug", "gctrace")::get, none::get));
        assertMessage("environment variable GODEBUG entry gctrace=x", () -> GcSettings.resolve(null, null, null,
                none::get, Map.of("GODEBUG", "gctrace=x")::get));
        assertMessage("system property goheap.maxprocs=2000", () -> GcSettings.gomaxprocs(
                Map.of("goheap.maxprocs", "2000")::get, none::get));
        assertEquals(null, GcSettings.gomaxprocs(Map.of("goheap.maxprocs", "0")::get, none::get),
                "below 1 is unset, as Go's GOMAXPROCS=0");
        assertMessage("environment variable GOMAXPROCS=many", () -> GcSettings.gomaxprocs(none::get,
                Map.of("GOMAXPROCS", "many")::get));
        // a property that is set hides a malformed environment variable, as a builder value hides both
        assertEquals(5, GcSettings.resolve(null, null, null, Map.of("goheap.gogc", "5")::get,
                Map.of("GOGC", "lots")::get).gcPercent());
    }

    @Test
    void builderCallsTakeGosSyntaxAndNameThemselves() {
        assertMessage("Heap.Builder.gogc=often", () -> Heap.builder().gogc("often"));
        assertMessage("Heap.Builder.memoryLimit=1GB", () -> Heap.builder().memoryLimit("1GB"));
        assertMessage("Heap.Builder.godebug entry \"gctrace\"", () -> Heap.builder().godebug("gctrace"));
        assertMessage("Heap.Builder.maxProcs=2000", () -> Heap.builder().maxProcs("2000"));
        assertThrows(NullPointerException.class, () -> Heap.builder().gogc(null));
        assertThrows(NullPointerException.class, () -> Heap.builder().maxProcs((String) null));
    }

    // ---------------------------------------------------------------- the public builder with real properties

    @Test
    void systemPropertiesConfigureAHeapAndBuilderCallsOverrideThem() {
        System.setProperty("goheap.gogc", "37");
        System.setProperty("goheap.memlimit", "64MiB");
        System.setProperty("goheap.maxprocs", "3");
        try (Heap heap = Heap.builder().reservation(1L << 30).build()) {
            assertEquals(37, heap.setGCPercent(100));
            assertEquals(64 * MIB, heap.setMemoryLimit(-1));
            assertEquals(3, heap.maxProcs());
        }
        try (Heap heap = Heap.builder().reservation(1L << 30).gogc("off").memoryLimit("off").maxProcs("2").build()) {
            assertEquals(-1, heap.setGCPercent(100));
            assertEquals(Long.MAX_VALUE, heap.setMemoryLimit(-1));
            assertEquals(2, heap.maxProcs());
        }
    }

    @Test
    void aMalformedPropertyFailsBuildNamingIt() {
        System.setProperty("goheap.godebug", "gccheckmark=yes");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Heap.builder().reservation(1L << 30).build());
        assertTrue(e.getMessage().contains("system property goheap.godebug entry gccheckmark=yes"), e.getMessage());
        System.clearProperty("goheap.godebug");
        System.setProperty("goheap.maxprocs", "lots");
        e = assertThrows(IllegalArgumentException.class, () -> Heap.builder().reservation(1L << 30).build());
        assertTrue(e.getMessage().contains("system property goheap.maxprocs=lots"), e.getMessage());
    }

    // ---------------------------------------------------------------- logging

    @Test
    void traceLinesGoToTheLoggerInsteadOfStandardError() {
        RecordingLogger logger = new RecordingLogger();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream realErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1)
                .godebug("gctrace=1,scavtrace=1").traceLogger(logger).build();
             Mutator m = heap.attach()) {
            m.allocate(HeapType.of(MemoryLayout.structLayout(ValueLayout.ADDRESS)));
            m.gc();
            heap.freeOSMemory();
        } finally {
            System.setErr(realErr);
        }
        Pattern gctrace = Pattern.compile("gc 1 @\\d+\\.\\d{3}s \\d+%: .* ms clock, .* MB goal, .* 1 P \\(forced\\)");
        assertTrue(logger.lines().stream().anyMatch(l -> gctrace.matcher(l).matches()), logger.lines().toString());
        assertTrue(logger.lines().stream().anyMatch(l -> l.startsWith("scav ")), logger.lines().toString());
        assertTrue(logger.records.stream().allMatch(r -> r.level() == System.Logger.Level.INFO));
        assertTrue(logger.lines().stream().noneMatch(l -> l.contains("\n") || l.contains("\r")));
        String stderr = err.toString(StandardCharsets.UTF_8);
        assertFalse(stderr.contains("gc 1 @") || stderr.contains("scav "), "nothing on stderr: " + stderr);
    }

    @Test
    void aCleanupThatThrowsIsLoggedAsAWarning() throws Exception {
        Logger jul = Logger.getLogger(Specials.class.getName());
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        CountDownLatch logged = new CountDownLatch(1);
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
                logged.countDown();
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.addHandler(handler);
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).build();
             Mutator m = heap.attach()) {
            long node = m.allocate(HeapType.of(MemoryLayout.structLayout(ValueLayout.ADDRESS)));
            heap.addCleanup(node, () -> {
                throw new IllegalStateException("cleanup failed on purpose");
            });
            m.gc();
            assertTrue(logged.await(10, TimeUnit.SECONDS), "no warning was logged");
        } finally {
            jul.removeHandler(handler);
        }
        LogRecord r = records.get(0);
        assertEquals(java.util.logging.Level.WARNING, r.getLevel());
        assertEquals("cleanup failed on purpose", r.getThrown().getMessage());
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }

    /** A System.Logger that keeps every record. */
    private static final class RecordingLogger implements System.Logger {
        record Entry(Level level, String message) {
        }

        final List<Entry> records = new CopyOnWriteArrayList<>();

        List<String> lines() {
            return records.stream().map(Entry::message).toList();
        }

        @Override
        public String getName() {
            return "recording";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            records.add(new Entry(level, msg));
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            records.add(new Entry(level, params == null || params.length == 0 ? format
                    : java.text.MessageFormat.format(format, params)));
        }

        @Override
        public void log(Level level, Supplier<String> supplier) {
            records.add(new Entry(level, supplier.get()));
        }
    }
}
