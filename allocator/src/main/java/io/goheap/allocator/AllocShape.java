package io.goheap.allocator;

/**
 * How an allocation of one object type is carried out, worked out once per type instead of on every allocation:
 * its size class and mcache slot, whether it goes to the tiny allocator, and its type record (the heap bits of
 * one slot, or the malloc header's word). The collector keeps one per {@code HeapType}, so a collected allocation
 * looks up nothing but its span ({@link MCache#mallocShaped}).
 *
 * <h2>Kinds</h2>
 * <ul>
 *   <li>{@link #TINY}: collected, pointer-free, under {@link SizeClasses#TINY_SIZE} bytes: packed into the P's
 *       current 16-byte tiny block (Go's tiny allocator);</li>
 *   <li>{@link #NOSCAN}: a pointer-free small object (nothing to record);</li>
 *   <li>{@link #HEAP_BITS}: a small scan object of at most 512 bytes: {@link #heapBits} are its slot's bits;</li>
 *   <li>{@link #HEADER}: a larger small scan object: {@link #header} is its malloc header's word;</li>
 *   <li>{@link #LARGE}: a large object (its own span), recorded in the span.</li>
 * </ul>
 * Immutable, so any thread may use one.
 */
public final class AllocShape {
    static final int TINY = 0, NOSCAN = 1, HEAP_BITS = 2, HEADER = 3, LARGE = 4;

    final long size;
    final long count;
    final GcType type;
    final boolean noscan;
    final int kind;
    /** Size class and collected mcache slot; unused for large objects. */
    final int sizeClass;
    final int cacheClass;
    /** HEAP_BITS: the slot's pointer bits (bit w = word w). */
    final long heapBits;
    /** HEADER: the malloc header word (type id, element count). */
    final long header;
    /** TINY: the alignment within the block (8, 4, 2 or 1 bytes, as Go's tiny allocator aligns). */
    final long tinyAlign;

    private AllocShape(long size, long count, GcType type) {
        this.size = size;
        this.count = count;
        this.type = type;
        this.noscan = type == null;
        if (size > SizeClasses.MAX_SMALL_ALLOC) {
            kind = LARGE;
            sizeClass = 0;
            cacheClass = 0;
            heapBits = 0;
            header = 0;
            tinyAlign = 0;
            return;
        }
        boolean hasHeader = !noscan && size > SizeClasses.MIN_SIZE_FOR_MALLOC_HEADER;
        sizeClass = SizeClasses.sizeToClass(hasHeader ? size + SizeClasses.MALLOC_HEADER_SIZE : size);
        if (noscan && size < SizeClasses.TINY_SIZE) {
            kind = TINY;
            cacheClass = MSpan.TINY_CACHE_CLASS;
            tinyAlign = (size & 7) == 0 ? 8 : (size & 3) == 0 ? 4 : (size & 1) == 0 ? 2 : 1;
            heapBits = 0;
            header = 0;
            return;
        }
        tinyAlign = 0;
        cacheClass = MSpan.cacheClass(SizeClasses.spanClass(sizeClass, noscan), true);
        if (noscan) {
            kind = NOSCAN;
            heapBits = 0;
            header = 0;
        } else if (hasHeader) {
            kind = HEADER;
            heapBits = 0;
            header = ((long) type.id() & 0xFFFF_FFFFL) | (count << 32);
        } else {
            kind = HEAP_BITS;
            heapBits = type.slotBits(count, (int) (SizeClasses.classSize(sizeClass) >>> 3));
            header = 0;
        }
    }

    /**
     * The shape of a collected object of {@code size} bytes holding {@code count} elements of {@code type} (null:
     * no pointers).
     *
     * @throws IllegalArgumentException when {@code size} is not positive
     */
    public static AllocShape collected(long size, long count, GcType type) {
        if (size <= 0) {
            throw new IllegalArgumentException("object size must be positive: " + size);
        }
        return new AllocShape(size, count, type);
    }

    /** Whether objects of this shape go to the tiny allocator. */
    public boolean isTiny() {
        return kind == TINY;
    }
}
