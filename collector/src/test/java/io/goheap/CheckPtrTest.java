package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * GODEBUG=checkptr=1: every pointer store, compare-and-set, copy and load whose slot is not a pointer slot of an
 * allocated object, or whose value points into the heap where no object is allocated, is refused with an
 * IllegalArgumentException naming the slot, the object and its type, and nothing is written; good ones pass. The
 * same stores go through without it.
 */
class CheckPtrTest {
    private static final MemoryLayout NODE_LAYOUT = MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("v"),
            ValueLayout.ADDRESS.withName("next"));
    private static final HeapType NODE = HeapType.of(NODE_LAYOUT);
    private static final HeapType KIB_ARRAY = HeapType.of(ValueLayout.ADDRESS).arrayOf(128);
    private static final HeapType BIG = HeapType.of(MemoryLayout.structLayout(ValueLayout.ADDRESS.withName("p"),
            MemoryLayout.sequenceLayout(5000, ValueLayout.JAVA_LONG).withName("data")));

    private static Heap checked() {
        return Heap.builder().reservation(1L << 30).maxProcs(1).godebug("checkptr=1").build();
    }

    private static IllegalArgumentException refused(Mutator m, long slot, Executable op, String... parts) {
        long before = m.heap().segment().get(ValueLayout.JAVA_LONG, slot - m.heap().base());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, op);
        assertTrue(e.getMessage().startsWith("checkptr: "), e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "\"" + p + "\" missing from: " + e.getMessage());
        }
        assertEquals(before, m.heap().segment().get(ValueLayout.JAVA_LONG, slot - m.heap().base()),
                "a refused store wrote");
        return e;
    }

    private static String hex(long a) {
        return String.format("0x%x", a);
    }

    @Test
    void goodStoresLoadsAndCopiesPass() {
        try (Heap heap = checked(); Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long a = m.allocate(KIB_ARRAY);
            root.set(a);
            long n = m.allocate(NODE);
            m.storePointer(a, n);
            m.storePointer(n + 8, a + 16);                 // an interior pointer is a fine value
            assertTrue(m.compareAndSetPointer(a + 8, 0, n));
            m.copyPointers(a + 64, a, 16);
            assertEquals(n, m.loadPointer(a + 72));
            long big = m.allocate(BIG);
            m.storePointer(big, n);
            m.storePointer(a + 24, big);
            m.gc();
            assertEquals(n, m.loadPointer(big));
        }
    }

    @Test
    void everyKindOfBadSlotIsRefusedNamingSlotObjectAndType() {
        try (Heap heap = checked(); Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long a = m.allocate(KIB_ARRAY);
            root.set(a);
            long n = m.allocate(NODE);
            m.storePointer(a, n);
            long n2 = m.allocate(NODE);
            m.storePointer(a + 8, n2);
            long big = m.allocate(BIG);
            m.storePointer(a + 16, big);
            long raw = m.malloc(64);

            refused(m, a - 8, () -> m.storePointer(a - 8, 0), hex(a - 8), "malloc header", hex(a), "type ");
            refused(m, n, () -> m.storePointer(n, n2), hex(n), "data word at offset 0", hex(n), "16 bytes");
            refused(m, n + 16, () -> m.storePointer(n + 16, 0), hex(n + 16));   // the next slot: n2 or free
            refused(m, big + 16, () -> m.storePointer(big + 16, n), hex(big + 16), "data word at offset 16",
                    hex(big), "data");
            refused(m, raw, () -> m.storePointer(raw, n), hex(raw), "pointer-free object", hex(raw));
            refused(m, n + 8, () -> m.compareAndSetPointer(n + 8, 0, n + 16 * 1000_000), "compareAndSetPointer");
            refused(m, n, () -> m.loadPointer(n), "loadPointer", "data word");
            refused(m, a + 64, () -> m.copyPointers(a + 64, n, 16), "copyPointers", "word 0", "data word");

            long freed = m.allocate(NODE);
            m.free(freed);
            refused(m, freed + 8, () -> m.storePointer(freed + 8, n), hex(freed + 8), "free");
            refused(m, a + 32, () -> m.storePointer(a + 32, freed), "the value", hex(freed), "freed object");
            long nowhere = heap.base() + (512L << 20);      // far beyond what was allocated
            refused(m, nowhere, () -> m.storePointer(nowhere, 0), hex(nowhere), "no allocated object");
            m.gc();                                        // the heap is as it was
            assertEquals(n, m.loadPointer(a));
            assertEquals(big, m.loadPointer(a + 16));
        }
    }

    @Test
    void withoutCheckptrTheSameStoresGoThrough() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("checkptr=0").build();
             Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long a = m.allocate(KIB_ARRAY);
            root.set(a);
            long n = m.allocate(NODE);
            m.storePointer(a, n);
            m.storePointer(a - 8, 0);
            m.storePointer(n, 12345);
            assertEquals(12345, m.loadPointer(n));
            m.gc();
            assertEquals(n, m.loadPointer(a));
        }
    }
}
