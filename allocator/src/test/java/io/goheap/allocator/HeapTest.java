package io.goheap.allocator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HeapTest {
    static final long RESERVATION = 1L << 30;
    Heap heap;
    MemorySegment mem;

    @BeforeEach
    void open() {
        heap = Heap.builder().reservation(RESERVATION).maxProcs(2).build();
        mem = heap.segment();
    }

    @AfterEach
    void close() {
        heap.close();
    }

    long off(long address) {
        return address - heap.base();
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 7, 8, 9, 16, 17, 24, 100, 512, 513, 1024, 1025, 4096, 32760, 32761, 32768, 32769, 65536, 1 << 20, 5_000_000})
    void mallocReturnsZeroedMemoryOfTheRoundedSize(long size) {
        long p = heap.malloc(size);
        assertTrue(p >= heap.base() && p + size <= heap.base() + heap.reservation());
        long usable = heap.usableSize(p);
        assertTrue(usable >= size, "usable " + usable + " < " + size);
        // every object gets its class's size (or whole pages for large ones): no tiny blocks for manual objects
        assertEquals(SizeClasses.roundUpSize(size, true), usable);
        for (long i = 0; i < size; i++) {
            assertEquals(0, mem.get(ValueLayout.JAVA_BYTE, off(p) + i));
        }
        // dirty it, free it, allocate again: the reused memory is zeroed again
        mem.asSlice(off(p), size).fill((byte) 0x5A);
        heap.free(p);
        long q = heap.malloc(size);
        for (long i = 0; i < size; i++) {
            assertEquals(0, mem.get(ValueLayout.JAVA_BYTE, off(q) + i), "byte " + i + " not zeroed on reuse");
        }
        heap.free(q);
        HeapAudit.check(heap);
    }

    @Test
    void largeObjectsGetSpansOfTheirOwnAsGo() {
        // Go: 32761..32768 take the large path with 4 pages; 32769 needs 5.
        long a = heap.malloc(32761);
        assertEquals(32768, heap.usableSize(a));
        long b = heap.malloc(32769);
        assertEquals(5 * 8192, heap.usableSize(b));
        assertEquals(0, (a - heap.base()) % 8192, "large objects start on a page");
        assertEquals(a, heap.baseOf(a + 32000));
        heap.free(a);
        heap.free(b);
        HeapAudit.check(heap);
    }

    @Test
    void scanObjectsAboveFiveTwelveBytesCarryAHeader() {
        // Go: a 520-byte scan object uses class 576 (520 + 8 header), 568 usable bytes.
        long p = heap.mallocScan(520);
        assertEquals(568, heap.usableSize(p));
        assertEquals(0, (p - SizeClasses.MALLOC_HEADER_SIZE - heap.base()) % 8192 % 576, "user address = slot + 8");
        assertEquals(p, heap.baseOf(p + 100));
        assertThrows(IllegalArgumentException.class, () -> heap.baseOf(p - 4), "the header is not part of the object");
        long small = heap.mallocScan(8);
        assertEquals(8, heap.usableSize(small));
        heap.free(p);
        heap.free(small);
        HeapAudit.check(heap);
    }

    @Test
    void objectsNeverOverlapAndKeepTheirContents() {
        List<long[]> objs = new ArrayList<>();
        long seed = 1;
        for (int i = 0; i < 20_000; i++) {
            long size = 16 + (i * 37L) % 3000;
            long p = heap.malloc(size);
            mem.set(ValueLayout.JAVA_LONG, off(p), p ^ seed);
            mem.set(ValueLayout.JAVA_LONG, off(p) + size / 8 * 8 - 8, ~p);
            objs.add(new long[] {p, size});
        }
        Set<Long> starts = new HashSet<>();
        objs.sort((x, y) -> Long.compare(x[0], y[0]));
        for (int i = 0; i < objs.size(); i++) {
            long[] o = objs.get(i);
            assertTrue(starts.add(o[0]));
            if (i + 1 < objs.size()) {
                assertTrue(o[0] + o[1] <= objs.get(i + 1)[0], "overlap at 0x" + Long.toHexString(o[0]));
            }
            assertEquals(o[0] ^ seed, mem.get(ValueLayout.JAVA_LONG, off(o[0])));
            assertEquals(~o[0], mem.get(ValueLayout.JAVA_LONG, off(o[0]) + o[1] / 8 * 8 - 8));
        }
        for (long[] o : objs) {
            heap.free(o[0]);
        }
        HeapAudit.check(heap);
        assertEquals(0, heap.readMemStats().heapObjects());
    }

    @Test
    void theSegmentReadsAndWritesAnywhereInTheReservationWithoutFaulting() {
        assumeTrue(heap.wholeRangeAccessible(), "strict overcommit: the reservation stays PROT_NONE beyond the arenas");
        MemorySegment m = heap.segment();
        assertEquals(heap.reservation(), m.byteSize());
        long last = m.byteSize() - 8;
        assertEquals(0, m.get(ValueLayout.JAVA_LONG, 0), "never handed out, never touched: reads as zero");
        assertEquals(0, m.get(ValueLayout.JAVA_LONG, last));
        m.set(ValueLayout.JAVA_LONG, last, 42L);
        assertEquals(42L, m.get(ValueLayout.JAVA_LONG, last));
        m.set(ValueLayout.JAVA_LONG, last, 0L);
        long p = heap.malloc(64);
        assertEquals(0, m.get(ValueLayout.JAVA_LONG, p - heap.base()));
        heap.free(p);
        HeapAudit.check(heap);
    }

    /**
     * 8 TiB of heap needs ~290 MiB of page-allocator bitmaps on the Java heap (Go's 1/32768): in a JVM
     * given 96 MiB the heap's growth fails part-way and must give back what it took — the committed arenas, the
     * page allocator's new blocks — and say what ran out. Before, the heap stayed grown by the failed growth. Run
     * in a child JVM, because exhausting the Java heap would also starve this JVM's own threads.
     */
    @Test
    void runningOutOfJavaHeapWhileGrowingForAHugeObjectTakesNothing() throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(javaBin, "-Xmx96m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), JavaHeapExhaustion.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.waitFor(), out);
        assertTrue(out.contains("no page stays taken"), out);
    }

    /** The child JVM of {@link #runningOutOfJavaHeapWhileGrowingForAHugeObjectTakesNothing}. */
    static final class JavaHeapExhaustion {
        public static void main(String[] args) {
            try (Heap huge = Heap.builder().reservation(Heap.MAX_RESERVATION).maxProcs(1).build()) {
                long small = huge.malloc(100);
                AllocStats before = huge.readMemStats();
                try {
                    huge.malloc(8L << 40);
                    throw new AssertionError("expected the Java heap to run out");
                } catch (OutOfMemoryError expected) {
                    check(expected.getMessage() != null && expected.getMessage().contains("page allocator"),
                            "the error says what ran out: " + expected);
                }
                AllocStats m = huge.readMemStats();
                check(m.heapSys() == before.heapSys() && m.heapInuse() == before.heapInuse()
                        && m.heapObjects() == 1, "AllocStats after the failure: " + m.compact());
                MHeap h = huge.mheap();
                h.lock.lock();
                try {
                    check(h.space.committedEnd() == h.space.base() + before.heapSys(),
                            "the arenas of the failed growth went back");
                    h.pages.verify();
                } finally {
                    h.lock.unlock();
                }
                long p = huge.malloc(1 << 20);
                check(huge.baseOf(p + 4096) == p, "heap usable afterwards");
                huge.free(p);
                huge.free(small);
                check(huge.readMemStats().heapObjects() == 0, "freed");
                System.out.println("no page stays taken; the heap is usable");
            }
        }

        private static void check(boolean ok, String what) {
            if (!ok) {
                throw new AssertionError(what);
            }
        }
    }

    /**
     * Two threads free the same objects in lock-step, each object alone in its span: exactly one free of each
     * succeeds and the other is reported, also when the first free empties the span and returns it to the heap
     * while the second is under way (before, the second went uncounted-as-failed and HeapObjects went negative).
     */
    @Test
    void racingDoubleFreesOfObjectsAloneInTheirSpansSucceedOnce() throws Exception {
        int k = 1500;
        for (int round = 0; round < 8; round++) {
            long[] addrs = new long[k];
            for (int i = 0; i < k; i++) {
                addrs[i] = heap.malloc(32_000);              // class 32768: one object per span
            }
            heap.freeOSMemory();                             // no span cached: every free is remote
            AtomicLong succeeded = new AtomicLong();
            AtomicIntegerArray step = new AtomicIntegerArray(2);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            Thread[] threads = new Thread[2];
            for (int t = 0; t < 2; t++) {
                int me = t;
                threads[t] = new Thread(() -> {
                    try (Mutator m = heap.attach()) {
                        for (int i = 0; i < k; i++) {
                            step.set(me, i);
                            while (step.get(1 - me) < i) {
                                Thread.onSpinWait();
                            }
                            try {
                                m.free(addrs[i]);
                                succeeded.incrementAndGet();
                            } catch (IllegalStateException | IllegalArgumentException reported) {
                                // the double free, as a double free or as a free where no object is
                            }
                        }
                        step.set(me, k);
                    } catch (Throwable e) {
                        unexpected.set(e);
                    }
                });
            }
            for (Thread th : threads) {
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            assertNull(unexpected.get());
            assertEquals(k, succeeded.get(), "round " + round + ": each object is freed exactly once");
            assertEquals(0, heap.readMemStats().heapObjects());
            HeapAudit.check(heap);
        }
    }

    @Test
    void reservationsBeyond16TiBAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Heap.builder().reservation(Heap.MAX_RESERVATION + io.goheap.pagealloc.AddressSpace.ARENA_BYTES));
        assertTrue(e.getMessage().contains("16 TiB"), e.getMessage());
    }

    @Test
    void badSizesAreRejectedAndTheHeapStaysUsable() {
        assertThrows(IllegalArgumentException.class, () -> heap.malloc(0));
        assertThrows(IllegalArgumentException.class, () -> heap.malloc(-1));
        assertThrows(IllegalArgumentException.class, () -> heap.mallocScan(Long.MIN_VALUE));
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> heap.malloc(RESERVATION + 1));
        assertTrue(big.getMessage().contains(Long.toString(RESERVATION + 1)), big.getMessage());
        long half = heap.malloc(RESERVATION / 2 + 8192);
        OutOfMemoryError oom = assertThrows(OutOfMemoryError.class, () -> heap.malloc(RESERVATION / 2 + 8192));
        assertTrue(oom.getMessage().contains("exhausted"), oom.getMessage());
        heap.free(half);
        long p = heap.malloc(64);
        heap.free(p);
        HeapAudit.check(heap);
    }

    @Test
    void badFreesThrowNamingTheAddressAndChangeNothing() {
        long p = heap.malloc(48);
        long large = heap.malloc(100_000);
        long tiny = heap.malloc(3);
        AllocStats before = heap.readMemStats();

        IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class, () -> heap.free(12345));
        assertTrue(foreign.getMessage().contains("0x3039") && foreign.getMessage().contains("not a heap address"), foreign.getMessage());
        assertThrows(IllegalArgumentException.class, () -> heap.free(0));
        assertThrows(IllegalArgumentException.class, () -> heap.free(-8));
        IllegalArgumentException interior = assertThrows(IllegalArgumentException.class, () -> heap.free(p + 8));
        assertTrue(interior.getMessage().contains(Long.toHexString(p + 8)) && interior.getMessage().contains(Long.toHexString(p)), interior.getMessage());
        assertThrows(IllegalArgumentException.class, () -> heap.free(large + 8192));
        assertThrows(IllegalStateException.class, () -> heap.free(heap.base() + RESERVATION - 8192), "committed-nowhere page");
        assertThrows(IllegalArgumentException.class, () -> heap.free(tiny + 1), "inside a tiny object");

        AllocStats same = heap.readMemStats();
        assertEquals(before.mallocs(), same.mallocs());
        assertEquals(before.frees(), same.frees());
        HeapAudit.check(heap);

        heap.free(p);
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> heap.free(p));
        assertTrue(twice.getMessage().contains("double free") && twice.getMessage().contains(Long.toHexString(p)), twice.getMessage());
        heap.free(large);
        assertThrows(IllegalStateException.class, () -> heap.free(large), "freed large object: its span is gone");
        heap.free(tiny);
        assertThrows(IllegalStateException.class, () -> heap.free(tiny));
        HeapAudit.check(heap);
        long again = heap.malloc(48);
        assertEquals(48, heap.usableSize(again));
        heap.free(again);
    }

    @Test
    void doubleFreeFromAnotherThreadIsCaught() throws Exception {
        long p;
        try (Mutator m = heap.attach()) {
            p = m.malloc(32);
            Thread t = new Thread(() -> heap.free(p));
            t.start();
            t.join();
            assertThrows(IllegalStateException.class, () -> m.free(p));
        }
        assertThrows(IllegalStateException.class, () -> heap.free(p));
        HeapAudit.check(heap);
    }

    @Test
    void usableSizeAndBaseOfValidateTheirArgument() {
        long p = heap.malloc(100);
        assertEquals(112, heap.usableSize(p));
        assertEquals(p, heap.baseOf(p + 111));
        assertThrows(IllegalArgumentException.class, () -> heap.usableSize(p + 1));
        assertThrows(IllegalArgumentException.class, () -> heap.baseOf(p + 112), "the next slot is free");
        assertThrows(IllegalArgumentException.class, () -> heap.baseOf(7));
        heap.free(p);
        assertThrows(IllegalArgumentException.class, () -> heap.usableSize(p));
    }

    @Test
    void aClosedHeapRefusesEverything() {
        long p = heap.malloc(16);
        Mutator m = heap.attach();
        heap.close();
        heap.close();
        assertTrue(heap.isClosed());
        assertThrows(IllegalStateException.class, () -> heap.malloc(16));
        assertThrows(IllegalStateException.class, () -> heap.free(p));
        assertThrows(IllegalStateException.class, () -> heap.readMemStats());
        assertThrows(IllegalStateException.class, () -> heap.segment());
        assertThrows(IllegalStateException.class, () -> m.malloc(16));
        assertThrows(IllegalStateException.class, () -> mem.get(ValueLayout.JAVA_LONG, off(p)), "the segment is closed with the heap");
        m.close();
    }

    @Test
    void freeOSMemoryFirstFlushesIdleCachesSoEmptiedSpansReturn() throws Exception {
        long[] objs = new long[5000];
        Thread owner = new Thread(() -> {
            try (Mutator m = heap.attach()) {
                for (int i = 0; i < objs.length; i++) {
                    objs[i] = m.malloc(48);
                }
            }
        });
        owner.start();
        owner.join();
        for (long p : objs) {
            heap.free(p);              // some land in spans still cached by the (now idle) owner's P
        }
        assertEquals(0, heap.readMemStats().heapObjects());
        heap.freeOSMemory();
        AllocStats m = heap.readMemStats();
        assertEquals(0, m.heapInuse(), "every span went back to the heap once the idle caches were flushed");
        assertEquals(m.heapSys(), m.heapReleased(), "and every page back to the OS");
        HeapAudit.check(heap);
        long again = heap.malloc(48);
        assertEquals(48, heap.usableSize(again));
        heap.free(again);
    }

    @Test
    void freeOSMemoryReleasesFreePages() {
        List<Long> big = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            long p = heap.malloc(256 << 10);
            mem.asSlice(off(p), 256 << 10).fill((byte) 1);
            big.add(p);
        }
        for (long p : big) {
            heap.free(p);
        }
        AllocStats before = heap.readMemStats();
        long released = heap.freeOSMemory();
        AllocStats after = heap.readMemStats();
        assertTrue(released >= 16L << 20, "released " + released);
        assertEquals(before.heapReleased() + released, after.heapReleased());
        assertEquals(after.heapIdle(), after.heapReleased(), "everything idle is released");
        long p = heap.malloc(256 << 10);
        for (long i = 0; i < (256 << 10); i += 4096) {
            assertEquals(0, mem.get(ValueLayout.JAVA_BYTE, off(p) + i));
        }
        heap.free(p);
        HeapAudit.check(heap);
    }
}
