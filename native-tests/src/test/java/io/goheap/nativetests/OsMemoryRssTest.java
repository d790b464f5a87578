package io.goheap.nativetests;

import static io.goheap.pagealloc.AddressSpace.ARENA_BYTES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory;
import io.goheap.ffi.OsMemory.DecommitMode;
import io.goheap.ffi.ProcessMemory;
import io.goheap.pagealloc.AddressSpace;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the kernel really charges the process for goheap's memory, read from /proc/self/smaps_rollup, for both
 * bindings. This module's tests run in a JVM of their own, apart from the other modules' tests, and every test
 * unmaps what it mapped and measures only around its own actions, so RSS moves with them and the JVM's own small
 * background activity; the tolerances below (±8 MiB on 64 MiB, < 4 MiB for untouched space) absorb the latter.
 *
 * <p>Measured on Linux 6.18 (THP "madvise" mode), the numbers these assertions encode: touching a 64 MiB arena
 * adds 64 MiB of RSS and MADV_DONTNEED takes it back at once; MADV_FREE leaves RSS unchanged and moves the 64 MiB
 * into LazyFree (reclaimed only under memory pressure), and writing a page again takes it out of LazyFree.
 */
class OsMemoryRssTest {

    private static final long MIB = 1L << 20;
    private static final long MIN_ARENA_RSS = 56 * MIB;
    private static final long MAX_ARENA_RSS = 80 * MIB;
    private static final long UNTOUCHED_SLACK = 4 * MIB;

    static Stream<OsMemory> bindings() {
        return Stream.of(OsMemory.ffm(), OsMemory.jnr());
    }

    static Stream<Arguments> bindingsAndReturningModes() {
        return bindings().flatMap(os -> Stream.of(DecommitMode.DONTNEED, DecommitMode.HARD)
                .map(mode -> Arguments.of(os, mode)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bindingsAndReturningModes")
    void touchingAnArenaCostsItsSizeAndDontneedOrHardDecommitGivesItBack(OsMemory os, DecommitMode mode) {
        try (AddressSpace space = new AddressSpace(os, 4 * ARENA_BYTES)) {
            long arena = space.commitArenas(ARENA_BYTES);
            Deltas deltas = touchThenDecommit(os, space.segment(), arena - space.base(), mode);
            assertBetween(MIN_ARENA_RSS, MAX_ARENA_RSS, deltas.rise(), "RSS rise after touching 64 MiB");
            assertTrue(deltas.drop() >= MIN_ARENA_RSS, "RSS drop after " + mode + ": " + mib(deltas.drop()));
            if (mode == DecommitMode.HARD) {
                os.commit(arena, ARENA_BYTES); // accessible again, as the space expects of committed arenas
            }
            assertEquals(0, space.segment().get(ValueLayout.JAVA_LONG, arena - space.base() + 4096),
                    "a page read after " + mode + " is a fresh zero page");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void madvFreeMovesTouchedPagesToLazyFreeWithoutLoweringRss(OsMemory os) {
        try (AddressSpace space = new AddressSpace(os, 4 * ARENA_BYTES)) {
            long arena = space.commitArenas(ARENA_BYTES);
            long offset = arena - space.base();
            MemorySegment heap = space.segment();
            touchEveryPage(heap, offset, ARENA_BYTES, os.pageSize(), (byte) 1);
            ProcessMemory touched = os.processMemory();

            os.decommit(arena, ARENA_BYTES, DecommitMode.FREE);
            ProcessMemory freed = os.processMemory();
            assertBetween(MIN_ARENA_RSS, MAX_ARENA_RSS, freed.lazyFree() - touched.lazyFree(), "LazyFree rise");
            assertTrue(Math.abs(freed.rss() - touched.rss()) < 8 * MIB,
                    "RSS should not move on MADV_FREE: " + mib(touched.rss()) + " -> " + mib(freed.rss()));

            touchEveryPage(heap, offset, ARENA_BYTES, os.pageSize(), (byte) 2); // dirty again: no longer lazily free
            ProcessMemory rewritten = os.processMemory();
            assertTrue(freed.lazyFree() - rewritten.lazyFree() >= MIN_ARENA_RSS,
                    "LazyFree after rewriting: " + mib(freed.lazyFree()) + " -> " + mib(rewritten.lazyFree()));

            os.decommit(arena, ARENA_BYTES, DecommitMode.DONTNEED);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void reservedAndCommittedButUntouchedSpaceCostsNoRss(OsMemory os) {
        long before = os.processMemory().rss();
        try (AddressSpace space = new AddressSpace(os, 64L << 30)) {
            long reserved = os.processMemory().rss();
            assertTrue(reserved - before < UNTOUCHED_SLACK, "RSS after reserving 64 GiB: +" + mib(reserved - before));
            space.commitArenas(4 * ARENA_BYTES);
            long committed = os.processMemory().rss();
            assertTrue(committed - before < UNTOUCHED_SLACK,
                    "RSS after committing 256 MiB untouched: +" + mib(committed - before));
        }
    }

    @Test
    void bothBindingsChargeTheSame() {
        Deltas ffm = measure(OsMemory.ffm());
        Deltas jnr = measure(OsMemory.jnr());
        assertTrue(Math.abs(ffm.rise() - jnr.rise()) < 8 * MIB, "rise ffm " + ffm + " vs jnr " + jnr);
        assertTrue(Math.abs(ffm.drop() - jnr.drop()) < 8 * MIB, "drop ffm " + ffm + " vs jnr " + jnr);
    }

    private static Deltas measure(OsMemory os) {
        long base = os.reserveAligned(ARENA_BYTES, ARENA_BYTES);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            os.commit(base, ARENA_BYTES);
            return touchThenDecommit(os, os.segment(base, ARENA_BYTES, arena), 0, DecommitMode.DONTNEED);
        } finally {
            os.release(base, ARENA_BYTES);
        }
    }

    /** RSS rise from touching 64 MiB at {@code offset} and RSS drop from decommitting it in {@code mode}. */
    private static Deltas touchThenDecommit(OsMemory os, MemorySegment memory, long offset, DecommitMode mode) {
        long start = os.processMemory().rss();
        touchEveryPage(memory, offset, ARENA_BYTES, os.pageSize(), (byte) 1);
        long touched = os.processMemory().rss();
        os.decommit(memory.address() + offset, ARENA_BYTES, mode);
        long decommitted = os.processMemory().rss();
        return new Deltas(touched - start, touched - decommitted);
    }

    private static void touchEveryPage(MemorySegment memory, long offset, long bytes, long pageSize, byte value) {
        for (long at = offset; at < offset + bytes; at += pageSize) {
            memory.set(ValueLayout.JAVA_BYTE, at, value);
        }
    }

    static void assertBetween(long low, long high, long actual, String what) {
        assertTrue(actual >= low && actual <= high,
                what + ": " + mib(actual) + ", expected " + mib(low) + " to " + mib(high));
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / (double) MIB);
    }

    private record Deltas(long rise, long drop) {
        @Override
        public String toString() {
            return "+" + mib(rise) + "/-" + mib(drop);
        }
    }
}
