package io.goheap.allocator;

/**
 * Maps an address to the object containing it (Go's {@code findObject}): the span from the page index, the
 * slot by divMagic, then the slot's layout (malloc header). Lock-free and read-only; a
 * query racing with a free of the same object may answer either way, as any such race would.
 */
final class ObjectLookup {
    record Found(long base, long usable) {
    }

    private ObjectLookup() {
    }

    /** @param exact require {@code address} to be the object's start (usableSize) rather than inside it (baseOf) */
    static Found find(MHeap heap, long address, boolean exact) {
        MSpan s = heap.spanOfObject(address);
        if (s.isLarge()) {
            if (!s.isAllocatedRacy(0)) {                 // freed, its span kept by a P for reuse
                throw new IllegalArgumentException(String.format(
                        "0x%x is not inside an allocated object (the large object at 0x%x was freed)", address, s.base));
            }
            return check(address, s.base, s.elemSize, exact);
        }
        long off = address - s.base;
        int idx = s.objectIndex(off);
        long slot = s.base + idx * s.elemSize;
        if (!s.isAllocatedRacy(idx)) {
            throw new IllegalArgumentException(String.format("0x%x is not inside an allocated object (free slot)", address));
        }
        if (s.hasHeader) {
            if (address < slot + SizeClasses.MALLOC_HEADER_SIZE) {
                throw new IllegalArgumentException(String.format(
                        "0x%x points at the malloc header of the object at 0x%x", address, slot + SizeClasses.MALLOC_HEADER_SIZE));
            }
            return check(address, slot + SizeClasses.MALLOC_HEADER_SIZE, s.elemSize - SizeClasses.MALLOC_HEADER_SIZE, exact);
        }
        return check(address, slot, s.elemSize, exact);
    }

    private static Found check(long address, long base, long usable, boolean exact) {
        if (exact && address != base) {
            throw new IllegalArgumentException(String.format(
                    "0x%x points inside the object at 0x%x, not at its start", address, base));
        }
        return new Found(base, usable);
    }
}
