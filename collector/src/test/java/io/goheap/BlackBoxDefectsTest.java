package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Defects a black-box pass through {@code io.goheap} found, each pinned by the call sequence that showed it: a freed
 * large object whose span its P keeps answered as live; exhaustion did not take back what Ps keep; {@code free}
 * allocated on the Java heap per call; {@code attach()} after {@code close()} named the wrong problem; a heap as
 * large as one just closed was refused (the closed one's range stays mapped for a grace period).
 */
class BlackBoxDefectsTest {
    private static final long MIB = 1L << 20;

    @Test
    void aFreedLargeObjectKeptByItsPNoLongerAnswersAsLive() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build()) {
            long big = heap.malloc(MIB);
            assertEquals(MIB, heap.usableSize(big));
            heap.free(big);                                  // its span stays with the P, for reuse
            assertThrows(IllegalArgumentException.class, () -> heap.usableSize(big));
            assertThrows(IllegalArgumentException.class, () -> heap.baseOf(big + 8192));
            IllegalStateException again = assertThrows(IllegalStateException.class, () -> heap.free(big + 8192));
            assertTrue(again.getMessage().contains("double free or never allocated"), again.getMessage());
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> heap.free(big));
            assertTrue(twice.getMessage().contains("double free or never allocated"), twice.getMessage());
            long reused = heap.malloc(MIB);                  // and the heap goes on
            assertEquals(MIB, heap.usableSize(reused));
            heap.free(reused);
        }
    }

    @Test
    void exhaustionFirstTakesBackWhatThePsKeep() {
        try (Heap heap = Heap.builder().reservation(64 * MIB).maxProcs(2).build()) {
            long[] blocks = new long[64];
            for (int i = 0; i < 64; i++) {
                blocks[i] = heap.malloc(MIB - 64);
            }
            for (long b : blocks) {
                heap.free(b);
            }
            assertEquals(0, heap.readMemStats().heapObjects());
            long all = heap.malloc(64 * MIB - 8192);        // the reservation, less a page the heap may keep
            heap.free(all);
            try (Mutator m = heap.attach()) {               // the same through a Mutator's own P
                for (int i = 0; i < 64; i++) {
                    blocks[i] = m.malloc(MIB - 64);
                }
                for (long b : blocks) {
                    m.free(b);
                }
                m.free(m.malloc(64 * MIB - 8192));
            }
        }
    }

    @Test
    void freeAllocatesNothingOnTheJavaHeap() throws Exception {
        Object threads = ManagementFactory.getThreadMXBean();    // com.sun.management's, read reflectively
        java.lang.reflect.Method allocatedBytes = Class.forName("com.sun.management.ThreadMXBean")
                .getMethod("getCurrentThreadAllocatedBytes");
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build()) {
            long[] objects = new long[100_000];
            for (int round = 0; round < 5; round++) {       // warm up, then measure the last round
                for (int i = 0; i < objects.length; i++) {
                    objects[i] = heap.malloc(32);
                }
                long before = (long) allocatedBytes.invoke(threads);
                for (long o : objects) {
                    heap.free(o);
                }
                long allocated = (long) allocatedBytes.invoke(threads) - before;
                if (round == 4) {
                    assertTrue(allocated < 64 * 1024, "100,000 frees allocated " + allocated + " bytes of Java heap");
                }
            }
        }
    }

    @Test
    void attachAfterCloseSaysTheHeapIsClosedEvenWithAMutatorOpen() {
        Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build();
        try (Mutator m = heap.attach()) {
            IllegalStateException second = assertThrows(IllegalStateException.class, heap::attach);
            assertTrue(second.getMessage().contains("already has an open Mutator"), second.getMessage());
            heap.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, heap::attach);
            assertEquals("heap is closed", closed.getMessage());
        }
    }

    @Test
    void aHeapAsLargeAsOneJustClosedCanBeBuiltAtOnce() {
        List<Heap> heaps = new ArrayList<>();
        try {
            boolean refused = false;
            while (!refused && heaps.size() < 32) {         // 16 TiB each: the 128 TiB user address space ends
                try {
                    heaps.add(Heap.builder().reservation(Heap.MAX_RESERVATION).maxProcs(1).build());
                } catch (IllegalStateException e) {
                    refused = true;
                }
            }
            Assumptions.assumeTrue(refused && !heaps.isEmpty(), "the address space did not run out");
            heaps.remove(heaps.size() - 1).close();
            heaps.add(Heap.builder().reservation(Heap.MAX_RESERVATION).maxProcs(1).build());   // no refusal
        } finally {
            heaps.forEach(Heap::close);
        }
    }

    @Test
    void addCleanupTakesAnInteriorPointerAsGosAddCleanup() throws Exception {
        HeapType pair = HeapType.of(java.lang.foreign.MemoryLayout.structLayout(
                java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG.withName("field")));
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build(); Mutator m = heap.attach()) {
            long o = m.allocate(pair);
            java.util.concurrent.CountDownLatch ran = new java.util.concurrent.CountDownLatch(1);
            heap.addCleanup(o + 8, ran::countDown);           // a pointer to the object's second field
            m.gc();                                          // the object is unreachable
            assertTrue(ran.await(60, java.util.concurrent.TimeUnit.SECONDS), "the cleanup never ran");
            assertThrows(IllegalArgumentException.class, () -> heap.addCleanup(heap.base() + (512L << 20), () -> { }));
        }
    }
}
