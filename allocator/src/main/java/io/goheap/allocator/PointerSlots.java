package io.goheap.allocator;

/**
 * GODEBUG=checkptr's questions about an address (Go's {@code checkptr} family, asked of every pointer store and
 * load): is a word a pointer slot of an allocated scan object, and does a value point into an allocated object.
 * Each answer is null when all is well, else a sentence naming the address, the object it falls in (or that it
 * falls in none) and the object's type.
 *
 * <h2>What is read, and races</h2>
 * Only the Java-heap metadata — the page index, a span's allocation and remote-free bits, its type words
 * ({@link MSpan#typeInfo}, {@link MSpan#largeType}) and, for naming a small object's type, the type ids recorded
 * while checks are on ({@link MSpan#typeIds}) — never the heap's memory, so a store can never make a check pass.
 * Lock-free and read-only, as {@link ObjectLookup}: a check racing a free of the same object may answer either
 * way; a check of an object the calling thread allocated or reached through a slot it loaded is exact.
 */
final class PointerSlots {
    private PointerSlots() {
    }

    /** Null when {@code slot} is a pointer slot of an allocated scan object, else what it is instead. */
    static String slotProblem(MHeap heap, long slot) {
        MSpan s = heap.findSpan(slot);
        if (s == null) {
            return String.format("slot 0x%x is in no allocated object (no span in use there)", slot);
        }
        if (s.isLarge()) {
            if (!s.isAllocatedRacy(0) || s.isRemoteFreedRacy(0)) {
                return String.format("slot 0x%x is in the freed large object at 0x%x", slot, s.base);
            }
            GcType t = s.largeType;
            long word = (slot - s.base) >>> 3;
            if (isPointerAt(t, s.largeCount, word * 8)) {
                return null;
            }
            return notAPointerSlot(slot, s.base, t, s.largeCount, s.noscan, s.elemSize);
        }
        int idx = s.objectIndex(slot - s.base);
        long slotStart = s.base + idx * s.elemSize;
        if (!s.isAllocatedRacy(idx) || s.isRemoteFreedRacy(idx)) {
            return String.format("slot 0x%x is in a free %d-byte slot at 0x%x (no object is allocated there)",
                    slot, s.elemSize, slotStart);
        }
        if (s.hasHeader && slot < slotStart + SizeClasses.MALLOC_HEADER_SIZE) {
            long object = slotStart + SizeClasses.MALLOC_HEADER_SIZE;
            long header = s.typeInfo[idx];
            return String.format("slot 0x%x is the malloc header of the object at 0x%x (%s)", slot, object,
                    typeName(GcType.byId(header & 0xFFFF_FFFFL), header >>> 32));
        }
        long object = s.hasHeader ? slotStart + SizeClasses.MALLOC_HEADER_SIZE : slotStart;
        if (s.noscan) {
            return notAPointerSlot(slot, object, null, 0, true, s.elemSize);
        }
        long word = (slot - object) >>> 3;
        if (s.hasHeader) {
            long header = s.typeInfo[idx];
            GcType t = GcType.byId(header & 0xFFFF_FFFFL);
            long count = header >>> 32;
            if (isPointerAt(t, count, word * 8)) {
                return null;
            }
            return notAPointerSlot(slot, object, t, count, false, s.elemSize - SizeClasses.MALLOC_HEADER_SIZE);
        }
        if ((HeapBits.read(s, object) & (1L << word)) != 0) {
            return null;
        }
        int[] ids = s.typeIds;
        long recorded = ids == null ? 0 : ids[idx];
        return notAPointerSlot(slot, object, GcType.byId(recorded & 0xFFFF_FFFFL), 0, false, s.elemSize);
    }

    /** Null when {@code value} is 0, outside the heap's range, or inside an allocated object; else what it is. */
    static String valueProblem(MHeap heap, long value) {
        if (value == 0 || !heap.space.contains(value)) {
            return null;
        }
        MSpan s = heap.findSpan(value);
        if (s == null) {
            return String.format("0x%x points into the heap where no object is allocated (no span in use there)",
                    value);
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(value - s.base);
        if (!s.isAllocatedRacy(idx) || s.isRemoteFreedRacy(idx)) {
            return String.format("0x%x points into a freed object (the %d-byte slot at 0x%x)", value,
                    s.elemSize, s.base + idx * s.elemSize);
        }
        if (s.hasHeader && value < s.base + idx * s.elemSize + SizeClasses.MALLOC_HEADER_SIZE) {
            return String.format("0x%x points at the malloc header of the object at 0x%x", value,
                    s.base + idx * s.elemSize + SizeClasses.MALLOC_HEADER_SIZE);
        }
        return null;
    }

    /** Whether byte {@code offset} of {@code count} elements of {@code t} starts a pointer slot. */
    private static boolean isPointerAt(GcType t, long count, long offset) {
        if (t == null || offset >= count * t.size()) {
            return false;
        }
        long inElement = offset % t.size();
        return (inElement & 7) == 0 && t.isPointerWord(inElement >>> 3);
    }

    private static String notAPointerSlot(long slot, long object, GcType t, long count, boolean noscan, long bytes) {
        long offset = slot - object;
        String what = noscan ? "a pointer-free object" : typeName(t, count);
        if (offset >= bytes) {
            return String.format("slot 0x%x is %d bytes past the end of the %d-byte object at 0x%x (%s)", slot,
                    offset - bytes, bytes, object, what);
        }
        return String.format("slot 0x%x is the data word at offset %d of the object at 0x%x (%s), not a pointer slot",
                slot, offset, object, what);
    }

    /** The type as a message names it: its layout when one was given, its size, and the element count. */
    static String typeName(GcType t, long count) {
        if (t == null) {
            return "type not recorded";
        }
        String name = t.name();
        return (name == null ? t.toString() : "type " + name + ", " + t.size() + " bytes")
                + (count > 1 ? " × " + count : "");
    }
}
