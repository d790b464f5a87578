package io.goheap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * GODEBUG {@code gccheckmark=1}: after each mark the collector marks again from the roots with separate bits and
 * fails the cycle on any reachable object the mark missed — the oracle the concurrent marker will be held to.
 * The fault is injected between the two passes the way a missing write barrier would leave it: a pointer to an
 * unmarked object written into a marked one behind the collector's back.
 */
class CheckmarkTest {

    private static Heap checked() {
        return Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("gccheckmark=1").build();
    }

    @Test
    void aSoundMarkPassesTheCheckAndCollectsAsUsual() {
        try (Heap heap = checked(); Root root = heap.newRoot(); Mutator m = heap.attach()) {
            root.set(CollectorTest.list(m, 500));
            CollectorTest.list(m, 700);                          // garbage
            for (int i = 0; i < 20; i++) {
                m.gc();
            }
            MemStats s = heap.readMemStats();
            assertEquals(500, s.heapObjects());
            assertEquals(20, s.numGC());
            assertEquals(500, CollectorTest.length(heap, root.get(), true));
        }
    }

    @Test
    void aReachableObjectTheMarkMissedFailsTheCycleAndNothingIsFreed() {
        try (Heap heap = checked(); Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long head = CollectorTest.list(m, 3);
            root.set(head);
            long hidden;
            try (Mutator.Frame f = m.enterFrame()) {
                hidden = f.keep(CollectorTest.list(m, 2));       // kept for now: allocated, then dropped below
            }
            long last = m.loadPointer(m.loadPointer(head + 8) + 8);
            // Between the passes, link the unreachable list behind the collector's back: the mark never saw it.
            heap.collector.beforeCheckmarkForTests =
                    () -> heap.segment().set(JAVA_LONG, last + 8 - heap.base(), hidden);
            IllegalStateException e = assertThrows(IllegalStateException.class, m::gc);
            assertTrue(e.getMessage().startsWith("gccheckmark: the object at 0x" + Long.toHexString(hidden)),
                    e.getMessage());
            assertTrue(e.getMessage().contains(String.format("the pointer slot at 0x%x", last + 8)), e.getMessage());
            heap.collector.beforeCheckmarkForTests = null;
            assertEquals(5, heap.readMemStats().heapObjects(), "a failed cycle frees nothing");
            m.gc();                                              // now the hidden list is reachable through the slot
            assertEquals(5, heap.readMemStats().heapObjects());
            assertEquals(5, CollectorTest.length(heap, head, false));
            assertEquals(0, heap.segment().get(JAVA_LONG, hidden - heap.base()), "the hidden list is intact");
        }
    }

    @Test
    void aMalformedSettingIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Heap.builder().godebug("gccheckmark=yes"));
        assertTrue(e.getMessage().contains("gccheckmark=yes"), e.getMessage());
    }
}
