package io.goheap.allocator;

import io.goheap.ffi.OsMemory;

/**
 * How a heap returns free pages to the OS (Go's {@code debug.madvdontneed} and {@code harddecommit}). The heap's
 * own name for the OS binding's modes: the binding module is exported to goheap's modules only, so a user chooses
 * here. Immutable.
 */
public enum DecommitMode {
    /** {@code madvise(MADV_DONTNEED)}: RSS drops at once; the pages read as zero when used again. Go's Linux default. */
    DONTNEED(OsMemory.DecommitMode.DONTNEED),
    /** {@code madvise(MADV_FREE)}: the kernel reclaims lazily, under memory pressure; RSS may not drop. */
    FREE(OsMemory.DecommitMode.FREE),
    /**
     * Go's {@code harddecommit}: {@code MADV_DONTNEED} then {@code PROT_NONE}. A debugging mode: reading or writing
     * a freed object after its pages went back to the OS faults and ends the JVM instead of going unnoticed.
     */
    HARD(OsMemory.DecommitMode.HARD);

    private final OsMemory.DecommitMode os;

    DecommitMode(OsMemory.DecommitMode os) {
        this.os = os;
    }

    OsMemory.DecommitMode os() {
        return os;
    }
}
