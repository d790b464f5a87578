package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Pointer stores whose slot is not a pointer slot of a live object — a malloc header, the word past an object, a
 * span's tail, a data word, a free slot — go through by default (they change data, as a C store would), but never
 * reach the collector's metadata: no reachable object is freed for them and no address of one is handed out again.
 * Without the metadata on the Java heap, a store over a malloc header or a span's heap bits made the next cycle
 * free objects still reachable and the next allocation return their addresses.
 */
class StrayStoreTest {
    private static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("v"),
            ValueLayout.ADDRESS.withName("next")));
    private static final HeapType KIB_ARRAY = HeapType.of(ValueLayout.ADDRESS).arrayOf(128);     // malloc header
    private static final HeapType BIG = HeapType.of(ValueLayout.ADDRESS).arrayOf(5000);         // 40000 B: large

    /** The case: storePointer(o − 8, 0) on a 1 KiB scan object, then a collection, then allocation. */
    @Test
    void aStoreOverAMallocHeaderFreesNothingReachable() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).build();
             Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long o = m.allocate(KIB_ARRAY);
            root.set(o);
            long child = m.allocate(NODE);
            m.storePointer(o, child);
            m.storePointer(o - 8, 0);                      // the malloc header's word
            m.gc();
            assertEquals(child, m.loadPointer(o));
            assertEquals(16, heap.usableSize(child), "the child was freed");
            for (int i = 0; i < 10_000; i++) {
                assertNotEquals(child, m.allocate(NODE), "the reachable child's address was handed out again");
            }
        }
    }

    /** Zeros (and all-ones) over the last 128 bytes of a page of 16-byte scan objects: Go's heap bits live there. */
    @Test
    void storesOverASpansTailChangeNoObjectsPointers() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("gccheckmark=1").build();
             Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long head = 0;
            List<Long> nodes = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {               // four pages' worth, each node pointing at the last
                long n = m.allocate(NODE);
                m.storePointer(n + 8, head);
                head = n;
                root.set(head);
                nodes.add(n);
            }
            Set<Long> pages = new HashSet<>();
            for (long n : nodes) {
                pages.add(n & ~8191L);
            }
            for (long page : pages) {
                for (long w = page + 8192 - 128; w < page + 8192; w += 8) {
                    m.storePointer(w, 0);
                }
            }
            m.gc();
            long n = head;
            for (int i = nodes.size() - 1; i >= 0; i--) {
                assertEquals((long) nodes.get(i), n);
                n = m.loadPointer(n + 8);
            }
            Set<Long> live = new HashSet<>(nodes);
            for (int i = 0; i < 20_000; i++) {
                assertFalse(live.contains(m.allocate(NODE)), "a reachable node's address was handed out again");
            }
        }
    }

    /**
     * A model of rooted objects of three kinds (heap bits, malloc header, large), linked at random; stray stores of
     * junk (0, -1, random words, live addresses) at every word from 64 bytes before to 64 bytes after each object
     * that is not one of its pointer slots, then collections with gccheckmark: every modelled pointer slot still
     * holds its value, no collection fails, and no allocation returns a live object's address.
     */
    @Test
    void randomStrayStoresAroundEveryObjectLeaveTheGraphIntact() {
        Random rnd = new Random(19);
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("gccheckmark=1").build();
             Mutator m = heap.attach(); Root root = heap.newRoot()) {
            long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(512));   // manual: a root
            HeapType[] kinds = {NODE, KIB_ARRAY, BIG};
            List<long[]> objects = new ArrayList<>();        // {address, kind}
            Map<Long, Long> slots = new HashMap<>();         // modelled pointer slot -> value
            for (int i = 0; i < 512; i++) {
                int kind = rnd.nextInt(10) < 6 ? 0 : rnd.nextInt(10) < 8 ? 1 : 2;
                long o = m.allocate(kinds[kind]);
                m.storePointer(table + 8L * i, o);
                objects.add(new long[] {o, kind});
            }
            for (int round = 0; round < 3; round++) {
                for (long[] obj : objects) {               // link each object's pointer slots at random
                    for (long slot : pointerSlots(obj)) {
                        long v = rnd.nextInt(4) == 0 ? 0 : objects.get(rnd.nextInt(objects.size()))[0];
                        m.storePointer(slot, v);
                        slots.put(slot, v);
                    }
                }
                for (long[] obj : objects) {
                    long size = kinds[(int) obj[1]].size();
                    for (long at = obj[0] - 64; at < obj[0] + size + 64; at += 8) {
                        if (at < heap.base() || slots.containsKey(at) || isTableSlot(table, at)) {
                            continue;                      // a real pointer slot: a store there is no stray
                        }
                        long junk = switch (rnd.nextInt(4)) {
                            case 0 -> 0L;
                            case 1 -> -1L;
                            case 2 -> rnd.nextLong();
                            default -> objects.get(rnd.nextInt(objects.size()))[0];
                        };
                        m.storePointer(at, junk);
                    }
                }
                m.gc();
                for (Map.Entry<Long, Long> e : slots.entrySet()) {
                    assertEquals((long) e.getValue(), m.loadPointer(e.getKey()),
                            String.format("pointer slot 0x%x changed", e.getKey()));
                }
                Set<Long> live = new HashSet<>();
                for (long[] obj : objects) {
                    live.add(obj[0]);
                }
                for (int i = 0; i < 4000; i++) {
                    long a = m.allocate(kinds[i % 2]);
                    assertFalse(live.contains(a), "a live object's address was handed out again");
                }
            }
            heap.free(table);
        }
    }

    /** The pointer slots of an object, all of which the model links: node.next; the arrays' every element. */
    private static List<Long> pointerSlots(long[] obj) {
        List<Long> s = new ArrayList<>();
        switch ((int) obj[1]) {
            case 0 -> s.add(obj[0] + 8);
            case 1 -> {
                for (int i = 0; i < 128; i++) {
                    s.add(obj[0] + 8L * i);
                }
            }
            default -> {
                for (int i = 0; i < 5000; i++) {
                    s.add(obj[0] + 8L * i);
                }
            }
        }
        return s;
    }

    private static boolean isTableSlot(long table, long at) {
        return at >= table && at < table + 8 * 512;
    }
}
