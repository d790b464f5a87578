package io.goheap.pagealloc;

import static io.goheap.pagealloc.AddressSpace.ARENA_BYTES;
import static io.goheap.pagealloc.ArenaIndex.PAGE_BYTES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Page → value lookups over a 256 MiB reservation whose first two arenas are committed. */
class ArenaIndexTest {

    private static final long ARENA_ARRAY_BYTES = 16 + 8192 * 4;

    private AddressSpace space;
    private ArenaIndex<String> index;
    private long base;

    @BeforeEach
    void setUp() {
        space = new AddressSpace(OsMemory.ffm(), 4 * ARENA_BYTES);
        space.commitArenas(2 * ARENA_BYTES);
        index = new ArenaIndex<>(space);
        base = space.base();
    }

    @AfterEach
    void tearDown() {
        space.close();
    }

    @Test
    void constantsAreGosRuntimePageGeometry() {
        assertEquals(13, ArenaIndex.PAGE_SHIFT);
        assertEquals(8192, PAGE_BYTES);
        assertEquals(8192, ArenaIndex.PAGES_PER_ARENA);
    }

    @Test
    void getNeverThrowsAndIsNullWhereNothingWasSet() {
        long[] addresses = {base, base + 1, base + ARENA_BYTES, space.committedEnd(), space.limit() - 1,
            space.limit(), base - 1, 0, -1, Long.MIN_VALUE, Long.MAX_VALUE, base + Long.MIN_VALUE};
        for (long address : addresses) {
            assertNull(index.get(address), () -> "0x" + Long.toHexString(address));
        }
    }

    @Test
    void setMapsEveryByteOfEveryPageOfTheRun() {
        long span = base + 10 * PAGE_BYTES;
        index.set(span, 3, "span");
        assertNull(index.get(span - 1));
        assertEquals("span", index.get(span));
        assertEquals("span", index.get(span + PAGE_BYTES + 123)); // interior pointer
        assertEquals("span", index.get(span + 3 * PAGE_BYTES - 1));
        assertNull(index.get(span + 3 * PAGE_BYTES));
    }

    @Test
    void runsMayCrossAnArenaBoundary() {
        long span = base + ARENA_BYTES - 2 * PAGE_BYTES;
        index.set(span, 5, "large");
        for (long page = 0; page < 5; page++) {
            assertEquals("large", index.get(span + page * PAGE_BYTES), "page " + page);
        }
        assertNull(index.get(span + 5 * PAGE_BYTES));
        index.clear(span, 5);
        for (long page = 0; page < 5; page++) {
            assertNull(index.get(span + page * PAGE_BYTES), "page " + page);
        }
    }

    @Test
    void clearUnsetsOnlyTheGivenPages() {
        index.set(base, 4, "a");
        index.set(base + 4 * PAGE_BYTES, 4, "b");
        index.clear(base + 2 * PAGE_BYTES, 4);
        assertEquals("a", index.get(base + PAGE_BYTES));
        assertNull(index.get(base + 2 * PAGE_BYTES));
        assertNull(index.get(base + 5 * PAGE_BYTES));
        assertEquals("b", index.get(base + 6 * PAGE_BYTES));
        index.set(base + 2 * PAGE_BYTES, 1, "c"); // reuse after clear
        assertEquals("c", index.get(base + 2 * PAGE_BYTES));
    }

    @Test
    void wholeCommittedRangeCanBeMapped() {
        long pages = (space.committedEnd() - base) / PAGE_BYTES;
        index.set(base, pages, "all");
        assertEquals("all", index.get(base));
        assertEquals("all", index.get(space.committedEnd() - 1));
        assertNull(index.get(space.committedEnd()));
    }

    @Test
    void metadataGrowsByOneArrayPerArenaFirstSet() {
        long empty = index.metadataBytes();
        assertEquals(2 * (16 + 4 * 4), empty); // the tables of four arena slots (page arrays, whole values)
        index.clear(base, 8); // clearing an arena never set allocates nothing
        assertEquals(empty, index.metadataBytes());
        index.set(base, 1, "x");
        assertEquals(empty + ARENA_ARRAY_BYTES, index.metadataBytes());
        index.set(base + PAGE_BYTES, 1, "y"); // same arena
        assertEquals(empty + ARENA_ARRAY_BYTES, index.metadataBytes());
        index.set(base + ARENA_BYTES, 1, "z");
        assertEquals(empty + 2 * ARENA_ARRAY_BYTES, index.metadataBytes());
    }

    @Test
    void wholeArenasCostNoPageArrayAndAPartialClearKeepsIt() {
        space.commitArenas(ARENA_BYTES);                        // a third arena
        long empty = index.metadataBytes();
        index.set(base + 5 * PAGE_BYTES, 1, "early");           // the first arena gets a page array ...
        index.set(base, 2 * ArenaIndex.PAGES_PER_ARENA, "huge");  // ... which a whole-arena set drops again
        index.set(base + 2 * ARENA_BYTES, 3, "small");
        assertEquals(empty + ARENA_ARRAY_BYTES, index.metadataBytes(), "only the partly set arena has a page array");
        assertEquals("huge", index.get(base + 5 * PAGE_BYTES));
        assertEquals("huge", index.get(base + 2 * ARENA_BYTES - 1));
        index.clear(base + 2 * ARENA_BYTES, 1);                 // partial: the arena keeps its array
        assertEquals(empty + ARENA_ARRAY_BYTES, index.metadataBytes());
        assertEquals("small", index.get(base + 2 * ARENA_BYTES + PAGE_BYTES));
        index.clear(base, 2 * ArenaIndex.PAGES_PER_ARENA);
        assertEquals(empty + ARENA_ARRAY_BYTES, index.metadataBytes());
        assertNull(index.get(base));
        assertNull(index.get(base + ARENA_BYTES + 5 * PAGE_BYTES));
        index.set(base + 7 * PAGE_BYTES, 1, "again");            // and an arena can be set again later
        assertEquals("again", index.get(base + 7 * PAGE_BYTES));
        assertEquals(empty + 2 * ARENA_ARRAY_BYTES, index.metadataBytes());
    }

    @Test
    void aPartialSetOrClearOfAWholeArenaKeepsItsOtherPages() {
        index.set(base, ArenaIndex.PAGES_PER_ARENA, "whole");
        index.clear(base + 3 * PAGE_BYTES, 2);
        assertNull(index.get(base + 3 * PAGE_BYTES));
        assertNull(index.get(base + 4 * PAGE_BYTES));
        assertEquals("whole", index.get(base + 2 * PAGE_BYTES));
        assertEquals("whole", index.get(base + 5 * PAGE_BYTES));
        assertEquals("whole", index.get(base + ARENA_BYTES - 1));
        index.set(base + 3 * PAGE_BYTES, 1, "other");
        assertEquals("other", index.get(base + 3 * PAGE_BYTES));
    }

    /** One huge object once cost a reference per 8 KiB page (4 GiB of Java heap for 8 TiB). */
    @Test
    void aHugeRangeCostsTwoPageArraysAtMost() {
        space.commitArenas(2 * ARENA_BYTES);                     // four arenas in all
        long empty = index.metadataBytes();
        long start = base + ARENA_BYTES - 2 * PAGE_BYTES;       // from the end of arena 0 into arena 3
        long npages = 2 + 2L * ArenaIndex.PAGES_PER_ARENA + 7;
        index.set(start, npages, "huge");
        assertEquals(empty + 2 * ARENA_ARRAY_BYTES, index.metadataBytes());
        for (long p = start; p < start + npages * PAGE_BYTES; p += PAGE_BYTES * 97) {
            assertEquals("huge", index.get(p));
        }
        assertNull(index.get(start - 1));
        assertNull(index.get(start + npages * PAGE_BYTES));
        index.clear(start, npages);
        assertNull(index.get(start + ARENA_BYTES));
        assertEquals(empty + 2 * ARENA_ARRAY_BYTES, index.metadataBytes(), "partly cleared end arenas keep arrays");
    }

    @Test
    void badArgumentsAreRejected() {
        long committedEnd = space.committedEnd();
        record Case(String named, Runnable call) {
        }
        Case[] cases = {
            new Case("address 0x" + Long.toHexString(base + 1), () -> index.set(base + 1, 1, "v")),
            new Case("address 0x" + Long.toHexString(base + 4096), () -> index.clear(base + 4096, 1)),
            new Case("npages 0", () -> index.set(base, 0, "v")),
            new Case("npages -3", () -> index.clear(base, -3)),
            new Case("[0x" + Long.toHexString(base - PAGE_BYTES), () -> index.set(base - PAGE_BYTES, 1, "v")),
            new Case("[0x" + Long.toHexString(committedEnd), () -> index.set(committedEnd, 1, "v")),
            new Case("[0x" + Long.toHexString(space.limit()), () -> index.clear(space.limit(), 1)),
            new Case("+2 pages", () -> index.set(committedEnd - PAGE_BYTES, 2, "v")),
            new Case("+" + Long.MAX_VALUE + " pages", () -> index.set(base, Long.MAX_VALUE, "v")),
            new Case("[0x0", () -> index.clear(0, 1)),
        };
        for (Case c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c.call()::run, c.named());
            assertTrue(e.getMessage().contains(c.named()), () -> "'" + e.getMessage() + "' should name " + c.named());
        }
        assertThrows(NullPointerException.class, () -> index.set(base, 1, null));
        assertNull(index.get(base)); // nothing was half-done
        assertThrows(NullPointerException.class, () -> new ArenaIndex<String>(null));
    }

    @Test
    void lockFreeReadersSeeOnlyNullOrAWrittenValue() throws InterruptedException {
        Set<String> written = Set.of("s0", "s1", "s2", "s3");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Object> unexpected = new AtomicReference<>();
        long committedBytes = space.committedEnd() - base;
        Thread reader = new Thread(() -> {
            SplittableRandom random = new SplittableRandom(1);
            while (!stop.get()) {
                long address = base - ARENA_BYTES + random.nextLong(committedBytes + 2 * ARENA_BYTES);
                try {
                    String value = index.get(address);
                    if (value != null && !written.contains(value)) {
                        unexpected.set(value);
                    }
                } catch (RuntimeException e) {
                    unexpected.set(e);
                }
            }
        });
        reader.start();
        SplittableRandom random = new SplittableRandom(2);
        long pages = committedBytes / PAGE_BYTES;
        for (int i = 0; i < 20_000; i++) {
            long first = random.nextLong(pages);
            long npages = 1 + random.nextLong(Math.min(64, pages - first));
            long address = base + first * PAGE_BYTES;
            synchronized (this) { // stands in for the heap lock
                if ((i & 1) == 0) {
                    index.set(address, npages, "s" + (i & 3));
                } else {
                    index.clear(address, npages);
                }
            }
        }
        stop.set(true);
        reader.join();
        assertNull(unexpected.get());
    }

    @Test
    void preparedPagesAreSetWithoutTheLockAndUnpreparedOnesAreRefused() {
        long window = base + ARENA_BYTES + 64 * PAGE_BYTES;
        IllegalStateException notPrepared = assertThrows(IllegalStateException.class,
                () -> index.setPrepared(window, 4, "cached"));
        assertTrue(notPrepared.getMessage().contains("not prepared"), notPrepared.getMessage());
        long before = index.metadataBytes();
        index.prepare(window, 64);
        assertEquals(before + ARENA_ARRAY_BYTES, index.metadataBytes(), "one page array for the arena");
        index.prepare(window, 64);
        assertEquals(before + ARENA_ARRAY_BYTES, index.metadataBytes(), "prepared once");
        index.setPrepared(window + 8 * PAGE_BYTES, 4, "cached");
        for (int p = 0; p < 64; p++) {
            String want = p >= 8 && p < 12 ? "cached" : null;
            assertEquals(want, index.get(window + p * PAGE_BYTES), "page " + p);
        }
        index.clear(window + 8 * PAGE_BYTES, 4);
        assertNull(index.get(window + 8 * PAGE_BYTES));
        IllegalArgumentException across = assertThrows(IllegalArgumentException.class,
                () -> index.prepare(base + ARENA_BYTES - PAGE_BYTES, 2));
        assertTrue(across.getMessage().contains("cross an arena boundary"), across.getMessage());
    }

    @Test
    void preparingAWholeArenaKeepsItsValueOnEveryPage() {
        index.set(base, ARENA_BYTES / PAGE_BYTES, "huge");
        index.prepare(base + 128 * PAGE_BYTES, 64);
        assertEquals("huge", index.get(base), "the whole value copied into the new page array");
        assertEquals("huge", index.get(base + ARENA_BYTES - 1));
    }
}
