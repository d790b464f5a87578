package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The public heap's lifetime: close, and the safety net for heaps dropped without it (issue 7's hostile pass). */
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
}
