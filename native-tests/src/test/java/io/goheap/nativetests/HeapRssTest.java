package io.goheap.nativetests;

import static io.goheap.nativetests.OsMemoryRssTest.assertBetween;
import static io.goheap.nativetests.OsMemoryRssTest.mib;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.DecommitMode;
import io.goheap.Heap;
import io.goheap.MemStats;
import io.goheap.ffi.OsMemory;
import io.goheap.ffi.ProcessMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Go's physical-memory-utilization check (TestPhysicalMemoryUtilization, testprog GCPhys) through the whole heap,
 * with explicit frees standing in for Go's collection: allocate 64 MiB in 64 KiB objects and touch them, free every
 * other one, call {@link Heap#freeOSMemory()}. The holes must go back to the OS, as the kernel sees it (RSS for
 * MADV_DONTNEED, LazyFree for MADV_FREE) and as MemStats reports it: {@code HeapSys − HeapReleased} may exceed the
 * live bytes by no more than Go's bound, 10% plus one OS page per 64 KiB object. Like {@link OsMemoryRssTest}, each
 * case closes (unmaps) its heap and measures only around its own actions.
 */
class HeapRssTest {

    private static final long MIB = 1L << 20;
    private static final int CHUNK = 64 << 10;
    private static final int CHUNKS = (64 << 20) / CHUNK;
    private static final long HOLES = (long) CHUNK * (CHUNKS / 2);
    /**
     * What the rest of the JVM may add to RSS, or take from it, between the two readings (JIT, GC, class loading
     * on a shared 2-core machine): seen up to 2.5 MiB; the holes are 32 MiB.
     */
    private static final long NOISE = 6 * MIB;

    static Stream<Arguments> bindingsAndModes() {
        return OsMemoryRssTest.bindings().flatMap(os -> Stream.of(DecommitMode.DONTNEED, DecommitMode.FREE)
                .map(mode -> Arguments.of(os, mode)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bindingsAndModes")
    void freedHolesGoBackToTheOs(OsMemory os, DecommitMode mode) {
        try (Heap heap = Heap.builder().binding(os.name()).decommitMode(mode).reservation(1L << 30).build()) {
            MemorySegment memory = heap.segment();
            long base = heap.base();
            long[] chunks = new long[CHUNKS];
            for (int i = 0; i < CHUNKS; i++) {
                chunks[i] = heap.malloc(CHUNK);
                for (long at = 0; at < CHUNK; at += os.pageSize()) {
                    memory.set(ValueLayout.JAVA_BYTE, chunks[i] - base + at, (byte) (i | 1));
                }
            }
            // the heap's own mappings only (/proc/self/smaps): the JVM's footprint moves by megabytes meanwhile
            long[] touched = rangeMemory(base, base + heap.reservation());
            for (int i = 1; i < CHUNKS; i += 2) {
                heap.free(chunks[i]);
            }
            long released = heap.freeOSMemory();
            long[] after = rangeMemory(base, base + heap.reservation());

            assertTrue(released >= HOLES, "freeOSMemory released " + mib(released) + ", holes are " + mib(HOLES));
            long rssDrop = touched[0] - after[0];
            long lazyRise = after[1] - touched[1];
            if (mode == DecommitMode.DONTNEED) {
                assertBetween(HOLES - NOISE, HOLES + NOISE, rssDrop, "RSS drop after freeOSMemory");
            } else {
                assertBetween(HOLES - NOISE, HOLES + NOISE, lazyRise, "LazyFree rise after freeOSMemory");
            }

            MemStats m = heap.readMemStats();
            assertEquals(HOLES, m.heapAlloc(), "live bytes: the kept half");
            long retained = m.heapSys() - m.heapReleased();
            double overuse = (retained - m.heapAlloc()) / (double) m.heapAlloc();
            double threshold = 0.1 + os.pageSize() / (double) CHUNK;
            assertTrue(overuse <= threshold, "retained " + mib(retained) + " for " + mib(m.heapAlloc())
                    + " live: overuse " + overuse + " > " + threshold);

            for (int i = 0; i < CHUNKS; i += 2) {
                for (long at = 0; at < CHUNK; at += os.pageSize()) {
                    assertEquals((byte) (i | 1), memory.get(ValueLayout.JAVA_BYTE, chunks[i] - base + at),
                            "kept object " + i + " lost its contents at +" + at);
                }
                heap.free(chunks[i]);
            }
            long again = heap.malloc(CHUNK);
            assertEquals(0, memory.get(ValueLayout.JAVA_LONG, again - base + CHUNK / 2), "reused memory is zeroed");
            heap.free(again);
        }
    }

    /**
     * Reusing the pages of a freed large object once zeroed them by writing, which touched every page: a 1 GiB
     * object the caller never touched raised RSS by 1 GiB when its pages were reused (a 16 TiB one got the process
     * killed). Now large objects are zeroed by MADV_DONTNEED, which touches nothing, and still read as zero.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.goheap.nativetests.OsMemoryRssTest#bindings")
    void reusingAFreedHugeObjectsPagesDoesNotTouchThem(OsMemory os) {
        long size = 1L << 30;
        try (Heap heap = Heap.builder().binding(os.name()).reservation(4L << 30).maxProcs(1).build()) {
            MemorySegment memory = heap.segment();
            long p = heap.malloc(size);
            for (long at = 0; at < size; at += 64L << 20) {       // dirty one page per 64 MiB
                memory.set(ValueLayout.JAVA_LONG, p - heap.base() + at, 7L);
            }
            heap.free(p);
            ProcessMemory before = os.processMemory();
            long q = heap.malloc(size);
            ProcessMemory after = os.processMemory();
            assertEquals(p, q, "the same pages come back");
            assertTrue(after.rss() - before.rss() < NOISE, "RSS rose by " + mib(after.rss() - before.rss())
                    + " when a 1 GiB object was reused untouched");
            for (long at = 0; at < size; at += 64L << 20) {
                assertEquals(0L, memory.get(ValueLayout.JAVA_LONG, q - heap.base() + at), "reused object zeroed");
            }
            heap.free(q);
        }
    }

    /** {Rss, LazyFree} in bytes of the mappings inside {@code [from, to)}, from /proc/self/smaps. */
    static long[] rangeMemory(long from, long to) {
        long rss = 0;
        long lazy = 0;
        boolean inside = false;
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/smaps"))) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                    long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    inside = start >= from && end <= to;
                } else if (inside && line.startsWith("Rss:")) {
                    rss += kib(line);
                } else if (inside && line.startsWith("LazyFree:")) {
                    lazy += kib(line);
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new long[] {rss, lazy};
    }

    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }
}
