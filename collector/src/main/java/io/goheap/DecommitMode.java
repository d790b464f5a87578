package io.goheap;

import io.goheap.ffi.OsMemory;

/**
 * How a heap returns free pages to the OS (Go's {@code GODEBUG=madvdontneed} and {@code harddecommit}). Immutable.
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

    private final OsMemory.DecommitMode osMode;

    DecommitMode(OsMemory.DecommitMode osMode) {
        this.osMode = osMode;
    }

    OsMemory.DecommitMode osMode() {
        return osMode;
    }
}
