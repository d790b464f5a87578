package io.goheap.ffi;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;

/**
 * {@link OsMemory} over JNR-FFI (jnr-ffi 2.2.x): the second binding, chosen with {@code -Dgoheap.ffi=jnr}, kept
 * so the two can be compared and so a JVM without FFM-friendly flags has a fallback.
 *
 * <p>Invariants: any number of instances (one per owner, each with its own ranges, see {@link LinuxOsMemory}),
 * all sharing one libc proxy loaded on first use; jnr-ffi is an optional dependency, so this class checks that
 * it is present before touching any of its types and otherwise throws {@link IllegalStateException}. JNR's
 * native stub saves errno right after every call into a per-thread slot ({@link Runtime#getLastError()}), so
 * errno read after a failure is the failing call's own. Thread-safe:
 * the library proxy is stateless and the errno slot is per thread.
 *
 * <p>Known jnr-ffi gotcha (reference/toolchain.md §3): {@code mmap} must be declared as returning a
 * {@link Pointer} with a {@code Pointer} address parameter; declared with {@code long}s it failed with EINVAL.
 * The other calls take the address as a {@code long}, which works.
 */
final class JnrOsMemory extends LinuxOsMemory {

    /** The libc functions this binding calls; public because jnr-ffi generates its implementation elsewhere. */
    public interface LibC {
        Pointer mmap(Pointer address, @size_t long length, int prot, int flags, int fd, @off_t long offset);

        int mprotect(long address, @size_t long length, int prot);

        int madvise(long address, @size_t long length, int advice);

        int munmap(long address, @size_t long length);

        int getpagesize();
    }

    private static final String JNR_MARKER_CLASS = "jnr.ffi.LibraryLoader";
    private static final Object LOCK = new Object();
    /** The libc proxy and page sizes every instance shares; null until the first successful load. */
    private static volatile Loaded loaded;

    /** What loading libc through jnr-ffi produced; immutable. */
    private record Loaded(LibC libc, Runtime runtime, long pageSize, long hugePageSize) {
    }

    private final LibC libc;
    private final Runtime runtime;

    private JnrOsMemory(Loaded shared) {
        super(shared.pageSize(), shared.hugePageSize());
        this.libc = shared.libc();
        this.runtime = shared.runtime();
    }

    /**
     * A new binding object with no ranges, loading libc through jnr-ffi on the first call.
     *
     * @throws IllegalStateException         when jnr-ffi is not on the class path
     * @throws NativeAccessException         when jnr-ffi cannot load its native stub (native access refused)
     * @throws UnsupportedOperationException on a platform other than linux/amd64
     */
    static JnrOsMemory create() {
        Loaded shared = loaded;
        if (shared == null) {
            synchronized (LOCK) {
                shared = loaded;
                if (shared == null) {
                    Platform.requireSupported();
                    requireJnrOnClassPath();
                    LibC libc;
                    Runtime runtime;
                    long pageSize;
                    try {
                        libc = LibraryLoader.create(LibC.class).load("c");
                        runtime = Runtime.getRuntime(libc);
                        pageSize = libc.getpagesize();
                    } catch (LinkageError | RuntimeException refused) {
                        // jnr-ffi loads its JNI stub on first use: refused native access surfaces here as an
                        // UnsatisfiedLinkError ("could not load FFI provider") or an IllegalCallerException
                        throw new NativeAccessException("JNR", JnrOsMemory.class.getModule(), refused);
                    }
                    shared = new Loaded(libc, runtime, pageSize, readHugePageSize());
                    loaded = shared;
                }
            }
        }
        return new JnrOsMemory(shared);
    }

    private static void requireJnrOnClassPath() {
        try {
            Class.forName(JNR_MARKER_CLASS, false, JnrOsMemory.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("the jnr binding (-D" + BINDING_PROPERTY
                    + "=jnr) needs jnr-ffi (com.github.jnr:jnr-ffi 2.2.x) on the class path", e);
        }
    }

    @Override
    public String name() {
        return "jnr";
    }

    @Override
    long mmapReserve(long bytes) {
        Pointer result = libc.mmap(null, bytes, PROT_NONE, MAP_RESERVE_FLAGS, -1, 0L);
        long address = result == null ? 0L : result.address();
        if (address == MAP_FAILED || address == 0L) {
            throw mmapFailed(bytes, runtime.getLastError());
        }
        return address;
    }

    @Override
    void mprotect(long address, long bytes, int prot) {
        if (libc.mprotect(address, bytes, prot) != 0) {
            throw mprotectFailed(address, bytes, prot, runtime.getLastError());
        }
    }

    @Override
    void madvise(long address, long bytes, int advice) {
        if (libc.madvise(address, bytes, advice) != 0) {
            throw madviseFailed(address, bytes, advice, runtime.getLastError());
        }
    }

    @Override
    void munmap(long address, long bytes) {
        if (libc.munmap(address, bytes) != 0) {
            throw munmapFailed(address, bytes, runtime.getLastError());
        }
    }
}
