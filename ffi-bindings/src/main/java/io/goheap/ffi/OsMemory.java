package io.goheap.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The OS memory primitives goheap stands on (Go's {@code mem_linux.go}): address space moves between
 * <em>reserved</em> (owned, faults on access, no RSS), <em>committed</em> (readable and writable,
 * backed on first touch) and back, and is finally <em>released</em>.
 *
 * <p>Invariants and threading: every method is thread-safe and stateless apart from the kernel's
 * mappings; callers own the ranges they pass (the page allocator decides who may commit or decommit
 * which pages, under its own lock). Addresses and lengths must be multiples of {@link #pageSize()};
 * a violation throws {@link IllegalArgumentException} before any system call. A failing system call
 * throws {@link OsMemoryException} naming the call, its arguments and errno's text, and leaves the
 * mapping as the kernel left it (a failed madvise or mprotect changes nothing).
 *
 * <p>Implementations: {@link #ffm()} (the default; FFM downcalls that capture errno inside the call stub, see
 * {@code FfmOsMemory} for why errno cannot be read afterwards) and {@link #jnr()} (JNR-FFI). {@link #system()} picks one from the system property {@value #BINDING_PROPERTY}
 * ({@code ffm} or {@code jnr}).
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

    /** Makes a reserved (or hard-decommitted) range readable and writable: {@code mprotect(RW)}. */
    void commit(long address, long bytes);

    /** Returns committed pages to the OS in the given mode; the range stays mapped. */
    void decommit(long address, long bytes, DecommitMode mode);

    /** Unmaps a range: {@code munmap}. */
    void release(long address, long bytes);

    /** {@code madvise(MADV_HUGEPAGE)} when {@code enable}, else {@code MADV_NOHUGEPAGE}. */
    void adviseHugePages(long address, long bytes, boolean enable);

    /** The process's memory as the kernel sees it, from {@code /proc/self/smaps_rollup}. */
    ProcessMemory processMemory();

    /**
     * A segment over {@code [address, address + bytes)} that lives as long as {@code arena}: accesses after the
     * arena is closed throw instead of touching unmapped memory. This is the one place the rest of goheap gets
     * a raw range as a segment, so only this module performs restricted operations.
     */
    @SuppressWarnings("restricted") // the one raw-address-to-segment conversion; callers pass ranges they mapped
    static MemorySegment segment(long address, long bytes, Arena arena) {
        return MemorySegment.ofAddress(address).reinterpret(bytes, arena, null);
    }

    /**
     * The FFM binding (shared instance).
     *
     * @throws UnsupportedOperationException on an OS or architecture other than linux/amd64
     */
    static OsMemory ffm() {
        Platform.requireSupported(); // before FfmOsMemory's class initialisation, so the error is not wrapped
        return FfmOsMemory.INSTANCE;
    }

    /**
     * The JNR-FFI binding (created on first use).
     *
     * @throws IllegalStateException         when jnr-ffi is not on the class path
     * @throws UnsupportedOperationException on an OS or architecture other than linux/amd64
     */
    static OsMemory jnr() {
        return JnrOsMemory.instance();
    }

    /**
     * The binding chosen by {@value #BINDING_PROPERTY}, FFM by default.
     *
     * @throws IllegalArgumentException for an unknown binding name
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
