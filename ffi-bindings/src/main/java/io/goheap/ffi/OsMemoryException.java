package io.goheap.ffi;

import java.util.Objects;

/**
 * A memory system call that the kernel refused, e.g.
 * {@code madvise(0x7f0000000000, 65536, MADV_DONTNEED) failed: errno 22 (Invalid argument)}.
 *
 * <p>Immutable. Thrown only after the arguments passed {@link OsMemory}'s validation, so it always means the
 * kernel said no (out of address space, a range that is not mapped, ...), never that the caller's numbers were
 * malformed.
 */
public final class OsMemoryException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /**
     * @param call      the system call's name, e.g. {@code "madvise"}
     * @param arguments the call's arguments as they should appear between the parentheses
     * @param errno     the errno the call left behind
     */
    public OsMemoryException(String call, String arguments, int errno) {
        super(Objects.requireNonNull(call, "call") + "(" + Objects.requireNonNull(arguments, "arguments")
                + ") failed: errno " + errno + " (" + Errno.describe(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The system call that failed, e.g. {@code "mmap"}. */
    public String call() {
        return call;
    }

    /** The errno it failed with, e.g. 12 for {@code ENOMEM}. */
    public int errno() {
        return errno;
    }
}
