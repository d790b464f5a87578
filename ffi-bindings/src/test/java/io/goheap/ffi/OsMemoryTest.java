package io.goheap.ffi;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory.DecommitMode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One suite, run against both bindings: the reserve → commit → decommit → release life cycle on real memory,
 * argument validation, ownership (a binding object acts only on ranges it reserved), and real kernel failures.
 * Protection changes are checked through /proc/self/maps so the tests never touch a page that would fault.
 * Every test gets fresh binding objects, so no registry is shared between tests.
 */
class OsMemoryTest {

    private static final long PAGE = 4096;
    private static final long MIB = 1L << 20;

    static Stream<OsMemory> bindings() {
        return Stream.of(OsMemory.ffm(), OsMemory.jnr());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void pageSizeIs4096AndNameMatchesBinding(OsMemory os) {
        assertEquals(PAGE, os.pageSize());
        assertTrue(os.name().equals("ffm") || os.name().equals("jnr"), os.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void hugePageSizeIsTheKernelsPowerOfTwoOrZero(OsMemory os) throws IOException {
        Path file = KernelMemoryFiles.HUGE_PAGE_SIZE;
        long expected = Files.isReadable(file) ? Long.parseLong(Files.readString(file).trim()) : 0;
        if (Long.bitCount(expected) != 1) {
            expected = 0;
        }
        assertEquals(expected, os.hugePageSize());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void reservedRangeIsInaccessibleUntilCommitted(OsMemory os) throws IOException {
        long base = os.reserve(MIB);
        try {
            assertEquals(0, base % PAGE);
            assertEquals("---p", permissionsAt(base));
            assertEquals("---p", permissionsAt(base + MIB - PAGE));
            os.commit(base, 64 * 1024);
            assertEquals("rw-p", permissionsAt(base));
            assertEquals("---p", permissionsAt(base + 64 * 1024));
        } finally {
            os.release(base, MIB);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void committedMemoryKeepsWritesAndDontneedZeroesIt(OsMemory os) {
        long base = os.reserve(MIB);
        try (Arena arena = Arena.ofConfined()) {
            os.commit(base, MIB);
            MemorySegment memory = os.segment(base, MIB, arena);
            writePattern(memory);
            assertPattern(memory);
            os.decommit(base, MIB, DecommitMode.DONTNEED);
            assertAllZero(memory);
            writePattern(memory); // still committed: usable at once
            assertPattern(memory);
        } finally {
            os.release(base, MIB);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void freeDecommitLeavesTheRangeWritable(OsMemory os) throws IOException {
        long base = os.reserve(MIB);
        try (Arena arena = Arena.ofConfined()) {
            os.commit(base, MIB);
            MemorySegment memory = os.segment(base, MIB, arena);
            writePattern(memory);
            os.decommit(base, MIB, DecommitMode.FREE);
            // Contents are now undefined (old or zero); the range stays read-write and takes new writes.
            assertEquals("rw-p", permissionsAt(base));
            writePattern(memory);
            assertPattern(memory);
        } finally {
            os.release(base, MIB);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void hardDecommitRevokesAccessAndCommitRestoresZeroedPages(OsMemory os) throws IOException {
        long base = os.reserve(MIB);
        try (Arena arena = Arena.ofConfined()) {
            os.commit(base, MIB);
            MemorySegment memory = os.segment(base, MIB, arena);
            writePattern(memory);
            os.decommit(base, MIB, DecommitMode.HARD);
            assertEquals("---p", permissionsAt(base)); // touching it now would fault, so only look at the mapping
            assertEquals("---p", permissionsAt(base + MIB - PAGE));
            os.commit(base, MIB);
            assertEquals("rw-p", permissionsAt(base));
            assertAllZero(memory);
            writePattern(memory);
            assertPattern(memory);
        } finally {
            os.release(base, MIB);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void releaseUnmapsTheRange(OsMemory os) throws IOException {
        long base = os.reserve(4 * PAGE);
        os.commit(base, 4 * PAGE);
        os.release(base, 4 * PAGE);
        assertNull(permissionsAt(base));
        assertNull(permissionsAt(base + 3 * PAGE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void reserveAlignedReturnsAlignedReservedRanges(OsMemory os) throws IOException {
        for (long alignment : new long[] {PAGE, 64 * 1024, 2 * MIB, 64 * MIB}) {
            long bytes = 3 * PAGE + alignment;
            long base = os.reserveAligned(bytes, alignment);
            try {
                assertEquals(0, base % alignment, () -> "alignment " + alignment + ", base 0x" + Long.toHexString(base));
                assertEquals("---p", permissionsAt(base));
                assertEquals("---p", permissionsAt(base + bytes - PAGE));
                os.commit(base, bytes);
                assertEquals("rw-p", permissionsAt(base + bytes - PAGE));
            } finally {
                os.release(base, bytes);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void hugePageAdviceIsAcceptedOnAReservation(OsMemory os) {
        long base = os.reserveAligned(4 * MIB, 2 * MIB);
        try {
            os.adviseHugePages(base, 4 * MIB, true);
            os.adviseHugePages(base, 4 * MIB, false);
        } finally {
            os.release(base, 4 * MIB);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void processMemoryHasSaneValues(OsMemory os) {
        ProcessMemory memory = os.processMemory();
        assertAll(
                () -> assertTrue(memory.rss() > MIB, "rss " + memory.rss()),
                () -> assertTrue(memory.rss() % 1024 == 0, "rss " + memory.rss()),
                () -> assertTrue(memory.anonymous() > 0, "anonymous " + memory.anonymous()),
                () -> assertTrue(memory.anonymous() <= memory.rss(), memory.toString()),
                () -> assertTrue(memory.lazyFree() >= 0 && memory.lazyFree() <= memory.rss(), memory.toString()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void badArgumentsAreRejectedBeforeAnySystemCall(OsMemory os) {
        long top = Long.MAX_VALUE & -PAGE; // page aligned, so only the overflow is wrong
        record Case(String value, Executable call) {
        }
        List<Case> cases = List.of(
                new Case("length 0", () -> os.reserve(0)),
                new Case("length -4096", () -> os.reserve(-PAGE)),
                new Case("length 4095", () -> os.reserve(PAGE - 1)),
                new Case("length 0", () -> os.reserveAligned(0, PAGE)),
                new Case("alignment 3000", () -> os.reserveAligned(PAGE, 3000)),
                new Case("alignment 2048", () -> os.reserveAligned(PAGE, 2048)),
                new Case("alignment 0", () -> os.reserveAligned(PAGE, 0)),
                new Case("alignment -4096", () -> os.reserveAligned(PAGE, -PAGE)),
                new Case("length " + top, () -> os.reserveAligned(top, PAGE)),
                new Case("address 0x0", () -> os.commit(0, PAGE)),
                new Case("address 0xfffffffffffff000", () -> os.commit(-PAGE, PAGE)),
                new Case("address 0x1001", () -> os.commit(PAGE + 1, PAGE)),
                new Case("length 0", () -> os.commit(PAGE, 0)),
                new Case("length -8192", () -> os.commit(PAGE, -2 * PAGE)),
                new Case("length 100", () -> os.commit(PAGE, 100)),
                new Case("range 0x" + Long.toHexString(top), () -> os.commit(top, 2 * PAGE)),
                new Case("address 0x1800", () -> os.decommit(PAGE + 2048, PAGE, DecommitMode.DONTNEED)),
                new Case("length 12", () -> os.decommit(PAGE, 12, DecommitMode.HARD)),
                new Case("range 0x" + Long.toHexString(top), () -> os.decommit(top, PAGE * 2, DecommitMode.FREE)),
                new Case("address 0x7", () -> os.release(7, PAGE)),
                new Case("length 1", () -> os.release(PAGE, 1)),
                new Case("range 0x" + Long.toHexString(top), () -> os.release(top, Long.MAX_VALUE & -PAGE)),
                new Case("address 0x0", () -> os.adviseHugePages(0, PAGE, true)),
                new Case("length 4097", () -> os.adviseHugePages(PAGE, PAGE + 1, false)));
        for (Case c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c.call(), c.value());
            assertTrue(e.getMessage().contains(c.value()), () -> "'" + e.getMessage() + "' should name " + c.value());
        }
        NullPointerException npe = assertThrows(NullPointerException.class, () -> os.decommit(PAGE, PAGE, null));
        assertEquals("mode", npe.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void kernelRefusalsCarryCallNameAndErrno(OsMemory os) {
        // Address 0x1000 lies below vm.mmap_min_addr, so nothing is ever mapped there: madvise and mprotect on
        // it fail in the kernel with ENOMEM ("addresses ... not mapped"). The public methods refuse an address
        // the binding did not reserve before any system call, so the raw calls (package-private) are used here.
        LinuxOsMemory raw = (LinuxOsMemory) os;
        OsMemoryException madvise = assertThrows(OsMemoryException.class,
                () -> raw.madvise(PAGE, 16 * PAGE, LinuxOsMemory.MADV_DONTNEED));
        assertEquals("madvise", madvise.call());
        assertEquals(12, madvise.errno());
        assertEquals("madvise(0x1000, 65536, MADV_DONTNEED) failed: errno 12 (Cannot allocate memory)",
                madvise.getMessage());

        OsMemoryException mprotect = assertThrows(OsMemoryException.class,
                () -> raw.mprotect(PAGE, PAGE, LinuxOsMemory.PROT_READ_WRITE));
        assertEquals("mprotect", mprotect.call());
        assertEquals(12, mprotect.errno());
        assertEquals("mprotect(0x1000, 4096, PROT_READ|PROT_WRITE) failed: errno 12 (Cannot allocate memory)",
                mprotect.getMessage());

        OsMemoryException hugePage = assertThrows(OsMemoryException.class,
                () -> raw.madvise(PAGE, PAGE, LinuxOsMemory.MADV_HUGEPAGE));
        assertEquals("madvise(0x1000, 4096, MADV_HUGEPAGE) failed: errno 12 (Cannot allocate memory)",
                hugePage.getMessage());

        OsMemoryException munmap = assertThrows(OsMemoryException.class, () -> raw.munmap(PAGE + 1, PAGE));
        assertEquals("munmap(0x1001, 4096) failed: errno 22 (Invalid argument)", munmap.getMessage());

        // 2^62 bytes is more than amd64's user address space (2^47, or 2^56 with 5-level paging).
        OsMemoryException mmap = assertThrows(OsMemoryException.class, () -> os.reserve(1L << 62));
        assertEquals("mmap", mmap.call());
        assertEquals(12, mmap.errno());
        assertEquals("mmap(0x0, 4611686018427387904, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)"
                + " failed: errno 12 (Cannot allocate memory)", mmap.getMessage());
        assertEquals(0, raw.reservationCount(), "a failed mmap registers nothing");
    }

    // ---- ownership: a binding object acts only on the ranges it reserved ----

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void rangesNotReservedByThisObjectAreRefusedBeforeAnySystemCall(OsMemory os) throws IOException {
        OsMemory other = newBindingLike(os);
        long mine = os.reserve(4 * PAGE);
        long theirs = other.reserve(4 * PAGE);
        try {
            other.commit(theirs, 4 * PAGE);
            assertEquals("rw-p", permissionsAt(theirs));
            try (Arena arena = Arena.ofConfined()) {
                other.segment(theirs, 4 * PAGE, arena).set(JAVA_LONG, 0, 42); // the owner may
            }
            record Case(String what, long address, long bytes) {
            }
            List<Case> cases = List.of(
                    new Case("page 1 (below mmap_min_addr)", PAGE, PAGE),
                    new Case("a range reserved by another object", theirs, PAGE),
                    new Case("the tail of another object's range", theirs + 3 * PAGE, PAGE),
                    new Case("a range running past the end of mine", mine + 3 * PAGE, 2 * PAGE),
                    new Case("the page below mine", mine - PAGE, PAGE),
                    new Case("my range and one page below", mine - PAGE, 2 * PAGE));
            for (Case c : cases) {
                String range = "[0x" + Long.toHexString(c.address()) + ", 0x"
                        + Long.toHexString(c.address() + c.bytes()) + ")";
                for (Executable call : everyRangeOperation(os, c.address(), c.bytes())) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, c.what());
                    assertEquals("range " + range + " is not inside a range this binding reserved (" + os.name()
                            + "; ranges reserved through another OsMemory object do not count)", e.getMessage());
                }
            }
            // A crash seen once: a segment over address 16 (read through, it killed the JVM with SIGSEGV).
            IllegalArgumentException low = assertThrows(IllegalArgumentException.class,
                    () -> os.segment(16, 8, Arena.global()));
            assertEquals("address 0x10 is not a multiple of the page size 4096", low.getMessage());
            // Nothing happened to the other object's range: still mapped, read-write, contents kept.
            assertEquals("rw-p", permissionsAt(theirs));
            assertEquals("rw-p", permissionsAt(theirs + 3 * PAGE));
            assertEquals("---p", permissionsAt(mine));
            try (Arena arena = Arena.ofConfined()) {
                assertEquals(42, other.segment(theirs, 4 * PAGE, arena).get(JAVA_LONG, 0));
            }
        } finally {
            other.release(theirs, 4 * PAGE);
            os.release(mine, 4 * PAGE);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void aReleasedRangeIsNoLongerOwned(OsMemory os) throws IOException {
        long base = os.reserveAligned(4 * PAGE, 64 * 1024);
        os.release(base, 4 * PAGE);
        assertNull(permissionsAt(base));
        for (Executable call : everyRangeOperation(os, base, 4 * PAGE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
            assertTrue(e.getMessage().contains("is not inside a range this binding reserved"), e.getMessage());
        }
        assertEquals(0, ((LinuxOsMemory) os).reservationCount());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void partialReleaseKeepsTheRestOwnedAndUsable(OsMemory os) throws IOException {
        long base = os.reserve(8 * PAGE);
        try {
            os.commit(base, 8 * PAGE);
            os.release(base + 2 * PAGE, 2 * PAGE); // a hole in the middle splits the reservation in two
            os.release(base + 7 * PAGE, PAGE); // and the last page
            assertEquals(2, ((LinuxOsMemory) os).reservationCount());
            assertNull(permissionsAt(base + 2 * PAGE));
            assertNull(permissionsAt(base + 7 * PAGE));
            for (long hole : new long[] {base + 2 * PAGE, base + 3 * PAGE, base + 7 * PAGE}) {
                for (Executable call : everyRangeOperation(os, hole, PAGE)) {
                    assertThrows(IllegalArgumentException.class, call, "0x" + Long.toHexString(hole));
                }
            }
            // a range across the hole is refused though both ends are owned
            for (Executable call : everyRangeOperation(os, base + PAGE, 4 * PAGE)) {
                assertThrows(IllegalArgumentException.class, call);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment head = os.segment(base, 2 * PAGE, arena);
                MemorySegment tail = os.segment(base + 4 * PAGE, 3 * PAGE, arena);
                writePattern(head);
                writePattern(tail);
                os.decommit(base + 4 * PAGE, 3 * PAGE, DecommitMode.DONTNEED);
                assertAllZero(tail);
                assertPattern(head);
                os.decommit(base, 2 * PAGE, DecommitMode.HARD);
                assertEquals("---p", permissionsAt(base));
                os.commit(base, 2 * PAGE);
                assertAllZero(head);
                os.adviseHugePages(base + 4 * PAGE, 3 * PAGE, false);
            }
        } finally {
            os.release(base, 2 * PAGE);
            os.release(base + 4 * PAGE, 3 * PAGE);
        }
        assertEquals(0, ((LinuxOsMemory) os).reservationCount());
        assertNull(permissionsAt(base));
        assertNull(permissionsAt(base + 6 * PAGE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void releaseWaitsForTheSegmentsArenaToClose(OsMemory os) throws IOException {
        long base = os.reserve(4 * PAGE);
        os.commit(base, 4 * PAGE);
        Arena arena = Arena.ofShared();
        MemorySegment memory = os.segment(base + PAGE, PAGE, arena);
        memory.set(JAVA_LONG, 0, 7);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> os.release(base, 4 * PAGE));
        assertEquals("range [0x" + Long.toHexString(base) + ", 0x" + Long.toHexString(base + 4 * PAGE)
                + ") is still covered by the segment [0x" + Long.toHexString(base + PAGE) + ", 0x"
                + Long.toHexString(base + 2 * PAGE) + "), whose arena is open; close the arena before releasing",
                e.getMessage());
        assertEquals("rw-p", permissionsAt(base + PAGE)); // nothing was unmapped
        assertEquals(7, memory.get(JAVA_LONG, 0));
        os.release(base + 3 * PAGE, PAGE); // a part the segment does not cover may go
        arena.close();
        os.release(base, 3 * PAGE);
        assertNull(permissionsAt(base + PAGE));
        assertThrows(IllegalStateException.class, () -> memory.get(JAVA_LONG, 0));
        long again = os.reserve(PAGE);
        try {
            assertThrows(IllegalStateException.class, () -> os.segment(again, PAGE, arena), "closed arena");
        } finally {
            os.release(again, PAGE); // the refused segment left no lease behind
        }
    }

    /** Every public operation that takes a range, as calls on {@code [address, address + bytes)}. */
    private static List<Executable> everyRangeOperation(OsMemory os, long address, long bytes) {
        return List.of(
                () -> os.commit(address, bytes),
                () -> os.decommit(address, bytes, DecommitMode.DONTNEED),
                () -> os.decommit(address, bytes, DecommitMode.FREE),
                () -> os.decommit(address, bytes, DecommitMode.HARD),
                () -> os.release(address, bytes),
                () -> os.adviseHugePages(address, bytes, true),
                () -> os.segment(address, bytes, Arena.global()));
    }

    private static OsMemory newBindingLike(OsMemory os) {
        return os.name().equals("ffm") ? OsMemory.ffm() : OsMemory.jnr();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void segmentAccessAfterItsArenaClosesThrows(OsMemory os) {
        long base = os.reserve(PAGE);
        try {
            os.commit(base, PAGE);
            Arena arena = Arena.ofShared();
            MemorySegment memory = os.segment(base, PAGE, arena);
            assertEquals(base, memory.address());
            assertEquals(PAGE, memory.byteSize());
            memory.set(JAVA_LONG, 0, 42);
            arena.close();
            assertThrows(IllegalStateException.class, () -> memory.get(JAVA_LONG, 0));
        } finally {
            os.release(base, PAGE);
        }
    }

    private static void writePattern(MemorySegment memory) {
        for (long offset = 0; offset < memory.byteSize(); offset += PAGE / 2) {
            memory.set(JAVA_LONG, offset, offset * 31 + 7);
        }
    }

    private static void assertPattern(MemorySegment memory) {
        for (long offset = 0; offset < memory.byteSize(); offset += PAGE / 2) {
            assertEquals(offset * 31 + 7, memory.get(JAVA_LONG, offset), "offset " + offset);
        }
    }

    private static void assertAllZero(MemorySegment memory) {
        for (long offset = 0; offset < memory.byteSize(); offset += Long.BYTES) {
            long value = memory.get(JAVA_LONG, offset);
            if (value != 0) {
                assertEquals(0, value, "offset " + offset);
            }
        }
    }

    /** The {@code rwxp} column of the /proc/self/maps line covering {@code address}, or null when unmapped. */
    static String permissionsAt(long address) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
            long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            if (Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0) {
                return line.substring(space + 1, space + 5);
            }
        }
        return null;
    }
}
