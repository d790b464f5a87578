package io.goheap;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.PathElement.sequenceElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Types from FFM layouts: pointer slots, sizes, arrays, and the layouts that are refused. */
class HeapTypeTest {

    static final StructLayout NODE = MemoryLayout.structLayout(
            JAVA_LONG.withName("key"),
            ADDRESS.withName("left"),
            ADDRESS.withName("right"),
            JAVA_INT.withName("height"),
            MemoryLayout.paddingLayout(4));

    @Test
    void aStructsAddressElementsArePointerSlots() {
        HeapType t = HeapType.of(NODE);
        assertEquals(32, t.size());
        assertEquals(8, t.alignment());
        assertTrue(t.hasPointers());
        assertEquals(2, t.pointerSlots());
        assertEquals(24, t.pointerBytes(), "the pointers end with 'right'");
        assertFalse(t.isPointerSlot(0));
        assertTrue(t.isPointerSlot(8));
        assertTrue(t.isPointerSlot(16));
        assertFalse(t.isPointerSlot(24));
        assertArrayEquals(new long[] {0b110}, t.pointerBitmap());
        assertEquals(16, t.offsetOf(groupElement("right")));
    }

    @Test
    void dataOnlyLayoutsHaveNoPointers() {
        for (MemoryLayout l : new MemoryLayout[] {JAVA_BYTE, JAVA_LONG,
                MemoryLayout.sequenceLayout(1000, JAVA_INT),
                MemoryLayout.structLayout(JAVA_INT, JAVA_INT, MemoryLayout.sequenceLayout(3, JAVA_LONG))}) {
            HeapType t = HeapType.of(l);
            assertFalse(t.hasPointers(), l.toString());
            assertEquals(0, t.pointerBytes());
            assertEquals(0, t.pointerSlots());
            assertEquals(l.byteSize(), t.size());
        }
    }

    @Test
    void nestedStructsAndSequencesAreWalked() {
        StructLayout pair = MemoryLayout.structLayout(JAVA_INT.withName("a"), JAVA_INT.withName("b"),
                ADDRESS.withName("p"));
        StructLayout outer = MemoryLayout.structLayout(
                ADDRESS.withName("head"),
                MemoryLayout.sequenceLayout(3, pair).withName("pairs"),
                MemoryLayout.unionLayout(JAVA_LONG, JAVA_INT).withName("u"),
                MemoryLayout.sequenceLayout(70, ADDRESS).withName("many"));
        HeapType t = HeapType.of(outer);
        TreeSet<Long> expected = new TreeSet<>(List.of(0L, 16L, 32L, 48L));
        for (long i = 0; i < 70; i++) {
            expected.add(64 + 8 * i);
        }
        assertEquals(expected, pointerOffsets(t));
        assertEquals(74, t.pointerSlots());
        assertEquals(64 + 70 * 8, t.pointerBytes());
        assertEquals(2, t.pointerBitmap().length, "74 words of pointers need two bitmap words");
    }

    @Test
    void layoutsThatCannotBeHeapObjectsAreRefusedWithTheElementNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HeapType.of(
                MemoryLayout.structLayout(JAVA_INT.withName("tag"), ADDRESS.withByteAlignment(4).withName("next"))));
        assertTrue(e.getMessage().contains("'tag'") || e.getMessage().contains("'next'"), e.getMessage());
        assertTrue(e.getMessage().contains("offset 4") && e.getMessage().contains("aligned"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> HeapType.of(MemoryLayout.structLayout(
                JAVA_LONG, MemoryLayout.unionLayout(JAVA_LONG.withName("bits"), ADDRESS.withName("ptr")).withName("v"))));
        assertTrue(e.getMessage().contains("'v.ptr'") && e.getMessage().contains("union"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> HeapType.of(MemoryLayout.structLayout()));
        assertTrue(e.getMessage().contains("at least one byte"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> HeapType.of(JAVA_LONG.withByteAlignment(16)));
        assertTrue(e.getMessage().contains("alignment 16"), e.getMessage());

        // a packed sequence whose second element's pointer lands at offset 12
        e = assertThrows(IllegalArgumentException.class, () -> HeapType.of(MemoryLayout.sequenceLayout(2,
                MemoryLayout.structLayout(ADDRESS.withByteAlignment(4).withName("p"), JAVA_INT).withByteAlignment(4))
                .withName("arr")));
        assertTrue(e.getMessage().contains("'arr[1].p'") && e.getMessage().contains("offset 12"), e.getMessage());

        assertThrows(NullPointerException.class, () -> HeapType.of(null));
    }

    @Test
    void arraysTileTheirElementsBitmap() {
        HeapType node = HeapType.of(NODE);
        HeapType arr = node.arrayOf(1000);
        assertEquals(32_000, arr.size());
        assertEquals(2000, arr.pointerSlots());
        assertEquals(999 * 32 + 24, arr.pointerBytes());
        assertEquals(node, arr.elementType());
        assertEquals(1000, arr.length());
        for (long off = 0; off < arr.size(); off += 8) {
            long in = off % 32;
            assertEquals(in == 8 || in == 16, arr.isPointerSlot(off), "offset " + off);
        }
        assertArrayEquals(node.pointerBitmap(), arr.pointerBitmap(), "the element's bitmap, not a copy per element");
        HeapType nested = arr.arrayOf(3);
        assertEquals(node, nested.elementType(), "an array of arrays is one flat array");
        assertEquals(3000, nested.length());

        assertThrows(IllegalArgumentException.class, () -> node.arrayOf(0));
        assertThrows(IllegalArgumentException.class, () -> node.arrayOf(Long.MAX_VALUE / 16));
        HeapType odd = HeapType.of(MemoryLayout.structLayout(ADDRESS, JAVA_INT).withByteAlignment(8));
        assertEquals(12, odd.size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> odd.arrayOf(2));
        assertTrue(e.getMessage().contains("aligned"), e.getMessage());
        assertEquals(15, HeapType.of(MemoryLayout.sequenceLayout(15, JAVA_BYTE)).arrayOf(4).size() / 4,
                "pointer-free elements may have any size");
        assertThrows(IllegalArgumentException.class, () -> node.isPointerSlot(4));
        assertThrows(IllegalArgumentException.class, () -> node.isPointerSlot(32));
    }

    @Test
    void dataVarHandlesWorkAndPointerElementsHaveNone() {
        HeapType t = HeapType.of(NODE);
        VarHandle key = t.varHandle(groupElement("key"));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(64);
            key.set(seg, 32L, 42L);
            assertEquals(42L, seg.get(JAVA_LONG, 32));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.varHandle(groupElement("left")));
        assertTrue(e.getMessage().contains("pointer"), e.getMessage());
        HeapType arr = HeapType.of(MemoryLayout.sequenceLayout(4, NODE));
        assertThrows(IllegalArgumentException.class, () -> arr.varHandle(sequenceElement(2), groupElement("right")));
        assertEquals(2 * 32 + 8, arr.offsetOf(sequenceElement(2), groupElement("left")));
    }

    /** Random nested layouts against a shadow that lists every address element's offset one by one. */
    @Test
    void randomLayoutsMatchAnElementByElementShadow() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 2000; round++) {
            MemoryLayout l = randomLayout(rnd, 3);
            if (l.byteSize() == 0) {
                continue;
            }
            TreeSet<Long> shadow = new TreeSet<>();
            addressOffsets(l, 0, shadow);
            HeapType t = HeapType.of(l);
            assertEquals(shadow, pointerOffsets(t), l.toString());
            assertEquals(shadow.size(), t.pointerSlots());
            assertEquals(shadow.isEmpty() ? 0 : shadow.last() + 8, t.pointerBytes());
        }
    }

    private static MemoryLayout randomLayout(SplittableRandom rnd, int depth) {
        int k = depth == 0 ? rnd.nextInt(3) : rnd.nextInt(6);
        return switch (k) {
            case 0 -> ADDRESS;
            case 1 -> JAVA_LONG;
            case 2 -> JAVA_INT;
            case 3, 4 -> {
                List<MemoryLayout> members = new ArrayList<>();
                long size = 0;
                for (int i = rnd.nextInt(1, 5); i > 0; i--) {
                    MemoryLayout m = randomLayout(rnd, depth - 1);
                    long pad = (m.byteAlignment() - size % m.byteAlignment()) % m.byteAlignment();
                    if (pad > 0) {
                        members.add(MemoryLayout.paddingLayout(pad));
                    }
                    members.add(m);
                    size += pad + m.byteSize();
                }
                long align = members.stream().mapToLong(MemoryLayout::byteAlignment).max().orElse(1);
                if (size % align != 0) {
                    members.add(MemoryLayout.paddingLayout(align - size % align));
                }
                yield MemoryLayout.structLayout(members.toArray(MemoryLayout[]::new));
            }
            default -> MemoryLayout.sequenceLayout(rnd.nextInt(0, 90), randomLayout(rnd, depth - 1));
        };
    }

    private static void addressOffsets(MemoryLayout l, long at, TreeSet<Long> out) {
        if (l instanceof ValueLayout v && v.carrier() == MemorySegment.class) {
            out.add(at);
        } else if (l instanceof StructLayout s) {
            long o = at;
            for (MemoryLayout m : s.memberLayouts()) {
                addressOffsets(m, o, out);
                o += m.byteSize();
            }
        } else if (l instanceof UnionLayout u) {
            u.memberLayouts().forEach(m -> addressOffsets(m, at, out));
        } else if (l instanceof SequenceLayout q) {
            for (long i = 0; i < q.elementCount(); i++) {
                addressOffsets(q.elementLayout(), at + i * q.elementLayout().byteSize(), out);
            }
        }
    }

    private static TreeSet<Long> pointerOffsets(HeapType t) {
        TreeSet<Long> out = new TreeSet<>();
        for (long off = 0; off + 8 <= t.size(); off += 8) {
            if (t.isPointerSlot(off)) {
                out.add(off);
            }
        }
        return out;
    }
}
