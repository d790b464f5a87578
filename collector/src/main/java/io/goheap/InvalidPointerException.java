package io.goheap;

/**
 * The collector found, in a pointer slot or a root, an address inside the heap where no object is allocated — a
 * pointer to an object freed explicitly, a stale address, or data stored as a pointer (Go's "found bad pointer
 * in Go heap", reported under {@code GODEBUG=invalidptr=1}, the default). The cycle that found it is abandoned
 * and nothing is freed by it; the heap stays usable. Immutable.
 */
public final class InvalidPointerException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final long pointer;
    private final long slot;

    InvalidPointerException(long pointer, long slot, String where) {
        super(String.format("invalid pointer 0x%x found in %s: no allocated object holds that address (freed"
                + " explicitly, stale, or not a pointer); the collection was abandoned", pointer, where));
        this.pointer = pointer;
        this.slot = slot;
    }

    /** The bad address. */
    public long pointer() {
        return pointer;
    }

    /** The address of the heap slot that held it, or 0 when it was found in a root. */
    public long slot() {
        return slot;
    }
}
