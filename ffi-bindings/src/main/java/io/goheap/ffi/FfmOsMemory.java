package io.goheap.ffi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@link OsMemory} over FFM downcalls into libc: the default binding.
 *
 * <p>Invariants: any number of instances (one per owner, each with its own ranges, see {@link LinuxOsMemory});
 * the method handles are {@code static final} fields of the {@link Libc} holder, linked once per JVM, so C2
 * inlines the downcall stubs. Linking needs native access; when the JVM refuses it, {@code Libc}'s class
 * initialisation fails once, {@link #LINKAGE} remembers that as the JVM's {@link IllegalCallerException}, and
 * every {@link #create} throws a fresh {@link NativeAccessException} naming the flags (instead of
 * ExceptionInInitializerError the first time and NoClassDefFoundError after). {@code Libc} is touched only
 * after {@code LINKAGE} showed it initialised. Addresses and lengths travel as {@code long}: on linux/amd64
 * (enforced by {@link Platform}) a pointer and a {@code size_t} are passed in the same integer registers as a
 * {@code long}, and this saves wrapping every address in a {@link MemorySegment}. Thread-safe: each thread has its own errno capture buffer.
 *
 * <p><b>How errno is read, and why.</b> The plan was a plain downcall on the success path and, only after a
 * call returned -1, a second downcall to {@code __errno_location()} to read the thread's errno. Measured on
 * JDK 25.0.3 (Linux 6.18, 2 vCPUs), madvise failing alternately with EINVAL and ENOMEM and errno read that way
 * right after, while another thread looped {@code System.gc()} and {@code Thread.getAllStackTraces()} (forcing
 * safepoints and handshakes): 4 wrong values in 36 million failures (9 runs), each time EAGAIN (11) instead
 * of 22 or 12. EAGAIN is what a futex wait returns, so most likely the thread blocked for a safepoint in its
 * native-to-Java transition (or at a poll before the second downcall) and the VM's blocking code overwrote
 * errno before {@code __errno_location} was reached. The cold first failure and the first failure after C2 had
 * compiled the call site for success (an uncommon trap and deoptimisation between call and read) both read the
 * right value, but the race above makes the approach unsound. With
 * {@code Linker.Option.captureCallState("errno")}, which copies errno inside the downcall stub before that
 * transition: 0 wrong values in 16 million failures under the same load. Its cost is lost in the system call:
 * {@code madvise(MADV_NORMAL)} of one page, the cheapest call goheap makes, took 394–414 ns plain and 405–419 ns
 * captured (mean of 2 million calls, 5 runs each); real decommits cost microseconds. So the four system calls always capture errno, into a
 * per-thread buffer, and only {@code getpagesize} (which cannot fail) is a plain downcall. Re-issuing a call
 * to learn its errno is never done: a second mmap or munmap is not the same call.
 */
final class FfmOsMemory extends LinuxOsMemory {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** Per-thread errno capture buffer (a few bytes; freed with the thread's last reference to it). */
    private static final ThreadLocal<MemorySegment> CAPTURE_BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    /** Null when {@link Libc} initialised; else why it could not (the JVM's refusal of native access). */
    private static final Throwable LINKAGE = link();

    /** The downcall handles and the page size: initialised once; a refusal of native access fails it. */
    private static final class Libc {
        /** {@code void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)}. */
        static final MethodHandle MMAP = downcall("mmap",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        /** {@code int mprotect(void *addr, size_t len, int prot)}. */
        static final MethodHandle MPROTECT = downcall("mprotect",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
        /** {@code int madvise(void *addr, size_t length, int advice)}. */
        static final MethodHandle MADVISE = downcall("madvise",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
        /** {@code int munmap(void *addr, size_t length)}. */
        static final MethodHandle MUNMAP = downcall("munmap",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        /** {@code getpagesize()}, called once: it cannot fail, so a plain downcall without errno capture. */
        static final long PAGE_SIZE = pageSize(plainDowncall("getpagesize", FunctionDescriptor.of(JAVA_INT)));
        /** The transparent huge page size, read from sysfs once rather than per binding object. */
        static final long HUGE_PAGE_SIZE = readHugePageSize();

        private Libc() {
        }
    }

    private FfmOsMemory() {
        super(Libc.PAGE_SIZE, Libc.HUGE_PAGE_SIZE);
    }

    /**
     * A new binding object with no ranges.
     *
     * @throws NativeAccessException when the JVM refused native access to this module (a new one each call)
     */
    static FfmOsMemory create() {
        Platform.requireSupported();
        if (LINKAGE != null) {
            throw new NativeAccessException(FfmOsMemory.class.getModule(), LINKAGE);
        }
        return new FfmOsMemory();
    }

    /**
     * Initialises {@link Libc}. {@link Module#isNativeAccessEnabled()} cannot decide this up front: on JDK 25 it
     * is false under the default {@code --illegal-native-access=warn} (and under {@code allow}), where linking
     * works with a warning, so only the attempt tells. Errors other than a refusal (no such symbol, ...) are
     * not expected and propagate, failing this class's initialisation as before.
     */
    private static Throwable link() {
        try {
            MethodHandles.lookup().ensureInitialized(Libc.class);
            return null;
        } catch (IllegalAccessException e) {
            throw new AssertionError("a nested class is accessible to its host", e);
        } catch (ExceptionInInitializerError e) {
            if (e.getCause() instanceof IllegalCallerException refused) {
                return refused;
            }
            throw e;
        }
    }

    private static long pageSize(MethodHandle getpagesize) {
        try {
            return (int) getpagesize.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    long mmapReserve(long bytes) {
        MemorySegment state = CAPTURE_BUFFER.get();
        long address;
        try {
            address = (long) Libc.MMAP.invokeExact(state, 0L, bytes, PROT_NONE, MAP_RESERVE_FLAGS, -1, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (address == MAP_FAILED) {
            throw mmapFailed(bytes, errno(state));
        }
        return address;
    }

    @Override
    void mprotect(long address, long bytes, int prot) {
        MemorySegment state = CAPTURE_BUFFER.get();
        int result;
        try {
            result = (int) Libc.MPROTECT.invokeExact(state, address, bytes, prot);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (result != 0) {
            throw mprotectFailed(address, bytes, prot, errno(state));
        }
    }

    @Override
    void madvise(long address, long bytes, int advice) {
        MemorySegment state = CAPTURE_BUFFER.get();
        int result;
        try {
            result = (int) Libc.MADVISE.invokeExact(state, address, bytes, advice);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (result != 0) {
            throw madviseFailed(address, bytes, advice, errno(state));
        }
    }

    @Override
    void munmap(long address, long bytes) {
        MemorySegment state = CAPTURE_BUFFER.get();
        int result;
        try {
            result = (int) Libc.MUNMAP.invokeExact(state, address, bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (result != 0) {
            throw munmapFailed(address, bytes, errno(state));
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    // This module is goheap's one user of restricted methods (run with --enable-native-access).
    @SuppressWarnings("restricted")
    private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE_ERRNO);
    }

    @SuppressWarnings("restricted")
    private static MethodHandle plainDowncall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new IllegalStateException("libc has no symbol " + name));
    }

    /** A downcall throws only what its target throws, which for these C functions is nothing; keep it unchecked. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from a downcall", t);
    }
}
