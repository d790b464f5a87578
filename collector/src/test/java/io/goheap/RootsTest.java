package io.goheap;

import static io.goheap.CollectorTest.NODE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Roots owned by Java objects, and the Pinner. */
class RootsTest {

    @Test
    void aRootOwnedByAJavaObjectDropsItselfWhenTheOwnerIsCollected() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
             Mutator m = heap.attach()) {
            Object owner = new Object();
            Root r = heap.rootFor(owner, m.allocate(NODE));
            m.gc();
            assertEquals(1, heap.readMemStats().heapObjects(), "kept while its owner lives");
            owner = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (heap.readMemStats().heapObjects() != 0) {
                assertTrue(System.nanoTime() < deadline, "the owner's death never dropped the root");
                System.gc();
                Thread.sleep(10);
                m.gc();
            }
            assertThrows(IllegalStateException.class, r::get, "the dropped root is closed");
            r.close();                                   // idempotent
        }
    }

    @Test
    void pinnedObjectsStayUntilUnpinned() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
             Mutator m = heap.attach(); Pinner pinner = heap.newPinner()) {
            long a = m.allocate(NODE);
            long b = m.allocate(NODE);
            pinner.pin(a);
            pinner.pin(b + 8);                           // an interior address pins its object
            m.gc();
            assertEquals(2, heap.readMemStats().heapObjects());
            assertEquals(2, pinner.pinned());
            assertThrows(IllegalArgumentException.class, () -> pinner.pin(heap.base() + heap.reservation() - 8));
            pinner.unpin();
            m.gc();
            assertEquals(0, heap.readMemStats().heapObjects());
        }
    }
}
