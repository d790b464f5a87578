package io.goheap;

import io.goheap.allocator.GcType;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;

/**
 * The type of a collected heap object, made from a {@link MemoryLayout} (Go's {@code _type}): its size, its
 * alignment and where its pointers are. Every {@link ValueLayout#ADDRESS} element of the layout — in nested
 * structs and sequences too — is a pointer slot the collector scans; everything else (values, padding) is data it
 * never reads. Pointer-free types go to noscan spans and are never scanned.
 *
 * <h2>Invariants</h2>
 * Immutable and thread-safe. {@code size > 0}; {@code alignment} is a power of two ≤ 8 (the heap aligns objects
 * to 8 bytes, Go's guarantee); every pointer slot is an 8-byte word at an offset that is a multiple of 8; the
 * pointer bitmap has one bit per 8-byte word of the first {@link #pointerBytes()} bytes (Go's {@code GCData} and
 * {@code PtrBytes}), bit {@code i} of word {@code i >>> 6} for the word at offset {@code 8 i}; its last word
 * holds the last pointer. An array type ({@link #arrayOf}) keeps its element's bitmap and tiles it, as Go's
 * {@code newarray}, so a type's Java-heap footprint does not grow with its element count.
 *
 * <h2>What is rejected, and why</h2>
 * A layout of zero bytes (an object needs a byte); alignment above 8 bytes (the heap cannot promise it); an
 * address element that is not 8 bytes wide or not at a multiple of 8 (the marker reads aligned words); an
 * address element inside a union (its word may hold data at any moment: the marker could not be precise).
 * Each is an {@link IllegalArgumentException} naming the element by its path in the layout.
 */
public final class HeapType {
    private static final long WORD = 8;

    private final MemoryLayout layout;
    private final long size;
    private final long alignment;
    /** The element type of an array type, or null: then {@link #bitmap} describes this type itself. */
    private final HeapType element;
    private final long count;
    private final long[] bitmap;
    private final long pointerBytes;
    private final long pointerSlots;
    /** How the allocator records this type (of one element), or null when it has no pointers. */
    final GcType gcType;
    /** Bytes an object of this type takes in the heap (its size class or pages): what the pacer counts. */
    final long allocationBytes;

    private HeapType(MemoryLayout layout, long[] bitmap) {
        this.layout = layout;
        this.size = layout.byteSize();
        this.alignment = layout.byteAlignment();
        this.element = null;
        this.count = 1;
        this.bitmap = bitmap;
        long slots = 0;
        for (long w : bitmap) {
            slots += Long.bitCount(w);
        }
        this.pointerSlots = slots;
        this.pointerBytes = lastPointerWord(bitmap) * WORD + (slots == 0 ? 0 : WORD);
        this.gcType = slots == 0 ? null : GcType.of(size, bitmap);
        this.allocationBytes = allocationBytes(size, gcType == null);
    }

    private static long allocationBytes(long size, boolean noscan) {
        return size > (1L << 60) ? size : io.goheap.allocator.GcHooks.allocationSize(size, noscan);
    }

    private HeapType(HeapType element, long count) {
        this.layout = MemoryLayout.sequenceLayout(count, element.layout);
        this.size = layout.byteSize();
        this.alignment = element.alignment;
        this.element = element;
        this.count = count;
        this.bitmap = element.bitmap;
        this.pointerSlots = element.pointerSlots * count;
        this.pointerBytes = element.hasPointers() ? (count - 1) * element.size + element.pointerBytes : 0;
        this.gcType = element.gcType;
        this.allocationBytes = allocationBytes(size, gcType == null);
    }

    /**
     * The type of objects laid out as {@code layout}.
     *
     * @throws IllegalArgumentException when the layout cannot be a heap object (see the class comment)
     * @param layout the object's layout; {@code ADDRESS} elements are pointer slots
     * @return the type
     */
    public static HeapType of(MemoryLayout layout) {
        Objects.requireNonNull(layout, "layout");
        if (layout.byteSize() <= 0) {
            throw new IllegalArgumentException("a heap object needs at least one byte: " + layout);
        }
        if (layout.byteAlignment() > WORD) {
            throw new IllegalArgumentException("alignment " + layout.byteAlignment() + " of " + layout
                    + " exceeds the heap's object alignment of 8 bytes");
        }
        long words = (layout.byteSize() + WORD - 1) / WORD;
        if (words > Integer.MAX_VALUE * 64L) {
            throw new IllegalArgumentException("layout of " + layout.byteSize() + " bytes is too large for one type");
        }
        long[] bits = new long[(int) ((words + 63) >>> 6)];
        walk(layout, 0, layout.name().orElse(""), bits, false);
        int used = lastPointerWord(bits) / 64 + 1;
        return new HeapType(layout, Arrays.copyOf(bits, bitsHaveAny(bits) ? used : 0));
    }

    /**
     * The type of an array of {@code count} elements of this type (Go's {@code newarray}): its bitmap is this
     * type's, tiled.
     *
     * @throws IllegalArgumentException when {@code count < 1}, the array would overflow a {@code long}, or this
     *                                  type has pointers and a size that is not a multiple of 8 (the second
     *                                  element's pointers would be misaligned)
     * @param count the number of elements, at least 1
     * @return the array type
     */
    public HeapType arrayOf(long count) {
        if (count < 1) {
            throw new IllegalArgumentException("array length must be positive: " + count);
        }
        if (count > Long.MAX_VALUE / size) {
            throw new IllegalArgumentException("an array of " + count + " elements of " + size + " bytes overflows");
        }
        if (hasPointers() && size % WORD != 0) {
            throw new IllegalArgumentException("elements of " + size + " bytes that hold pointers cannot be packed"
                    + " in an array: the next element's pointers would not be 8-byte aligned (pad the layout)");
        }
        if (element != null) {
            return element.arrayOf(Math.multiplyExact(this.count, count));
        }
        return new HeapType(this, count);
    }

    private static void walk(MemoryLayout l, long offset, String path, long[] bits, boolean inUnion) {
        switch (l) {
            case AddressLayout a -> {
                if (inUnion) {
                    throw new IllegalArgumentException("address element " + name(path) + " at offset " + offset
                            + " is inside a union: its word may hold data, so it cannot be a precise pointer slot");
                }
                if (a.byteSize() != WORD || offset % WORD != 0) {
                    throw new IllegalArgumentException("address element " + name(path) + " at offset " + offset
                            + " is not an 8-byte aligned 8-byte word: the collector reads pointers as aligned words");
                }
                long word = offset / WORD;
                bits[(int) (word >>> 6)] |= 1L << word;
            }
            case ValueLayout v -> {
                // data
            }
            case PaddingLayout p -> {
                // data
            }
            case StructLayout s -> {
                long at = offset;
                int i = 0;
                for (MemoryLayout m : s.memberLayouts()) {
                    walk(m, at, path + "." + memberName(m, i++), bits, inUnion);
                    at += m.byteSize();
                }
            }
            case UnionLayout u -> {
                int i = 0;
                for (MemoryLayout m : u.memberLayouts()) {
                    walk(m, offset, path + "." + memberName(m, i++), bits, true);
                }
            }
            case SequenceLayout q -> walkSequence(q, offset, path, bits, inUnion);
            default -> throw new IllegalArgumentException("unknown layout kind " + l.getClass().getName());
        }
    }

    /** A sequence: walk one element, then copy its pointer bits to every element (no walk per element). */
    private static void walkSequence(SequenceLayout q, long offset, String path, long[] bits, boolean inUnion) {
        MemoryLayout e = q.elementLayout();
        long n = q.elementCount();
        if (n == 0 || e.byteSize() == 0) {
            return;
        }
        long[] one = new long[(int) (((e.byteSize() + WORD - 1) / WORD + 63) >>> 6)];
        walk(e, 0, path + "[0]", one, inUnion);
        if (!bitsHaveAny(one)) {
            return;
        }
        for (long i = 0; i < n; i++) {
            long start = offset + i * e.byteSize();
            if (start % WORD != 0) {  // the element's pointers are aligned to it, so not to the object
                walk(e, start, path + "[" + i + "]", bits, inUnion);    // throws, naming the misaligned element
            }
            long firstWord = start / WORD;
            for (int w = 0; w < one.length; w++) {
                for (long b = one[w]; b != 0; b &= b - 1) {
                    long word = firstWord + w * 64L + Long.numberOfTrailingZeros(b);
                    bits[(int) (word >>> 6)] |= 1L << word;
                }
            }
        }
    }

    private static String memberName(MemoryLayout m, int index) {
        return m.name().orElse("#" + index);
    }

    private static String name(String path) {
        String p = path.startsWith(".") ? path.substring(1) : path;
        return p.isEmpty() ? "(the whole layout)" : "'" + p + "'";
    }

    private static boolean bitsHaveAny(long[] bits) {
        for (long w : bits) {
            if (w != 0) {
                return true;
            }
        }
        return false;
    }

    /** Index of the last word with a pointer bit, or 0 when there is none. */
    private static int lastPointerWord(long[] bits) {
        for (int w = bits.length - 1; w >= 0; w--) {
            if (bits[w] != 0) {
                return w * 64 + 63 - Long.numberOfLeadingZeros(bits[w]);
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------ queries

    /** {@return the layout this type was made from (for an array type, a sequence of the element's layout)} */
    public MemoryLayout layout() {
        return layout;
    }

    /** {@return bytes of one object of this type} */
    public long size() {
        return size;
    }

    /** {@return the layout's alignment: a power of two, at most 8} */
    public long alignment() {
        return alignment;
    }

    /** {@return whether objects of this type hold pointers (and so live in scan spans and are scanned)} */
    public boolean hasPointers() {
        return pointerSlots > 0;
    }

    /** {@return the number of pointer slots in one object} */
    public long pointerSlots() {
        return pointerSlots;
    }

    /** {@return Go's {@code PtrBytes}: the length of the prefix of an object that holds all its pointers (0 when none)} */
    public long pointerBytes() {
        return pointerBytes;
    }

    /**
     * Whether the 8-byte word at {@code offset} (a multiple of 8 below {@link #size()}) is a pointer slot.
     *
     * @param offset a byte offset in the object
     * @return true when a pointer slot starts at {@code offset}
     */
    public boolean isPointerSlot(long offset) {
        if (offset < 0 || offset >= size || offset % WORD != 0) {
            throw new IllegalArgumentException("offset " + offset + " is not a word of a " + size + "-byte object");
        }
        long inElement = element == null ? offset : offset % element.size;
        long word = inElement / WORD;
        return word < (long) bitmap.length * 64 && (bitmap[(int) (word >>> 6)] & (1L << word)) != 0;
    }

    /** {@return the element type of an array type ({@link #arrayOf}), or this type; with {@link #length()}} */
    public HeapType elementType() {
        return element == null ? this : element;
    }

    /** {@return the element count of an array type, 1 otherwise} */
    public long length() {
        return count;
    }

    /**
     * Offset of the element at {@code path}, as {@link MemoryLayout#byteOffset}.
     *
     * @param path the path to an element, as the layout names it
     * @return the element's byte offset in the object
     */
    public long offsetOf(MemoryLayout.PathElement... path) {
        return layout.byteOffset(path);
    }

    /**
     * A var handle for the data element at {@code path}, with coordinates {@code (MemorySegment, long)}: pass the
     * heap's segment and the object's offset in it. Pointer elements have none: pointers are stored only through
     * the heap's write-barrier API, so the collector sees every store.
     *
     * @throws IllegalArgumentException when {@code path} names an address element
     * @param path the path to a value element, as the layout names it
     * @return a var handle for that element, as the layout's
     */
    public VarHandle varHandle(MemoryLayout.PathElement... path) {
        if (layout.select(path) instanceof AddressLayout) {
            throw new IllegalArgumentException("the element at " + Arrays.toString(path) + " is a pointer: store it"
                    + " through the heap's pointer API, not a var handle, so the collector sees the store");
        }
        return layout.varHandle(path);
    }

    /** {@return the pointer bitmap of one element (a copy): bit {@code i} set when the word at offset {@code 8 i} is a pointer} */
    public long[] pointerBitmap() {
        return bitmap.clone();
    }

    @Override
    public String toString() {
        return "HeapType[" + size + " bytes, " + pointerSlots + " pointers"
                + (element != null ? ", " + count + " x " + element.size + " bytes" : "") + ", " + layout + "]";
    }
}
