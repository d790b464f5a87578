package io.goheap.pagealloc;

import static io.goheap.pagealloc.AddressSpace.ARENA_BYTES;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The reserved range and its arena-by-arena commitment, on a 256 MiB (four arena) reservation. */
class AddressSpaceTest {

    private static final long RESERVATION = 4 * ARENA_BYTES;

    @Test
    void reservationIsArenaAlignedAndUncommitted() throws IOException {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            assertEquals(0, space.base() % ARENA_BYTES);
            assertEquals(space.base() + RESERVATION, space.limit());
            assertEquals(space.base(), space.committedEnd());
            assertEquals("---p", permissionsAt(space.base()));
            assertEquals("---p", permissionsAt(space.limit() - 4096));
            MemorySegment segment = space.segment();
            assertEquals(space.base(), segment.address());
            assertEquals(RESERVATION, segment.byteSize());
            assertFalse(space.isClosed());
        }
    }

    @Test
    void arenasAreCommittedInAddressOrderUntilTheReservationIsFull() throws IOException {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            long base = space.base();
            assertEquals(base, space.commitArenas(1));
            assertEquals(base + ARENA_BYTES, space.committedEnd());
            assertEquals("rw-p", permissionsAt(base));
            assertEquals("---p", permissionsAt(base + ARENA_BYTES));

            assertEquals(base + ARENA_BYTES, space.commitArenas(ARENA_BYTES + 1)); // rounds up to two arenas
            assertEquals(base + 3 * ARENA_BYTES, space.committedEnd());

            assertEquals(0, space.commitArenas(2 * ARENA_BYTES)); // one arena left: nothing is committed
            assertEquals(0, space.commitArenas(Long.MAX_VALUE)); // no overflow in the rounding
            assertEquals(base + 3 * ARENA_BYTES, space.committedEnd());
            assertEquals("---p", permissionsAt(base + 3 * ARENA_BYTES));

            assertEquals(base + 3 * ARENA_BYTES, space.commitArenas(ARENA_BYTES));
            assertEquals(space.limit(), space.committedEnd());
            assertEquals(0, space.commitArenas(1));
        }
    }

    @Test
    void arenasOfAFailedGrowthGoBackAndAreCommittedAgainNextTime() {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            long base = space.base();
            space.commitArenas(ARENA_BYTES);
            long start = space.commitArenas(2 * ARENA_BYTES);
            space.uncommitArenasFrom(start);
            assertEquals(base + ARENA_BYTES, space.committedEnd());
            assertEquals(start, space.commitArenas(3 * ARENA_BYTES), "the same arenas come back");
            assertEquals(space.limit(), space.committedEnd());
            for (long bad : new long[] {base - ARENA_BYTES, base + 1, space.limit() + ARENA_BYTES}) {
                assertThrows(IllegalArgumentException.class, () -> space.uncommitArenasFrom(bad));
            }
            assertEquals(space.limit(), space.committedEnd(), "a rejected call changes nothing");
        }
    }

    @Test
    void committedArenasAreReadableAndWritableThroughTheSegment() {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            long start = space.commitArenas(2 * ARENA_BYTES);
            MemorySegment heap = space.segment();
            for (long offset = start - space.base(); offset < space.committedEnd() - space.base(); offset += 1 << 20) {
                assertEquals(0, heap.get(JAVA_LONG, offset)); // fresh pages read zero
                heap.set(JAVA_LONG, offset, offset ^ 0x5a5a);
            }
            for (long offset = 0; offset < 2 * ARENA_BYTES; offset += 1 << 20) {
                assertEquals(offset ^ 0x5a5a, heap.get(JAVA_LONG, offset));
            }
        }
    }

    @Test
    void arenaIndexAndContainsFollowTheReservation() {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            long base = space.base();
            assertEquals(0, space.arenaIndex(base));
            assertEquals(0, space.arenaIndex(base + ARENA_BYTES - 1));
            assertEquals(1, space.arenaIndex(base + ARENA_BYTES));
            assertEquals(3, space.arenaIndex(space.limit() - 1));
            assertTrue(space.contains(base));
            assertTrue(space.contains(space.limit() - 1));
            assertFalse(space.contains(base - 1));
            assertFalse(space.contains(space.limit()));
            assertFalse(space.contains(Long.MIN_VALUE));
            for (long outside : new long[] {base - 1, space.limit(), 0, -1, Long.MAX_VALUE}) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> space.arenaIndex(outside));
                assertTrue(e.getMessage().contains("0x" + Long.toHexString(outside)), e.getMessage());
            }
        }
    }

    @Test
    void badReservationSizesAreRejected() {
        for (long bad : new long[] {0, -ARENA_BYTES, ARENA_BYTES - 1, ARENA_BYTES + 4096, 4096}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new AddressSpace(OsMemory.ffm(), bad));
            assertTrue(e.getMessage().contains("reservation " + bad), e.getMessage());
        }
        assertThrows(NullPointerException.class, () -> new AddressSpace(null, RESERVATION));
    }

    @Test
    void nonPositiveCommitRequestsAreRejected() {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            for (long bad : new long[] {0, -1, Long.MIN_VALUE}) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> space.commitArenas(bad));
                assertTrue(e.getMessage().contains("minBytes " + bad), e.getMessage());
            }
            assertEquals(space.base(), space.committedEnd());
        }
    }

    @Test
    void closeRevokesTheSegmentAndUnmapsTheRangeOnce() throws IOException {
        AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION);
        space.commitArenas(1);
        MemorySegment heap = space.segment();
        heap.set(JAVA_LONG, 0, 1);
        space.close();
        assertTrue(space.isClosed());
        assertThrows(IllegalStateException.class, () -> heap.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> heap.set(JAVA_LONG, 8, 2));
        // still mapped for the grace period (a JDK 25 close may let one racing access through: JDK-8364167) ...
        assertEquals("rw-p", permissionsAt(space.base()), "the committed arena stays mapped at first");
        space.close(); // idempotent: no second munmap of a range someone else may own by now
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(AddressSpace.UNMAP_GRACE_MILLIS + 10_000);
        while (permissionsAt(space.base()) != null && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        // ... then unmapped, once
        assertNull(permissionsAt(space.base()));
        assertNull(permissionsAt(space.limit() - 4096));
        assertThrows(IllegalStateException.class, () -> space.commitArenas(1));
    }

    @Test
    void concurrentCommitsGetDistinctArenas() throws Exception {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION);
                ExecutorService pool = Executors.newFixedThreadPool(6)) {
            List<Future<Long>> results = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                results.add(pool.submit(() -> space.commitArenas(ARENA_BYTES)));
            }
            TreeSet<Long> starts = new TreeSet<>();
            int refused = 0;
            for (Future<Long> result : results) {
                long start = result.get();
                if (start == 0) {
                    refused++;
                } else {
                    assertTrue(starts.add(start), "arena 0x" + Long.toHexString(start) + " handed out twice");
                }
            }
            assertEquals(2, refused);
            assertEquals(List.of(space.base(), space.base() + ARENA_BYTES, space.base() + 2 * ARENA_BYTES,
                    space.base() + 3 * ARENA_BYTES), List.copyOf(starts));
            assertEquals(space.limit(), space.committedEnd());
        }
    }

    /**
     * The space's range belongs to the binding object it was reserved with: another object, even a new
     * one of the same binding, can neither commit, decommit, advise, release nor get a segment over it.
     */
    @Test
    void onlyTheSpacesOwnBindingObjectReachesItsRange() throws IOException {
        try (AddressSpace space = new AddressSpace(OsMemory.ffm(), RESERVATION)) {
            long arena = space.commitArenas(1);
            space.segment().set(JAVA_LONG, 0, 99);
            OsMemory stranger = OsMemory.ffm();
            List<org.junit.jupiter.api.function.Executable> calls = List.of(
                    () -> stranger.commit(space.base(), RESERVATION),
                    () -> stranger.decommit(arena, ARENA_BYTES, OsMemory.DecommitMode.HARD),
                    () -> stranger.adviseHugePages(arena, ARENA_BYTES, true),
                    () -> stranger.release(space.base(), RESERVATION),
                    () -> stranger.segment(arena, ARENA_BYTES, java.lang.foreign.Arena.global()));
            for (var call : calls) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
                assertTrue(e.getMessage().contains("is not inside a range this binding reserved"), e.getMessage());
            }
            assertEquals("rw-p", permissionsAt(arena));
            assertEquals(99, space.segment().get(JAVA_LONG, 0));
            // the space's own object may, e.g. the scavenger's decommit
            space.os().decommit(arena, ARENA_BYTES, OsMemory.DecommitMode.DONTNEED);
            assertEquals(0, space.segment().get(JAVA_LONG, 0));
        }
    }

    /** The {@code rwxp} column of the /proc/self/maps line covering {@code address}, or null when unmapped. */
    private static String permissionsAt(long address) throws IOException {
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
