package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * GOMEMLIMIT with Go's syntax, the GODEBUG keys of the scavenger, Go's memory-limit heap goal and scavenger goals,
 * the GC CPU limiter's bucket and the scavtrace line: the pure parts, with the numbers worked by hand.
 */
class MemoryLimitSettingsTest {
    private static final long MIB = 1L << 20;

    @Test
    void gomemlimitIsReadWithGosUnits() {
        assertEquals(Long.MAX_VALUE, GcSettings.parseMemoryLimit(null));
        assertEquals(Long.MAX_VALUE, GcSettings.parseMemoryLimit(""));
        assertEquals(Long.MAX_VALUE, GcSettings.parseMemoryLimit("off"));
        assertEquals(12345, GcSettings.parseMemoryLimit("12345"));
        assertEquals(10, GcSettings.parseMemoryLimit("10B"));
        assertEquals(3L << 10, GcSettings.parseMemoryLimit("3KiB"));
        assertEquals(512 * MIB, GcSettings.parseMemoryLimit("512MiB"));
        assertEquals(2L << 30, GcSettings.parseMemoryLimit("2GiB"));
        assertEquals(1L << 40, GcSettings.parseMemoryLimit("1TiB"));
        assertEquals(0, GcSettings.parseMemoryLimit("0"));
        assertEquals(512 * MIB, GcSettings.resolve(null, null, Map.of("GOMEMLIMIT", "512MiB")::get).memoryLimit());
        assertEquals(7L, GcSettings.resolve(null, 7L, null, Map.of("GOMEMLIMIT", "bad")::get).memoryLimit(),
                "the builder's value wins (a bad GOMEMLIMIT there is not read)");
    }

    @Test
    void malformedGomemlimitIsAClearErrorNamingTheValue() {
        for (String bad : new String[] {"512MB", "512 MiB", "-1", "1.5GiB", "abc", "MiB", "512mib", "0x10",
                "99999999999999999999", "16777216TiB", "9223372036854775807KiB"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GcSettings.parseMemoryLimit(bad), bad);
            assertTrue(e.getMessage().contains("GOMEMLIMIT=" + bad), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Heap.builder().memoryLimit("lots"));
        assertTrue(e.getMessage().contains("Heap.Builder.memoryLimit=lots"), e.getMessage());   // names its source
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().memoryLimit(-1));
        assertThrows(IllegalArgumentException.class,
                () -> Heap.builder().memoryLimitExit(java.time.Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class, () -> GcSettings.resolve(null, null,
                Map.of("GOMEMLIMIT", "1 GiB")::get), "from the environment too");
    }

    @Test
    void godebugChoosesTheReleaseModeAndScavtrace() {
        assertEquals(DecommitMode.DONTNEED, GcSettings.resolve(null, "", Map.<String, String>of()::get).decommitMode());
        assertEquals(DecommitMode.FREE, GcSettings.resolve(null, "madvdontneed=0", Map.<String, String>of()::get)
                .decommitMode());
        assertEquals(DecommitMode.HARD, GcSettings.resolve(null, "madvdontneed=0,harddecommit=1",
                Map.<String, String>of()::get).decommitMode(), "harddecommit wins, as in Go");
        assertTrue(GcSettings.resolve(null, "scavtrace=1", Map.<String, String>of()::get).scavtrace());
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().godebug("harddecommit=yes"));
    }

    @Test
    void memoryLimitHeapGoalIsGos() {
        // 512 MiB limit; 20 MiB mapped outside objects and free pages; nothing over the limit:
        // 512 - 20 = 492 MiB, less 3% headroom (14.76 MiB) = 477.24 MiB
        long goal = MemoryLimitGoal.of(512 * MIB, 400 * MIB, 80 * MIB, 300 * MIB, 300 * MIB);
        long room = 492 * MIB;
        assertEquals(room - room / 100 * 3, goal);
        // a live heap above what the limit allows: the goal is the live heap (never below it)
        assertEquals(600 * MIB, MemoryLimitGoal.of(512 * MIB, 700 * MIB, 0, 600 * MIB, 600 * MIB));
        // mapped memory over the limit counts against it (free pages not yet released)
        long over = MemoryLimitGoal.of(512 * MIB, 600 * MIB, 300 * MIB, 300 * MIB, 0);
        long left = 512 * MIB - 88 * MIB;
        assertEquals(left - left / 100 * 3, over);
        // tiny limits: at least the 1 MiB headroom is kept
        assertEquals(MIB, MemoryLimitGoal.of(MIB + 10, 0, 0, 0, 0));
        assertEquals(Long.MAX_VALUE, MemoryLimitGoal.of(Long.MAX_VALUE, 1, 1, 1, 1));
    }

    @Test
    void scavengerGoalsAreGos() {
        // heap in use 100 MiB at a goal of 200 MiB; the new goal is 100 MiB: retain 50 MiB + 10%
        assertEquals(55 * MIB, ScavengerPacer.gcPercentGoal(100 * MIB, 100 * MIB, 200 * MIB));
        assertEquals(Long.MAX_VALUE, ScavengerPacer.gcPercentGoal(100 * MIB, Long.MAX_VALUE, 200 * MIB), "GOGC off");
        assertEquals(Long.MAX_VALUE, ScavengerPacer.gcPercentGoal(100 * MIB, 100 * MIB, 0), "before any cycle");
        assertEquals(0, ScavengerPacer.gcPercentGoal(100 * MIB, 100 * MIB, 200 * MIB) % 8192, "whole pages");
        // 95% of a 1000 MiB limit, less 50 MiB outside the heap
        assertEquals(900 * MIB, ScavengerPacer.memoryLimitGoal(1000 * MIB, 50 * MIB));
        assertEquals(Long.MAX_VALUE, ScavengerPacer.memoryLimitGoal(Long.MAX_VALUE, 50 * MIB));
    }

    @Test
    void theCpuLimiterFillsPastHalfAndDrainsBelowIt() {
        long s = 1_000_000_000L;
        GcCpuLimiter l = new GcCpuLimiter(2, 0);             // capacity: 2 s of CPU
        l.account(s, s);                                      // 1 s of wall x 2 Ps: GC 1 s, program 1 s: even
        assertEquals(0.0, l.fill());
        assertTrue(!l.limiting());
        l.account(2 * s, 3 * s / 2);                          // GC 1.5 of 2: +1 s
        assertEquals(0.5, l.fill(), 1e-9);
        assertEquals(0, l.saturatedNanos(2 * s));
        l.account(3 * s, 2 * s);                              // all GC: +2 s overflows: on
        assertTrue(l.limiting());
        assertEquals(1.0, l.fill(), 1e-9);
        assertEquals(1, l.enabledCount());
        assertEquals(2 * s, l.saturatedNanos(5 * s), "saturated since 3 s");
        l.account(4 * s, s);                                  // back to even: stays full and on
        assertTrue(l.limiting());
        l.account(5 * s, s / 2);                              // GC 0.5 of 2: -1 s: off, half full
        assertTrue(!l.limiting());
        assertEquals(0.5, l.fill(), 1e-9);
        assertEquals(0, l.saturatedNanos(5 * s));
        l.account(6 * s, 0);                                  // program only: drains, never below 0
        assertEquals(0.0, l.fill());
        assertTrue(l.due(6 * s + GcCpuLimiter.MIN_WINDOW_NANOS));
        assertTrue(!l.due(6 * s + 1));
    }

    @Test
    void scavtraceLineIsGos() {
        assertEquals("scav 0 KiB work (bg), 7168 KiB work (eager), 32768 KiB now, 11% util (forced)",
                ScavengerPacer.line(0, 7168L << 10, 32 * MIB, 11 * MIB, 100 * MIB, true));
        assertEquals("scav 1024 KiB work (bg), 0 KiB work (eager), 0 KiB now, 0% util",
                ScavengerPacer.line(MIB, 0, 0, 0, 0, false));
    }
}
