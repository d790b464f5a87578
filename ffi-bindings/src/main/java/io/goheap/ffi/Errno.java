package io.goheap.ffi;

/**
 * Linux errno values the memory calls can produce, with glibc's {@code strerror} wording. A table rather than a
 * call to {@code strerror} so that an error message never needs a further native call (and cannot fail while
 * reporting a failure).
 *
 * <p>Stateless and thread-safe.
 */
final class Errno {

    static final int EPERM = 1;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EFAULT = 14;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int EINVAL = 22;
    static final int ENFILE = 23;
    static final int EMFILE = 24;
    static final int ENOSPC = 28;
    static final int ENOSYS = 38;
    static final int EOVERFLOW = 75;
    static final int EOPNOTSUPP = 95;

    private Errno() {
    }

    /** glibc's text for {@code errno}, or {@code "unknown error"} for a value outside the table. */
    static String describe(int errno) {
        return switch (errno) {
            case EPERM -> "Operation not permitted";
            case EINTR -> "Interrupted system call";
            case EAGAIN -> "Resource temporarily unavailable";
            case ENOMEM -> "Cannot allocate memory";
            case EACCES -> "Permission denied";
            case EFAULT -> "Bad address";
            case EBUSY -> "Device or resource busy";
            case EEXIST -> "File exists";
            case EINVAL -> "Invalid argument";
            case ENFILE -> "Too many open files in system";
            case EMFILE -> "Too many open files";
            case ENOSPC -> "No space left on device";
            case ENOSYS -> "Function not implemented";
            case EOVERFLOW -> "Value too large for defined data type";
            case EOPNOTSUPP -> "Operation not supported";
            default -> "unknown error";
        };
    }
}
