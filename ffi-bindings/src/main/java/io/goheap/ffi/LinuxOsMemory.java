package io.goheap.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The Linux half of {@link OsMemory} shared by both bindings: argument validation, the ownership registry, the
 * constants, and the composite operations ({@code reserveAligned}, hard decommit) built from four raw system
 * calls that each binding supplies. A subclass only says how to call {@code mmap}, {@code mprotect},
 * {@code madvise} and {@code munmap} and how to get their errno.
 *
 * <p><b>Why every binding object owns its ranges.</b> The raw calls can unmap, zero or mprotect any
 * memory of the process, and a segment over a raw address can read or write it; with native access granted
 * only to {@code io.goheap.ffi}, none of that power may leak to a caller. Module exports cannot stop a caller
 * on the class path, so the check is made on the object itself: each instance keeps a registry of the ranges
 * it reserved and are still mapped (base to end, in a {@link TreeMap}), and {@link #commit}, {@link #decommit},
 * {@link #adviseHugePages}, {@link #release} and {@link #segment} accept only a range inside one such
 * reservation; anything else throws {@link IllegalArgumentException} before any system call. The factories
 * ({@link OsMemory#ffm()}, {@link OsMemory#jnr()}, {@link OsMemory#system()}) return a new object on every call
 * (the method handles and the loaded libc stay shared statics, so an object costs a few fields), so whoever
 * holds an object can reach only what was reserved through it: the heap's own binding cannot be borrowed by
 * calling a factory. A system call costs microseconds, so the map lookup is lost in it. {@link #release} also
 * refuses (IllegalStateException) while a segment it handed out over the range is still alive, so no live
 * segment can outlast the mapping and end up over whatever the kernel maps there next.
 *
 * <p>Invariants: every public operation validates all its arguments and the ownership of the range before the
 * first system call, so an {@link IllegalArgumentException} means nothing was done; a raw call that fails
 * throws {@link OsMemoryException} with the errno of that very call. The registry holds exactly the ranges this
 * object mapped and has not unmapped: {@code reserve} and {@code reserveAligned} add the final range after
 * mmap succeeded, {@code release} removes (splits off) the sub-range after munmap succeeded.
 *
 * <p>Thread-safety: the registry is guarded by a read-write lock. Commit, decommit and huge-page advice hold
 * the read lock across their system call, so they run concurrently with each other (the allocator and the
 * scavenger share one object per heap; a plain monitor held across the call would serialise their madvise
 * calls). {@code release} holds the write lock across munmap; reserve and {@code segment} take it briefly to
 * change the registry or the lease list. So no call can act on a range after another thread's release of it
 * passed the check (checking under a lock and calling after it would leave that window open). The kernel
 * serialises concurrent calls on the same mappings.
 *
 * <p>Who may touch what: only this package calls the raw calls; only the two bindings of this package extend
 * this class (sealed). On the class path the jar is sealed, so no other jar adds classes to this package;
 * deep reflection into class-path code stays possible there, as for any class-path library.
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

    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    /** Live reservations of this object: base to end, disjoint. Guarded by {@link #lock}. */
    private final TreeMap<Long, Long> reserved = new TreeMap<>();
    /** Segments handed out by {@link #segment}, for release's liveness check. Guarded by {@link #lock}. */
    private final List<Lease> leases = new ArrayList<>();

    /** A segment over {@code [address, end)} whose arena's scope is weakly held: cleared once it is unreachable. */
    private record Lease(long address, long end, WeakReference<MemorySegment.Scope> scope) {
        boolean isAlive() {
            MemorySegment.Scope s = scope.get();
            return s != null && s.isAlive();
        }
    }

    /**
     * @param pageSize     the OS page size the subclass read from the kernel; must be a power of two
     * @param hugePageSize the transparent huge page size, or 0 (read once per binding class, not per object)
     */
    LinuxOsMemory(long pageSize, long hugePageSize) {
        Platform.requireSupported();
        if (pageSize <= 0 || Long.bitCount(pageSize) != 1) {
            throw new IllegalStateException("getpagesize() returned " + pageSize + ", not a power of two");
        }
        this.pageSize = pageSize;
        this.hugePageSize = hugePageSize;
    }

    /** The transparent huge page size from sysfs, or 0; for the bindings' shared statics. */
    static long readHugePageSize() {
        return KernelMemoryFiles.readHugePageSize(KernelMemoryFiles.HUGE_PAGE_SIZE);
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
        long base = mmapReserve(bytes);
        register(base, bytes);
        return base;
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
        register(aligned, bytes);
        return aligned;
    }

    @Override
    public final void commit(long address, long bytes) {
        requireRange(address, bytes);
        lock.readLock().lock();
        try {
            requireReserved(address, bytes);
            mprotect(address, bytes, PROT_READ_WRITE);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public final void decommit(long address, long bytes, DecommitMode mode) {
        requireRange(address, bytes);
        Objects.requireNonNull(mode, "mode");
        lock.readLock().lock();
        try {
            requireReserved(address, bytes);
            switch (mode) {
                case DONTNEED -> madvise(address, bytes, MADV_DONTNEED);
                case FREE -> madvise(address, bytes, MADV_FREE);
                case HARD -> {
                    madvise(address, bytes, MADV_DONTNEED);
                    mprotect(address, bytes, PROT_NONE);
                }
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public final void release(long address, long bytes) {
        requireRange(address, bytes);
        lock.writeLock().lock();
        try {
            Map.Entry<Long, Long> reservation = requireReserved(address, bytes);
            leases.removeIf(lease -> !lease.isAlive());
            for (Lease lease : leases) {
                if (lease.address() < address + bytes && address < lease.end()) {
                    throw new IllegalStateException("range [" + hex(address) + ", " + hex(address + bytes)
                            + ") is still covered by the segment [" + hex(lease.address()) + ", "
                            + hex(lease.end()) + "), whose arena is open; close the arena before releasing");
                }
            }
            munmap(address, bytes);
            long base = reservation.getKey();
            long end = reservation.getValue();
            reserved.remove(base);
            if (base < address) {
                reserved.put(base, address);
            }
            if (address + bytes < end) {
                reserved.put(address + bytes, end);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public final void adviseHugePages(long address, long bytes, boolean enable) {
        requireRange(address, bytes);
        lock.readLock().lock();
        try {
            requireReserved(address, bytes);
            madvise(address, bytes, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    @SuppressWarnings("restricted") // the one raw-address-to-segment conversion, only over this object's ranges
    public final MemorySegment segment(long address, long bytes, Arena arena) {
        requireRange(address, bytes);
        Objects.requireNonNull(arena, "arena");
        lock.writeLock().lock(); // the lease list changes
        try {
            requireReserved(address, bytes);
            leases.removeIf(lease -> !lease.isAlive());
            // throws IllegalStateException when the arena is closed already
            MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(bytes, arena, null);
            leases.add(new Lease(address, address + bytes, new WeakReference<>(segment.scope())));
            return segment;
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public final ProcessMemory processMemory() {
        return KernelMemoryFiles.readProcessMemory();
    }

    @Override
    public String toString() {
        return "OsMemory[" + name() + ", page " + pageSize + ", huge page " + hugePageSize + "]";
    }

    // ---- the ownership registry ----

    private void register(long base, long bytes) {
        lock.writeLock().lock();
        try {
            reserved.put(base, base + bytes); // the kernel never hands out a mapped range twice
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The live reservation holding all of {@code [address, address + bytes)}; the caller holds {@link #lock}. */
    private Map.Entry<Long, Long> requireReserved(long address, long bytes) {
        Map.Entry<Long, Long> reservation = reserved.floorEntry(address);
        if (reservation == null || address + bytes > reservation.getValue()) {
            throw new IllegalArgumentException("range [" + hex(address) + ", " + hex(address + bytes)
                    + ") is not inside a range this binding reserved (" + name()
                    + "; ranges reserved through another OsMemory object do not count)");
        }
        return reservation;
    }

    /** Number of live reservations; for tests. */
    final int reservationCount() {
        lock.readLock().lock();
        try {
            return reserved.size();
        } finally {
            lock.readLock().unlock();
        }
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
