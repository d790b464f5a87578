package io.goheap;

/**
 * The collector found, in a pointer slot or a root, an address inside the heap where no object is allocated — a
 * pointer to an object freed explicitly, a stale address, or data stored as a pointer (Go's "found bad pointer
 * in Go heap", reported under {@code GODEBUG=invalidptr=1}, the default). A stop-the-world cycle, and a
 * {@code gc()}, abandon the cycle that found it (nothing is freed by it); a concurrent cycle the pacer started
 * reports a slot found bad by two consecutive marks (a slot in an object that became garbage during a mark may be
 * scanned once and is not reported) after it completed, to the next thread that allocates. The heap stays usable.
 * Immutable.
 */
public final class InvalidPointerException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** The bad address. */
    private final long pointer;
    /** The address of the slot that held it; 0 for a root. */
    private final long slot;

    InvalidPointerException(long pointer, long slot, String where) {
        this(pointer, slot, where, true);
    }

    /** {@code abandoned}: whether the cycle that found it was given up (else it completed, the value marking nothing). */
    InvalidPointerException(long pointer, long slot, String where, boolean abandoned) {
        super(String.format("invalid pointer 0x%x found in %s: no allocated object holds that address (freed"
                + " explicitly, stale, or not a pointer); %s", pointer, where,
                abandoned ? "the collection was abandoned" : "the collection completed without it"));
        this.pointer = pointer;
        this.slot = slot;
    }

    /** The same report, {@code how} appended to its message (a background cycle's, surfacing in a mutator). */
    InvalidPointerException(InvalidPointerException found, String how) {
        super(found.getMessage() + " (" + how + ")");
        this.pointer = found.pointer;
        this.slot = found.slot;
    }

    /** {@return the bad address} */
    public long pointer() {
        return pointer;
    }

    /** {@return the address of the heap slot that held it, or 0 when it was found in a root} */
    public long slot() {
        return slot;
    }
}
