package io.goheap.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The OS memory primitives goheap stands on (Go's {@code mem_linux.go}): address space moves between
 * <em>reserved</em> (owned, faults on access, no RSS), <em>committed</em> (readable and writable,
 * backed on first touch) and back, and is finally <em>released</em>.
 *
 * <p><b>Ownership.</b> Each binding object owns the ranges reserved through it: {@link #commit},
 * {@link #decommit}, {@link #adviseHugePages}, {@link #release} and {@link #segment} accept only a range inside
 * one live reservation of <em>this</em> object and throw {@link IllegalArgumentException} ("... is not inside a
 * range this binding reserved") for any other address, before any system call. The factories return a new
 * object on every call, so a caller can only ever touch memory it reserved itself through the object it holds;
 * keep one object per owner (a heap keeps one for its whole life). This is what keeps the binding module's
 * native access (the only module that needs it) from reaching arbitrary memory through this API, on the module
 * path and on the class path alike; on the module path the package is moreover exported only to goheap's own
 * modules.
 *
 * <p>Invariants and threading: every method is thread-safe; an object's only state besides the kernel's
 * mappings is its registry of live reservations. Callers own the ranges they pass (the page allocator decides
 * who may commit or decommit which pages, under its own lock). Addresses and lengths must be multiples of
 * {@link #pageSize()}; a violation throws {@link IllegalArgumentException} before any system call. A failing
 * system call throws {@link OsMemoryException} naming the call, its arguments and errno's text, and leaves the
 * mapping as the kernel left it (a failed madvise or mprotect changes nothing).
 *
 * <p>Implementations: {@link #ffm()} (the default; FFM downcalls that capture errno inside the call stub, see
 * {@code FfmOsMemory} for why errno cannot be read afterwards) and {@link #jnr()} (JNR-FFI). {@link #system()}
 * picks one from the system property {@value #BINDING_PROPERTY} ({@code ffm} or {@code jnr}). The FFM binding
 * needs native access for {@code io.goheap.ffi}: {@code --enable-native-access=io.goheap.ffi} on the module
 * path, {@code --enable-native-access=ALL-UNNAMED} on the class path; when the JVM refuses it, every call of
 * {@link #ffm()} throws {@link NativeAccessException} saying so.
 */
public interface OsMemory {

    /** System property choosing the binding for {@link #system()}: {@code ffm} (default) or {@code jnr}. */
    String BINDING_PROPERTY = "goheap.ffi";

    /** How {@link #decommit} returns committed pages to the OS. */
    enum DecommitMode {
        /** {@code madvise(MADV_DONTNEED)}: RSS drops at once; the pages read as zero on next touch. Go's Linux default. */
        DONTNEED,
        /** {@code madvise(MADV_FREE)}: the kernel reclaims lazily under pressure (RSS may not drop); contents undefined. */
        FREE,
        /** Go's {@code harddecommit}: {@code MADV_DONTNEED} and then {@code PROT_NONE}; {@link #commit} makes it usable again. */
        HARD
    }

    /** Binding name, {@code "ffm"} or {@code "jnr"}. */
    String name();

    /** The OS page size in bytes (4096 on linux/amd64). */
    long pageSize();

    /**
     * The transparent huge page size in bytes from
     * {@code /sys/kernel/mm/transparent_hugepage/hpage_pmd_size}, or 0 when unknown or not a power of two.
     */
    long hugePageSize();

    /**
     * Reserves {@code bytes} of address space: {@code mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE)}.
     * Costs no RSS; touching it faults until {@link #commit}ted.
     *
     * @return the base address, a multiple of the page size
     */
    long reserve(long bytes);

    /**
     * Reserves {@code bytes} aligned to {@code alignment} (a power of two, at least the page size): reserves
     * {@code bytes + alignment} and unmaps the unaligned head and tail.
     */
    long reserveAligned(long bytes, long alignment);

    /**
     * Makes a reserved (or hard-decommitted) range readable and writable: {@code mprotect(RW)}.
     *
     * @throws IllegalArgumentException when the range is malformed or not inside a live reservation of this object
     */
    void commit(long address, long bytes);

    /**
     * Returns committed pages to the OS in the given mode; the range stays mapped.
     *
     * @throws IllegalArgumentException when the range is malformed or not inside a live reservation of this object
     */
    void decommit(long address, long bytes, DecommitMode mode);

    /**
     * Unmaps a range: {@code munmap}. It may be part of a reservation; the rest stays reserved and usable.
     *
     * @throws IllegalArgumentException when the range is malformed or not inside a live reservation of this object
     * @throws IllegalStateException    while a segment from {@link #segment} over part of the range is alive
     *                                  (its arena not closed): close the arena first
     */
    void release(long address, long bytes);

    /**
     * {@code madvise(MADV_HUGEPAGE)} when {@code enable}, else {@code MADV_NOHUGEPAGE}.
     *
     * @throws IllegalArgumentException when the range is malformed or not inside a live reservation of this object
     */
    void adviseHugePages(long address, long bytes, boolean enable);

    /**
     * A segment over {@code [address, address + bytes)}, a range inside a live reservation of this object, that
     * lives as long as {@code arena}: accesses after the arena is closed throw instead of touching unmapped
     * memory, and {@link #release} refuses the range while the arena is open. This is the one place the rest of
     * goheap gets a raw range as a segment, so only this module performs restricted operations. Touching a page
     * that is reserved but not committed (or hard-decommitted) still faults, as the kernel decides.
     *
     * @throws IllegalArgumentException when the range is malformed or not inside a live reservation of this object
     * @throws IllegalStateException    when {@code arena} is closed
     */
    MemorySegment segment(long address, long bytes, Arena arena);

    /** The process's memory as the kernel sees it, from {@code /proc/self/smaps_rollup}. */
    ProcessMemory processMemory();

    /**
     * A new FFM binding object, owning no ranges yet (the downcall handles behind it are shared and linked once).
     *
     * @throws NativeAccessException         when the JVM refuses native access to {@code io.goheap.ffi}; thrown
     *                                       anew, with the same message, on every call
     * @throws UnsupportedOperationException on an OS or architecture other than linux/amd64
     */
    static OsMemory ffm() {
        Platform.requireSupported();
        return FfmOsMemory.create();
    }

    /**
     * A new JNR-FFI binding object, owning no ranges yet (libc is loaded through jnr-ffi once, on first use).
     *
     * @throws IllegalStateException         when jnr-ffi is not on the class path
     * @throws UnsupportedOperationException on an OS or architecture other than linux/amd64
     */
    static OsMemory jnr() {
        return JnrOsMemory.create();
    }

    /**
     * A new binding object of the kind chosen by {@value #BINDING_PROPERTY}, FFM by default.
     *
     * @throws IllegalArgumentException for an unknown binding name
     * @throws NativeAccessException         when the FFM binding is chosen and native access is refused
     * @throws UnsupportedOperationException on an OS or architecture other than linux/amd64
     */
    static OsMemory system() {
        Platform.requireSupported();
        String name = System.getProperty(BINDING_PROPERTY, "ffm");
        return switch (name) {
            case "ffm" -> ffm();
            case "jnr" -> jnr();
            default -> throw new IllegalArgumentException(
                    "unknown " + BINDING_PROPERTY + "=" + name + "; expected ffm or jnr");
        };
    }
}
