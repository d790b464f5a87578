package io.goheap.allocator;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the pointers of an object are, as the allocator records it and the marker reads it (Go's {@code _type}
 * as far as the collector cares: {@code Size}, {@code PtrBytes}, {@code GCData}). The collector's public
 * {@code HeapType} makes one from an FFM layout.
 *
 * <h2>How an object records its type (Go 1.22's layout)</h2>
 * <ul>
 *   <li>scan objects of at most 512 bytes: one bit per 8-byte word of the span in a bitmap in the span's last
 *       {@code spanBytes / 64} bytes (the room {@link SizeClasses#scanObjects} leaves), written at allocation;</li>
 *   <li>larger small scan objects: the type's {@link #id()} in the 8-byte malloc header in front of the object;</li>
 *   <li>large scan objects: {@link MSpan#largeType}.</li>
 * </ul>
 * An array of {@code n} elements records the element type and {@code n} (in the header's upper 32 bits, or
 * {@link MSpan#largeCount}); the marker tiles the element's bitmap over exactly those {@code n} elements, so
 * the slack between the data and the end of the slot is never read as pointers.
 *
 * <h2>Invariants</h2>
 * Immutable; {@code size > 0}; the bitmap has one bit per word of one element, no bit at or past
 * {@code ptrBytes}. Types are interned: one object (and id) per distinct (size, bitmap), so ids stay few however
 * often a type is rebuilt; the table only grows. Id 0 means "no type" (nothing to scan). Thread-safe.
 */
public final class GcType {
    private static final ConcurrentHashMap<Key, GcType> INTERNED = new ConcurrentHashMap<>();
    private static final Object TABLE_LOCK = new Object();
    /** By id; replaced (copied larger) under TABLE_LOCK, read racily: an id is published after its entry. */
    private static volatile GcType[] byId = new GcType[64];
    private static int nextId = 1;

    private final int id;
    private final long size;
    private final long ptrBytes;
    private final long[] bitmap;
    /** How messages name the type (its first user's layout, see {@link #nameIfUnnamed}); null until given. */
    private volatile String name;

    private record Key(long size, long[] bitmap) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.size == size && Arrays.equals(k.bitmap, bitmap);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(size) * 31 + Arrays.hashCode(bitmap);
        }
    }

    private GcType(int id, long size, long[] bitmap) {
        this.id = id;
        this.size = size;
        this.bitmap = bitmap;
        long last = -1;
        for (int w = bitmap.length - 1; w >= 0 && last < 0; w--) {
            if (bitmap[w] != 0) {
                last = w * 64L + 63 - Long.numberOfLeadingZeros(bitmap[w]);
            }
        }
        this.ptrBytes = (last + 1) * 8;
    }

    /**
     * The interned type of objects of {@code size} bytes whose word {@code i} is a pointer when bit {@code i} of
     * {@code bitmap} is set.
     *
     * @throws IllegalArgumentException when {@code size <= 0}, a bit lies at or past {@code size}, or there is no
     *                                  pointer at all (pointer-free objects have no type: they are noscan)
     */
    public static GcType of(long size, long[] bitmap) {
        if (size <= 0) {
            throw new IllegalArgumentException("type size must be positive: " + size);
        }
        long[] bits = bitmap.clone();
        int used = bits.length;
        while (used > 0 && bits[used - 1] == 0) {
            used--;
        }
        if (used == 0) {
            throw new IllegalArgumentException("a type without pointers needs no GcType (allocate it noscan)");
        }
        bits = Arrays.copyOf(bits, used);
        long lastWord = (used - 1) * 64L + 63 - Long.numberOfLeadingZeros(bits[used - 1]);
        if ((lastWord + 1) * 8 > size) {
            throw new IllegalArgumentException("pointer word " + lastWord + " lies past the " + size + "-byte object");
        }
        long[] key = bits;
        return INTERNED.computeIfAbsent(new Key(size, key), k -> register(k.size(), k.bitmap()));
    }

    private static GcType register(long size, long[] bits) {
        synchronized (TABLE_LOCK) {
            int id = nextId++;
            GcType t = new GcType(id, size, bits);
            GcType[] table = byId;
            if (id >= table.length) {
                table = Arrays.copyOf(table, table.length * 2);
            }
            table[id] = t;
            byId = table;
            return t;
        }
    }

    /** The type with id {@code id}, or null when no type has it (a corrupted malloc header). */
    static GcType byId(long id) {
        GcType[] table = byId;
        return id > 0 && id < table.length ? table[(int) id] : null;
    }

    /**
     * Gives the type a name for messages (a layout's description), unless it has one: interned types are shared
     * by every layout with the same size and pointers, so the first one names it.
     */
    public void nameIfUnnamed(String name) {
        if (this.name == null) {
            this.name = name;
        }
    }

    /** The name {@link #nameIfUnnamed} gave, or null. */
    public String name() {
        return name;
    }

    public int id() {
        return id;
    }

    public long size() {
        return size;
    }

    /** Go's {@code PtrBytes}: the prefix of one element that holds its pointers. */
    public long ptrBytes() {
        return ptrBytes;
    }

    /** The pointer bitmap of one element (bit w = word w); the caller must not modify it. */
    long[] bitmap() {
        return bitmap;
    }

    /**
     * The heap bits of a slot of {@code words} words (at most 64) holding {@code count} elements from its start:
     * bit w = word w of the slot is a pointer. The slack after the last element has no bits.
     */
    long slotBits(long count, int words) {
        if (count == 1 && bitmap.length == 1) {
            return words == 64 ? bitmap[0] : bitmap[0] & ((1L << words) - 1);   // bits past size are zero anyway
        }
        long dataBytes = count * size;
        long bits = 0;
        for (long w = 0; w < words && (w << 3) < dataBytes; w++) {
            long inElement = (w << 3) % size;
            if ((inElement & 7) == 0 && isPointerWord(inElement >>> 3)) {
                bits |= 1L << w;
            }
        }
        return bits;
    }

    /** Whether word {@code w} of one element is a pointer slot. */
    boolean isPointerWord(long w) {
        return w >= 0 && w < bitmap.length * 64L && (bitmap[(int) (w >>> 6)] & (1L << w)) != 0;
    }

    @Override
    public String toString() {
        return "GcType[" + id + ", " + size + " bytes, ptrBytes " + ptrBytes + "]";
    }
}
