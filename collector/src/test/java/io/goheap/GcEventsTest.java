package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/** goheap's JFR events, recorded with the shipped goheap.jfc and read back with RecordingFile. */
class GcEventsTest {
    @Test
    void eachCycleIsRecordedWithItsPhasesHeapAndCpu() throws Exception {
        Configuration goheap;
        try (var in = Heap.class.getResourceAsStream("goheap.jfc")) {
            goheap = Configuration.create(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8));
        }
        Path file = Files.createTempFile("goheap-", ".jfr");
        try (Recording r = new Recording(goheap)) {
            r.start();
            try (Heap heap = Heap.builder().name("jfr-cycles").reservation(1L << 30).gcPercent(-1).build()) {
                long a = heap.malloc(3 << 20);
                heap.gc();
                heap.free(a);
                heap.gc();
            }
            r.stop();
            r.dump(file);
            List<RecordedEvent> cycles = RecordingFile.readAllEvents(file).stream()
                    .filter(e -> e.getEventType().getName().equals("io.goheap.GcCycle"))
                    .filter(e -> e.getString("heap").equals("jfr-cycles"))
                    .toList();
            assertEquals(2, cycles.size());
            RecordedEvent first = cycles.get(0);
            RecordedEvent second = cycles.get(1);
            assertEquals(1, first.getLong("number"));
            assertEquals(2, second.getLong("number"));
            assertTrue(first.getBoolean("forced"));
            assertFalse(first.getBoolean("stopTheWorld"));
            assertEquals(3 << 20, first.getLong("heapAfter"));
            assertEquals(0, second.getLong("heapAfter"));
            assertTrue(first.getDuration("markTermination").toNanos() > 0);
            assertTrue(first.getDuration("pause").compareTo(first.getDuration("markTermination")) >= 0);
            assertTrue(first.getDuration("cycleDuration").toNanos() >= first.getDuration("markTermination").toNanos());
            assertTrue(first.getDuration("gcCpu").toNanos() > 0);
            assertTrue(first.getLong("nextGoal") > 0);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void aStopTheWorldCycleIsRecordedAsOne() throws Exception {
        Path file = Files.createTempFile("goheap-", ".jfr");
        try (Recording r = new Recording()) {
            r.enable("io.goheap.GcCycle");
            r.start();
            try (Heap heap = Heap.builder().name("jfr-stw").godebug("gcstoptheworld=1").reservation(1L << 30).build()) {
                heap.gc();
            }
            r.stop();
            r.dump(file);
            RecordedEvent e = RecordingFile.readAllEvents(file).stream()
                    .filter(x -> x.getEventType().getName().equals("io.goheap.GcCycle")).findFirst().orElseThrow();
            assertEquals("jfr-stw", e.getString("heap"));
            assertTrue(e.getBoolean("stopTheWorld"));
            assertEquals(0, e.getDuration("markSetup").toNanos());
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
