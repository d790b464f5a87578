package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The public heap's lifetime: close, and the safety net for heaps dropped without it. */
class HeapLifetimeTest {

    @Test
    void aHeapDroppedWithoutCloseIsClosedWhenUnreachable() throws Exception {
        Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build();
        heap.malloc(64);
        io.goheap.allocator.Heap inner = heap.allocator;
        WeakReference<Heap> ref = new WeakReference<>(heap);
        heap = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!inner.isClosed()) {
            assertTrue(System.nanoTime() < deadline, "a dropped heap was never closed");
            System.gc();
            Thread.sleep(10);
        }
        assertEquals(null, ref.get());
        assertThrows(IllegalStateException.class, () -> inner.malloc(8), "heap is closed");
    }

    @Test
    void closeIsIdempotentAndEveryLaterCallSaysHeapIsClosed() {
        Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build();
        long p = heap.malloc(100);
        heap.close();
        heap.close();
        assertTrue(heap.isClosed());
        for (Runnable call : new Runnable[] {() -> heap.malloc(8), () -> heap.free(p), heap::attach,
                heap::readMemStats, heap::freeOSMemory, heap::segment, () -> heap.usableSize(p)}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, call::run);
            assertEquals("heap is closed", e.getMessage());
        }
    }

    /**
     * A Mutator's calls racing {@code close()} during a concurrent mark — allocation (with its assist), pointer
     * stores, compare-and-set and copies (with the barrier's reads) — end with the heap's own "heap is closed", never
     * the JDK's "Already closed" of the unmapped segment (hostile pass: it came through the assist's batched loads
     * and the barrier's reads).
     */
    @Test
    void callsRacingCloseDuringAMarkSayHeapIsClosed() throws Exception {
        java.lang.foreign.MemoryLayout node = java.lang.foreign.MemoryLayout.structLayout(
                java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.ADDRESS,
                java.lang.foreign.ValueLayout.ADDRESS);
        HeapType nodeType = HeapType.of(node);
        int slots = 50_000;
        HeapType array = HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(slots,
                java.lang.foreign.ValueLayout.ADDRESS));
        for (int round = 0; round < 10; round++) {
            Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(10).build();
            Root big = heap.newRoot();
            try (Mutator m = heap.attach()) {
                big.set(m.allocate(array));
                for (int i = 0; i < slots; i++) {
                    m.storePointer(big.get() + 8L * i, m.allocate(nodeType));
                }
            }
            Throwable[] got = new Throwable[1];
            Thread t = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    for (int i = 0; ; i++) {
                        long n = m.allocate(nodeType);
                        long a = big.get();
                        m.storePointer(a + 8L * (i % slots), n);
                        m.compareAndSetPointer(a + 8L * ((i + 7) % slots), n, n);
                        m.copyPointers(a, a + 8L * 1000, 8L * 64);
                        if ((i & 255) == 0) {
                            m.poll();
                        }
                    }
                } catch (Throwable e) {
                    got[0] = e;
                }
            });
            t.start();
            Thread.sleep(20 + (round * 13) % 60);
            heap.close();
            t.join();
            assertTrue(got[0] instanceof IllegalStateException, "round " + round + ": " + got[0]);
            assertEquals("heap is closed", got[0].getMessage(), "round " + round);
        }
    }
}
