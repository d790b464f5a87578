package io.goheap.scavenger;

import io.goheap.ffi.OsMemory;
import io.goheap.ffi.ProcessMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The system binding, recording every decommit, and failing the test (through {@link #violations}) when a decommit
 * reaches a range after {@link #release} unmapped it: what the heap's close protocol must make impossible.
 */
final class RecordingOsMemory implements OsMemory {
    private final OsMemory os = OsMemory.system();
    final List<long[]> decommits = new CopyOnWriteArrayList<>();
    final List<String> violations = new CopyOnWriteArrayList<>();
    /** When set, each decommit calls it first (a test holds a release in flight with it). */
    volatile Runnable beforeDecommit;
    private volatile long unmappedFrom = -1;
    private volatile long unmappedTo = -1;

    @Override
    public String name() {
        return os.name() + "+recording";
    }

    @Override
    public long pageSize() {
        return os.pageSize();
    }

    @Override
    public long hugePageSize() {
        return os.hugePageSize();
    }

    @Override
    public long reserve(long bytes) {
        return os.reserve(bytes);
    }

    @Override
    public long reserveAligned(long bytes, long alignment) {
        return os.reserveAligned(bytes, alignment);
    }

    @Override
    public void commit(long address, long bytes) {
        os.commit(address, bytes);
    }

    @Override
    public void decommit(long address, long bytes, DecommitMode mode) {
        Runnable hook = beforeDecommit;
        if (hook != null) {
            hook.run();
        }
        if (address < unmappedTo && address + bytes > unmappedFrom) {
            violations.add(String.format("decommit of [0x%x, +%d) after its range was unmapped", address, bytes));
            return;                             // the real call could hit someone else's mapping
        }
        decommits.add(new long[] {address, bytes});
        os.decommit(address, bytes, mode);
    }

    @Override
    public void release(long address, long bytes) {
        unmappedFrom = address;
        unmappedTo = address + bytes;
        os.release(address, bytes);
    }

    @Override
    public void adviseHugePages(long address, long bytes, boolean enable) {
        os.adviseHugePages(address, bytes, enable);
    }

    @Override
    public ProcessMemory processMemory() {
        return os.processMemory();
    }

    @Override
    public MemorySegment segment(long address, long bytes, Arena arena) {
        return os.segment(address, bytes, arena);
    }
}
