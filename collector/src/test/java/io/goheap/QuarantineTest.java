package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Rooting mistakes caught: a randomized mutator keeps the address of an object it unlinked in a Java local across a
 * collection (the rule broken on purpose) and then uses it in one of the ways a program would — load from it, store
 * into it, store its address, root it, keep it, free it. With {@code GODEBUG=gcquarantine=N} the first such use
 * throws, naming the address, every time; without it, the same program goes on silently and the address is handed
 * out again. {@code clobberfree=1} fills what the sweeper frees with Go's pattern.
 */
class QuarantineTest {
    private static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("v"),
            ValueLayout.ADDRESS.withName("next")));
    private static final HeapType WIDE = HeapType.of(ValueLayout.ADDRESS).arrayOf(100);     // malloc header
    private static final HeapType BIG = HeapType.of(ValueLayout.ADDRESS).arrayOf(5000);     // large
    private static final long NEXT = 8;

    private static final int USES = 7;

    /** One use of {@code lost} (the first word of an object the program no longer roots). */
    private static Executable use(int kind, Heap heap, Mutator m, Root root, long table, long lost, long live) {
        return switch (kind) {
            case 0 -> () -> m.loadPointer(lost);
            case 1 -> () -> m.storePointer(lost, live);
            case 2 -> () -> m.storePointer(table, lost);
            case 3 -> () -> root.set(lost);
            case 4 -> () -> m.keep(lost);
            case 5 -> () -> heap.free(lost);
            default -> () -> m.copyPointers(table + 8, lost, 8);
        };
    }

    @Test
    void everyUseOfAnAddressKeptAcrossACollectionWithoutARootIsCaught() {
        Random rnd = new Random(4);
        HeapType[] kinds = {NODE, WIDE, BIG};
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("gcquarantine=3").build();
             Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(64));
            int caught = 0;
            for (int round = 0; round < 60; round++) {
                List<Long> chain = new ArrayList<>();    // a rooted chain through slot 0 of each object
                long head = 0;
                int n = 1 + rnd.nextInt(20);
                for (int i = 0; i < n; i++) {
                    HeapType t = kinds[rnd.nextInt(10) < 7 ? 0 : rnd.nextInt(2) + 1];
                    long o = m.allocate(t);
                    m.storePointer(o + (t == NODE ? NEXT : 0), head);
                    head = o;
                    m.storePointer(table + 8 * 63, head);
                    chain.add(0, o);
                }
                int cut = rnd.nextInt(n);               // unlink the chain's tail from object `cut` on
                if (cut == 0) {
                    m.storePointer(table + 8 * 63, 0);
                } else {
                    long before = chain.get(cut - 1);
                    long slot = before + (heap.usableSize(before) == 16 ? NEXT : 0);
                    m.storePointer(slot, 0);
                }
                long lost = chain.get(cut + rnd.nextInt(n - cut));   // kept in a local, unrooted: the mistake
                long live = cut > 0 ? chain.get(0) : 0;
                m.gc();                                 // a safepoint: `lost` is found unreachable
                int kind = rnd.nextInt(USES);
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        use(kind, heap, m, root, table, lost, live), "use " + kind + " of a lost object not caught");
                assertTrue(e.getMessage().contains(String.format("0x%x", lost)), e.getMessage());
                assertTrue(e.getMessage().startsWith("gcquarantine: "), e.getMessage());
                caught++;
                m.storePointer(table + 8 * 63, 0);
                root.set(0);
            }
            assertEquals(60, caught);
            heap.free(table);
        }
    }

    @Test
    void withoutTheModeTheSameMistakeGoesUnnoticedAndTheAddressIsReused() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("gcquarantine=0").build();
             Mutator m = heap.attach()) {
            long lost = m.allocate(NODE);               // never rooted
            m.gc();
            m.loadPointer(lost);                        // no error: the rule is the program's to keep
            boolean reused = false;
            for (int i = 0; i < 1000 && !reused; i++) {
                reused = m.allocate(NODE) == lost;
            }
            assertTrue(reused, "the lost address was never handed out again");
        }
    }

    @Test
    void aQuarantinedObjectIsOutOfReuseForItsCyclesThenFreed() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("gcquarantine=2").build();
             Mutator m = heap.attach()) {
            long lost = m.allocate(NODE);
            m.gc();
            for (int i = 0; i < 2000; i++) {
                assertNotEquals(lost, m.allocate(NODE), "a quarantined slot was handed out");
            }
            m.gc();                                     // second cycle: still quarantined
            assertThrows(IllegalStateException.class, () -> m.loadPointer(lost));
            m.gc();                                     // its cycles are up: freed
            m.loadPointer(lost);
            assertThrows(IllegalArgumentException.class, () -> heap.usableSize(lost));
        }
    }

    @Test
    void clobberfreeFillsWhatTheSweeperFrees() {
        for (String godebug : new String[] {"clobberfree=1", "gcquarantine=1"}) {
            try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug(godebug).build();
                 Mutator m = heap.attach(); Root root = heap.newRoot()) {
                long small = m.allocate(NODE);
                root.set(m.allocate(NODE));                 // keeps the span in use, so its page is not released
                long big = m.allocate(BIG);
                heap.segment().set(ValueLayout.JAVA_LONG, small - heap.base(), 42);
                m.storePointer(big + 8, small);
                m.gc();
                assertEquals(0xdeadbeefdeadbeefL, heap.segment().get(ValueLayout.JAVA_LONG, small - heap.base()),
                        godebug);
                if (godebug.startsWith("gcquarantine")) {   // the large one stays mapped while quarantined
                    assertEquals(0xdeadbeefdeadbeefL, heap.segment().get(ValueLayout.JAVA_LONG, big + 8 - heap.base()));
                }
            }
        }
    }
}
