package io.goheap.allocator;

import io.goheap.ffi.OsMemory;
import io.goheap.ffi.OsMemory.DecommitMode;
import io.goheap.ffi.ProcessMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Memory returned to the OS in each decommit mode is usable, zeroed, when the heap hands it out again — also
 * after a hard decommit, which leaves the pages PROT_NONE until the heap commits them again (Go's
 * {@code sysUsed}); and a failing re-commit throws, leaves the heap consistent and the pages released.
 */
class DecommitModeTest {
    private static final int SMALL = 4000;

    @ParameterizedTest
    @EnumSource(DecommitMode.class)
    void releasedMemoryComesBackZeroedAndWritable(DecommitMode mode) {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).decommitMode(mode).build()) {
            for (int round = 0; round < 3; round++) {
                List<long[]> objs = new ArrayList<>();
                for (int i = 0; i < SMALL; i++) {
                    objs.add(new long[] {heap.malloc(64), 64});
                }
                for (long size : new long[] {40_000, 1 << 20, 3 << 20}) {
                    objs.add(new long[] {heap.malloc(size), size});
                }
                for (long[] o : objs) {
                    assertZeroed(heap, o[0], o[1]);
                    heap.segment().asSlice(o[0] - heap.base(), o[1]).fill((byte) 0xAB);
                }
                for (long[] o : objs) {
                    heap.free(o[0]);
                }
                assertTrue(heap.freeOSMemory() > 0);
                AllocStats m = heap.readMemStats();
                assertEquals(m.heapSys(), m.heapReleased(), mode + ": everything released");
                HeapAudit.check(heap);
            }
        }
    }

    @Test
    void aFailedRecommitThrowsAndLeavesThePagesReleased() {
        FailingCommits os = new FailingCommits(OsMemory.system());
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).os(os).decommitMode(DecommitMode.HARD).build()) {
            long big = heap.malloc(1 << 20);
            long small = heap.malloc(64);
            heap.free(big);
            heap.free(small);
            heap.freeOSMemory();
            AllocStats released = heap.readMemStats();
            assertEquals(released.heapSys(), released.heapReleased());

            os.failing = true;
            IllegalStateException large = assertThrows(IllegalStateException.class, () -> heap.malloc(1 << 20));
            assertEquals("injected commit failure", large.getMessage());
            IllegalStateException span = assertThrows(IllegalStateException.class, () -> heap.malloc(64));
            assertEquals("injected commit failure", span.getMessage());
            AllocStats after = heap.readMemStats();
            assertEquals(0, after.heapObjects());
            assertEquals(after.heapSys(), after.heapReleased(), "the pages went back as released");
            HeapAudit.check(heap);

            os.failing = false;
            long again = heap.malloc(1 << 20);
            long a = heap.malloc(64);
            assertZeroed(heap, again, 1 << 20);
            assertZeroed(heap, a, 64);
            heap.segment().set(ValueLayout.JAVA_LONG, again - heap.base(), 7L);
            heap.segment().set(ValueLayout.JAVA_LONG, a - heap.base(), 7L);
            heap.free(again);
            heap.free(a);
            HeapAudit.check(heap);
        }
    }

    /**
     * Closing a heap while another thread allocates, frees and returns memory to the OS must not let a system
     * call reach the unmapped range (which someone else may map next): that thread only ever sees
     * IllegalStateException, and the JVM survives. Hard decommit rounds exercise the re-commit path as well.
     */
    @Test
    void closeRacingAllocationAndReleaseIsSafe() throws Exception {
        for (int round = 0; round < 24; round++) {
            DecommitMode mode = round % 2 == 0 ? DecommitMode.HARD : DecommitMode.DONTNEED;
            Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).decommitMode(mode).build();
            CountDownLatch running = new CountDownLatch(1);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            Thread worker = new Thread(() -> {
                try {
                    for (int i = 0; ; i++) {
                        long big = heap.malloc(1 << 20);
                        long small = heap.malloc(64);
                        heap.free(big);
                        heap.free(small);
                        heap.freeOSMemory();
                        if (i == 3) {
                            running.countDown();
                        }
                    }
                } catch (IllegalStateException expected) {
                    // the heap was closed under it: "heap is closed", or a closed segment
                } catch (Throwable t) {
                    unexpected.set(t);
                } finally {
                    running.countDown();
                }
            });
            worker.start();
            running.await();
            Thread.sleep(round % 4);
            heap.close();
            worker.join();
            int r = round;
            assertNull(unexpected.get(), () -> "round " + r + ": " + unexpected.get());
            assertTrue(heap.isClosed());
        }
    }

    private static void assertZeroed(Heap heap, long address, long size) {
        MemorySegment m = heap.segment();
        for (long off = 0; off < size; off += size <= 4096 ? 8 : 4096) {
            assertEquals(0, m.get(ValueLayout.JAVA_LONG, address - heap.base() + off), "not zeroed at +" + off);
        }
        assertEquals(0, m.get(ValueLayout.JAVA_LONG, address - heap.base() + size - 8));
    }

    /** The system binding, with commits that fail on demand. */
    private static final class FailingCommits implements OsMemory {
        private final OsMemory os;
        volatile boolean failing;

        FailingCommits(OsMemory os) {
            this.os = os;
        }

        @Override
        public String name() {
            return os.name() + "+failing-commits";
        }

        @Override
        public long pageSize() {
            return os.pageSize();
        }

        @Override
        public long hugePageSize() {
            return os.hugePageSize();
        }

        @Override
        public long reserve(long bytes) {
            return os.reserve(bytes);
        }

        @Override
        public long reserveAligned(long bytes, long alignment) {
            return os.reserveAligned(bytes, alignment);
        }

        @Override
        public void commit(long address, long bytes) {
            if (failing) {
                throw new IllegalStateException("injected commit failure");
            }
            os.commit(address, bytes);
        }

        @Override
        public void decommit(long address, long bytes, DecommitMode mode) {
            os.decommit(address, bytes, mode);
        }

        @Override
        public void release(long address, long bytes) {
            os.release(address, bytes);
        }

        @Override
        public void adviseHugePages(long address, long bytes, boolean enable) {
            os.adviseHugePages(address, bytes, enable);
        }

        @Override
        public ProcessMemory processMemory() {
            return os.processMemory();
        }

        @Override
        public java.lang.foreign.MemorySegment segment(long address, long bytes, java.lang.foreign.Arena arena) {
            return os.segment(address, bytes, arena);
        }
    }
}
