package io.goheap.ffi;

import java.util.Objects;

/**
 * The Linux half of {@link OsMemory} shared by both bindings: argument validation, the constants, and the
 * composite operations ({@code reserveAligned}, hard decommit) built from four raw system calls that each
 * binding supplies. A subclass only says how to call {@code mmap}, {@code mprotect}, {@code madvise} and
 * {@code munmap} and how to get their errno.
 *
 * <p>Invariants: every public operation validates all its arguments before the first system call, so an
 * {@link IllegalArgumentException} means nothing was done; a raw call that fails throws
 * {@link OsMemoryException} with the errno of that very call. Thread-safe: the only state is the immutable
 * page sizes; the kernel serialises concurrent calls on the same mappings.
 */
abstract sealed class LinuxOsMemory implements OsMemory permits FfmOsMemory, JnrOsMemory {

    static final int PROT_NONE = 0;
    static final int PROT_READ_WRITE = 0x1 | 0x2;
    /** {@code MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE}: private, no file, no swap reservation. */
    static final int MAP_RESERVE_FLAGS = 0x02 | 0x20 | 0x4000;
    static final int MADV_DONTNEED = 4;
    static final int MADV_FREE = 8;
    static final int MADV_HUGEPAGE = 14;
    static final int MADV_NOHUGEPAGE = 15;
    /** mmap's failure value, {@code (void *) -1}. */
    static final long MAP_FAILED = -1L;

    private final long pageSize;
    private final long hugePageSize;

    /** @param pageSize the OS page size the subclass read from the kernel; must be a power of two */
    LinuxOsMemory(long pageSize) {
        Platform.requireSupported();
        if (pageSize <= 0 || Long.bitCount(pageSize) != 1) {
            throw new IllegalStateException("getpagesize() returned " + pageSize + ", not a power of two");
        }
        this.pageSize = pageSize;
        this.hugePageSize = KernelMemoryFiles.readHugePageSize(KernelMemoryFiles.HUGE_PAGE_SIZE);
    }

    // ---- the four raw calls a binding provides; arguments are already valid ----

    /** {@code mmap(NULL, bytes, PROT_NONE, MAP_RESERVE_FLAGS, -1, 0)}; the base address, or OsMemoryException. */
    abstract long mmapReserve(long bytes);

    /** {@code mprotect}; OsMemoryException when it returns -1. */
    abstract void mprotect(long address, long bytes, int prot);

    /** {@code madvise}; OsMemoryException when it returns -1. */
    abstract void madvise(long address, long bytes, int advice);

    /** {@code munmap}; OsMemoryException when it returns -1. */
    abstract void munmap(long address, long bytes);

    // ---- OsMemory ----

    @Override
    public final long pageSize() {
        return pageSize;
    }

    @Override
    public final long hugePageSize() {
        return hugePageSize;
    }

    @Override
    public final long reserve(long bytes) {
        requireLength(bytes);
        return mmapReserve(bytes);
    }

    @Override
    public final long reserveAligned(long bytes, long alignment) {
        requireLength(bytes);
        if (alignment < pageSize || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException(
                    "alignment " + alignment + " is not a power of two >= the page size " + pageSize);
        }
        if (bytes > Long.MAX_VALUE - alignment) {
            throw new IllegalArgumentException(
                    "length " + bytes + " plus alignment " + alignment + " overflows a long");
        }
        long padded = bytes + alignment;
        long raw = mmapReserve(padded);
        long aligned = (raw + alignment - 1) & -alignment;
        long head = aligned - raw;
        long tail = padded - head - bytes;
        try {
            if (head > 0) {
                munmap(raw, head);
            }
            if (tail > 0) {
                munmap(aligned + bytes, tail);
            }
        } catch (OsMemoryException e) {
            // Not expected (the range is ours and page aligned); give the whole padded range back and report.
            try {
                munmap(raw, padded);
            } catch (OsMemoryException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return aligned;
    }

    @Override
    public final void commit(long address, long bytes) {
        requireRange(address, bytes);
        mprotect(address, bytes, PROT_READ_WRITE);
    }

    @Override
    public final void decommit(long address, long bytes, DecommitMode mode) {
        requireRange(address, bytes);
        Objects.requireNonNull(mode, "mode");
        switch (mode) {
            case DONTNEED -> madvise(address, bytes, MADV_DONTNEED);
            case FREE -> madvise(address, bytes, MADV_FREE);
            case HARD -> {
                madvise(address, bytes, MADV_DONTNEED);
                mprotect(address, bytes, PROT_NONE);
            }
        }
    }

    @Override
    public final void release(long address, long bytes) {
        requireRange(address, bytes);
        munmap(address, bytes);
    }

    @Override
    public final void adviseHugePages(long address, long bytes, boolean enable) {
        requireRange(address, bytes);
        madvise(address, bytes, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    }

    @Override
    public final ProcessMemory processMemory() {
        return KernelMemoryFiles.readProcessMemory();
    }

    @Override
    public String toString() {
        return "OsMemory[" + name() + ", page " + pageSize + ", huge page " + hugePageSize + "]";
    }

    // ---- validation ----

    private void requireLength(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("length " + bytes + " is not positive");
        }
        if ((bytes & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException("length " + bytes + " is not a multiple of the page size " + pageSize);
        }
    }

    private void requireRange(long address, long bytes) {
        if (address <= 0) {
            // 0 is NULL; a negative long is above 2^63, where amd64 has no user-space addresses.
            throw new IllegalArgumentException("address " + hex(address) + " is not a user-space address");
        }
        if ((address & (pageSize - 1)) != 0) {
            throw new IllegalArgumentException(
                    "address " + hex(address) + " is not a multiple of the page size " + pageSize);
        }
        requireLength(bytes);
        if (address > Long.MAX_VALUE - bytes) {
            throw new IllegalArgumentException(
                    "range " + hex(address) + " + " + bytes + " overflows the address space");
        }
    }

    // ---- failure messages, shared so both bindings report alike ----

    static OsMemoryException mmapFailed(long bytes, int errno) {
        return new OsMemoryException("mmap",
                "0x0, " + bytes + ", PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0", errno);
    }

    static OsMemoryException mprotectFailed(long address, long bytes, int prot, int errno) {
        String protName = prot == PROT_NONE ? "PROT_NONE" : prot == PROT_READ_WRITE ? "PROT_READ|PROT_WRITE"
                : Integer.toString(prot);
        return new OsMemoryException("mprotect", hex(address) + ", " + bytes + ", " + protName, errno);
    }

    static OsMemoryException madviseFailed(long address, long bytes, int advice, int errno) {
        return new OsMemoryException("madvise", hex(address) + ", " + bytes + ", " + adviceName(advice), errno);
    }

    static OsMemoryException munmapFailed(long address, long bytes, int errno) {
        return new OsMemoryException("munmap", hex(address) + ", " + bytes, errno);
    }

    static String adviceName(int advice) {
        return switch (advice) {
            case MADV_DONTNEED -> "MADV_DONTNEED";
            case MADV_FREE -> "MADV_FREE";
            case MADV_HUGEPAGE -> "MADV_HUGEPAGE";
            case MADV_NOHUGEPAGE -> "MADV_NOHUGEPAGE";
            default -> Integer.toString(advice);
        };
    }

    static String hex(long address) {
        return "0x" + Long.toHexString(address);
    }
}
