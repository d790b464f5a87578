package io.goheap.allocator;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.AddressSpace;
import io.goheap.scavenger.Scavenger;

import java.lang.foreign.MemorySegment;

/**
 * An off-heap heap with Go's allocator: size classes, per-P caches, spans, and large objects, explicit
 * checked {@link #free}, and Go's {@link AllocStats}. Addresses are absolute {@code long}s inside one reserved
 * range; read and write them through {@link #segment()} at offset {@code address - base()}.
 *
 * <h2>Two ways in</h2>
 * <ul>
 *   <li>The methods of this class may be called from any thread. Each call borrows one of the heap's Ps (a CAS
 *       to take it, a release store to give it back).</li>
 *   <li>{@link #attach()} returns a {@link Mutator} that keeps a P until it is closed: the hot path, with no
 *       lock, no Java allocation and no volatile write per small allocation or local free. Close it when the
 *       thread stops using the heap for a while; while it is open, that P's cache is not available to
 *       other threads (as a goroutine holds its P).</li>
 * </ul>
 * The heap starts with {@link #maxProcs()} (GOMAXPROCS) Ps and makes more when every P is held, so any number of
 * threads may attach or call at once and none waits for another to let a P go (see {@code Procs}).
 *
 * <h2>Errors</h2>
 * Sizes must be in [1, reservation]: otherwise {@link IllegalArgumentException}; an object that cannot fit the
 * reservation's free space (or the largest object, 2^31 − 1 pages) is an {@link OutOfMemoryError} naming the
 * size, and the heap stays usable. {@code free} of an address outside the heap, inside an object rather than at
 * its start, or at a scan object's malloc header throws {@link IllegalArgumentException}; of an address where no
 * object is allocated — a double free, or an address never handed out — {@link IllegalStateException} ("double
 * free or never allocated": once a slot is free the heap cannot tell the two apart). In every case the heap is
 * left as it was. Any use after {@link #close()} throws {@link IllegalStateException} "heap is closed" — also
 * for threads that were waiting for a P when the heap closed, and for an allocation that overlapped the close
 * (no address of a closed heap is ever returned); so does any access through {@link #segment()}. Exhausting the
 * reserved range throws {@link OutOfMemoryError}.
 *
 * <p>What is not caught: two threads freeing the same object at the same moment race in the caller's code, as
 * with {@code malloc}. The second free is reported whenever it can tell (also when the first emptied the span),
 * but one that races with the owner's own free of that object can go unnoticed, and if the slot is reused
 * before the racing free is merged, it frees the new object. Frees of an object by one thread at a time, in any
 * order across threads, are always checked.
 */
public final class Heap implements AutoCloseable {
    private final AddressSpace space;
    private final MHeap mheap;
    private final Procs procs;
    private final GcHooks gcHooks;
    private final Scavenger scavenger;
    private final long maxAlloc;
    private volatile boolean closed;
    /** Whether the whole reservation reads and writes without faulting (see {@link #segment()}). */
    private final boolean wholeRangeAccessible;
    private Heap(Builder b) {
        OsMemory os = b.os != null ? b.os
                : b.binding == null ? OsMemory.system()
                : b.binding.equals("jnr") ? OsMemory.jnr() : OsMemory.ffm();
        this.space = new AddressSpace(os, b.reservation);
        this.wholeRangeAccessible = makeAccessible(space, os);
        this.mheap = new MHeap(space, b.decommitMode);
        this.procs = new Procs(mheap, b.maxProcs, new StallReports(b.stallReportNanos, b.stallLog));
        this.gcHooks = new GcHooks(mheap, procs);
        this.scavenger = new Scavenger(mheap.pages, os, b.decommitMode, mheap.osCalls, space::isClosed);
        this.maxAlloc = b.reservation;
        Procs ps = procs;
        MHeap mh = mheap;
        mheap.reclaimCached = () -> {
            ps.flushIdle();
            mh.releaseRetainedEmpty();
        };
    }

    /**
     * Makes the whole reservation readable and writable, so that no access through {@link #segment()} can fault,
     * even at an address the heap never handed out. The reservation is MAP_NORESERVE, so this charges nothing
     * against the kernel's commit limit and costs no memory until a page is touched (heap accounting still grows
     * arena by arena, as Go's). Under strict overcommit ({@code vm.overcommit_memory=2}) the kernel refuses;
     * the range then stays PROT_NONE beyond the committed arenas, as Go's heap does.
     */
    private static boolean makeAccessible(AddressSpace space, OsMemory os) {
        try {
            os.commit(space.base(), space.limit() - space.base());
            return true;
        } catch (RuntimeException refused) {
            return false;
        }
    }

    /** A heap with the defaults: {@link AddressSpace#DEFAULT_RESERVATION}, GOMAXPROCS Ps, the system binding. */
    public static Heap create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ allocation

    /** Allocates {@code size} bytes of pointer-free memory, zeroed, and returns its address. */
    public long malloc(long size) {
        return allocate0(size, true, false, 0, null);
    }

    /**
     * Allocates {@code size} bytes, zeroed, in a noscan or scan span of manual or {@code collected} objects. A
     * scan object's type is recorded next, by the caller, with {@link GcHooks#writeType}.
     */
    public long allocate(long size, boolean noscan, boolean collected) {
        return allocate0(size, noscan, collected, 0, null);
    }

    /**
     * Allocates {@code count} elements of {@code type} ({@code size} bytes in all), manual or collected, and
     * records the type while the P is still held (the type's heap bits share words with the span's other slots,
     * which only the P's holder may write). A null type allocates pointer-free memory.
     */
    public long allocateTyped(long size, long count, GcType type, boolean collected) {
        return allocate0(size, type == null, collected, count, type);
    }

    /**
     * Runs {@code action} holding a P (borrowed, or the caller's own), so that no collection runs meanwhile: for
     * stores the marker must not miss (root slots), from threads that may have no Mutator.
     */
    public void runHoldingP(Runnable action) {
        ensureOpen();
        P p = procs.acquire();
        try {
            ensureOpen();
            action.run();
        } finally {
            procs.releaseHeld(p);
        }
    }

    /**
     * The heap's scavenger: releases free pages under the heap's close protocol (each system call under the lock
     * {@link #close()} takes before unmapping, after a closed check), for the collector's background scavenger and
     * memory limit.
     */
    public Scavenger scavenger() {
        return scavenger;
    }

    /** Bytes of free heap pages released to the OS (the page allocator's count; HeapReleased without page caches). */
    public long scavengedBytes() {
        mheap.lock.lock();
        try {
            return mheap.pages.releasedPages() * MHeap.PAGE_SIZE;
        } finally {
            mheap.lock.unlock();
        }
    }

    /** The process's memory as the kernel reports it ({@code /proc/self/smaps_rollup}). */
    public io.goheap.ffi.ProcessMemory processMemory() {
        return space.os().processMemory();
    }

    /** The collector's access to the allocator's internals (see {@link GcHooks}). */
    public GcHooks gcHooks() {
        return gcHooks;
    }

    /**
     * Allocates {@code size} bytes, zeroed, in <em>scan</em> spans: the memory the collector will scan for
     * pointers (typed objects). Objects above 512 bytes carry Go's 8-byte header in front of the address.
     */
    public long mallocScan(long size) {
        return allocate0(size, false, false, 0, null);
    }

    /**
     * Allocates {@code size} bytes of pointer-free memory <em>without zeroing it</em>: its contents are whatever
     * the memory last held (an earlier object's bytes, or zeros). For buffers the caller fills completely
     * before reading, as C's {@code malloc}; everything else as {@link #malloc}.
     */
    public long mallocUninitialized(long size) {
        return allocate0(size, true, false, 0, null, false);
    }

    /**
     * Borrows a P and allocates. The heap may be closed while this thread waits for the P or allocates: then it
     * throws "heap is closed" and returns no address (one allocated during the close is unusable anyway).
     */
    private long allocate0(long size, boolean noscan, boolean collected, long count, GcType type) {
        return allocate0(size, noscan, collected, count, type, true);
    }

    private long allocate0(long size, boolean noscan, boolean collected, long count, GcType type, boolean zero) {
        checkSize(size);
        P p = procs.acquire();
        try {
            ensureOpen();
            long address = p.mcache.malloc(size, noscan, collected, zero);
            if (!noscan) {
                gcHooks.writeType(p.mcache, address, count, type);
            }
            ensureOpen();
            return address;
        } catch (IllegalStateException e) {
            throw closedOr(e);
        } finally {
            procs.releaseHeld(p);
        }
    }

    /** Frees the object at {@code address} (the address malloc returned). See the class comment for errors. */
    public void free(long address) {
        free(address, null);
    }

    /**
     * As {@link #free(long)}, calling {@code first} (if not null) with the address under the same P hold before the
     * object is freed, so no collection falls between the two. Allocates nothing on the Java heap when
     * {@code first} does not: a service near its {@code -Xmx} can still give memory back.
     */
    public void free(long address, java.util.function.LongConsumer first) {
        ensureOpen();
        P p = procs.acquire();
        try {
            ensureOpen();
            if (first != null) {
                first.accept(address);
            }
            p.mcache.free(address);
        } catch (IllegalStateException e) {
            throw closedOr(e);
        } finally {
            procs.releaseHeld(p);
        }
    }

    /**
     * A handle that keeps a P for the calling thread until {@link Mutator#close()}: the fast path. Never waits for
     * another thread to let a P go (a new P is made when all are held); waits only while a collection has the world
     * stopped.
     */
    public Mutator attach() {
        ensureOpen();
        P p = procs.acquire();
        if (closed) {
            procs.releaseHeld(p);
            throw closedError();
        }
        return new Mutator(this, p);
    }

    // ------------------------------------------------------------------ queries

    /** Bytes usable at {@code address}, the start of an allocated object: its size class's size (or more). */
    public long usableSize(long address) {
        ensureOpen();
        return ObjectLookup.find(mheap, address, true).usable();
    }

    /** The start address of the allocated object that contains {@code address} (an interior pointer is fine). */
    public long baseOf(long address) {
        ensureOpen();
        return ObjectLookup.find(mheap, address, false).base();
    }

    /**
     * The whole reserved range as one segment; {@code segment().address() == base()}. Closed with the heap: any
     * access after {@link #close()} throws. Any address in it can be read and written without faulting (memory
     * never touched reads as zero), with two exceptions: pages returned to the OS in
     * {@link OsMemory.DecommitMode#HARD} mode are inaccessible until the heap reuses them, so a use after free
     * there ends the JVM — the purpose of that debugging mode, as of Go's {@code harddecommit}; and under strict
     * overcommit ({@code vm.overcommit_memory=2}) addresses beyond the arenas the heap has grown into fault too.
     */
    public MemorySegment segment() {
        ensureOpen();
        return mheap.memory();
    }

    /** The first address of the reserved range. */
    public long base() {
        return space.base();
    }

    /** Bytes of address space reserved for this heap (the most it can ever hold). */
    public long reservation() {
        return space.limit() - space.base();
    }

    /**
     * GOMAXPROCS: the Ps the heap was made with, and the bound on the collector's parallelism and CPU share. Not a
     * bound on threads: more Ps are made when more threads hold one at once ({@link #procCount()}).
     */
    public int maxProcs() {
        return procs.maxProcs();
    }

    /** How many Ps the heap has made so far: {@link #maxProcs()}, plus those made when every P was held. */
    public int procCount() {
        return procs.count();
    }

    /** How many times a stop of the world or a handshake reported a thread it waited for (see the builder). */
    public long stallReports() {
        return procs.stalls.count();
    }

    /**
     * A statistics snapshot (Go's {@code runtime.ReadMemStats}) taken between two scavenger runs, so pages being
     * released are never counted idle and not released (see {@link Scavenger}); it waits for the runs in flight
     * (microseconds) and never for allocating threads. Consistent across Ps only with the world stopped (see
     * {@link HeapStats}).
     */
    public AllocStats readMemStats() {
        AllocStats m = new AllocStats();
        readMemStats(m);
        return m;
    }

    /** Fills {@code into} with a snapshot, as Go's {@code ReadMemStats(&m)}; see {@link #readMemStats()}. */
    public void readMemStats(AllocStats into) {
        ensureOpen();
        scavenger.withNoRunInFlight(() -> {
            HeapStats.read(mheap, procs, into);
            return null;
        });
    }

    /**
     * A snapshot that takes no lock and never waits for any thread (see {@code HeapStats.sample} for which of the
     * invariants of {@link AllocStats} hold exactly in it and which only approximately): for metrics read often.
     */
    public void sampleMemStats(AllocStats into) {
        ensureOpen();
        HeapStats.sample(mheap, procs, into);
    }

    /**
     * Returns every free page to the OS now (Go's {@code debug.FreeOSMemory}, minus the collection goheap does
     * not have yet): spans still waiting for sweeping are swept, the caches of Ps no thread holds give their
     * spans back (so spans whose objects were all freed return to the heap), then every free page is released.
     * Returns the bytes released.
     */
    public long freeOSMemory() {
        ensureOpen();
        MSweep.finishSweep(mheap);
        procs.flushIdle();
        mheap.releaseRetainedEmpty();
        try {
            return scavenger.releaseAll();      // each release under the close protocol (see Scavenger)
        } catch (IllegalStateException e) {
            throw closedOr(e);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Unmaps the heap. Idempotent. Every later call, and every access through {@link #segment()}, throws
     * {@link IllegalStateException}; addresses from this heap must not be used through other means.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            procs.close();                       // threads waiting for a P leave with "heap is closed"
            // Wait for system calls in flight on the range: FreeOSMemory's releases, then (under the heap lock)
            // commits by allocations. Both check closed afterwards, so none starts once the range is gone.
            mheap.osCalls.writeLock().lock();
            mheap.lock.lock();
            try {
                space.close();
            } finally {
                mheap.lock.unlock();
                mheap.osCalls.writeLock().unlock();
            }
        }
    }

    // ------------------------------------------------------------------ internals

    MHeap mheap() {
        return mheap;
    }

    boolean wholeRangeAccessible() {
        return wholeRangeAccessible;
    }

    Procs procs() {
        return procs;
    }

    void checkSize(long size) {
        ensureOpen();
        if (size <= 0 || size > maxAlloc) {
            throw new IllegalArgumentException(size <= 0
                    ? "allocation size must be positive: " + size
                    : "allocation size " + size + " exceeds the heap's reserved address space of " + maxAlloc + " bytes");
        }
    }

    /** Throws "heap is closed" when it is (for the collector's API). */
    public void ensureUsable() {
        ensureOpen();
    }

    void ensureOpen() {
        if (closed) {
            throw closedError();
        }
    }

    static IllegalStateException closedError() {
        return new IllegalStateException("heap is closed");
    }

    /**
     * What an operation that failed with {@code e} throws: {@code e}, unless the heap was closed meanwhile — then
     * the heap's own "heap is closed" (with {@code e}, say the JDK's "Already closed" of the unmapped segment, as
     * its cause).
     */
    public RuntimeException closedOr(IllegalStateException e) {
        if (closed && !"heap is closed".equals(e.getMessage())) {
            return new IllegalStateException("heap is closed", e);
        }
        return e;
    }

    /**
     * The largest reservation a heap takes: 16 TiB, 2^31 pages of 8 KiB. The largest object is one page less
     * (2^31 − 1 pages, so its page count fits an int); a larger one is an {@link OutOfMemoryError}.
     */
    public static final long MAX_RESERVATION = 1L << 44;

    /** Configures a {@link Heap}. */
    public static final class Builder {
        private long reservation = AddressSpace.DEFAULT_RESERVATION;
        private int maxProcs = defaultMaxProcs();
        private long stallReportNanos = DEFAULT_STALL_REPORT_NANOS;
        private System.Logger stallLog;
        private OsMemory os;
        private String binding;
        private OsMemory.DecommitMode decommitMode = OsMemory.DecommitMode.DONTNEED;

        private Builder() {
        }

        /**
         * Address space to reserve, a multiple of 64 MiB up to {@link #MAX_RESERVATION} (default 256 GiB; reserving
         * costs no memory).
         */
        public Builder reservation(long bytes) {
            if (bytes <= 0 || bytes % AddressSpace.ARENA_BYTES != 0) {
                throw new IllegalArgumentException("reservation must be a positive multiple of 64 MiB: " + bytes);
            }
            if (bytes > MAX_RESERVATION) {
                throw new IllegalArgumentException("reservation " + bytes + " exceeds the maximum of " + MAX_RESERVATION
                        + " bytes (16 TiB: spans count their 8 KiB pages in an int)");
            }
            this.reservation = bytes;
            return this;
        }

        /**
         * GOMAXPROCS: the Ps made with the heap, and the bound on the collector's parallelism; default: GOMAXPROCS
         * from the environment, else the available processors. A value below 1 means the default, as Go treats
         * {@code GOMAXPROCS=0} as unset.
         *
         * @throws IllegalArgumentException above 1024
         */
        public Builder maxProcs(int n) {
            if (n > 1024) {
                throw new IllegalArgumentException("maxProcs must be at most 1024: " + n);
            }
            this.maxProcs = n < 1 ? defaultMaxProcs() : n;
            return this;
        }

        /**
         * How long a stop of the world or a handshake waits for one thread before it reports it through
         * {@link System.Logger} {@code io.goheap} (the thread's name, state and stack) and counts it; the report
         * repeats every such interval while the wait lasts. Default 1 s.
         *
         * @throws IllegalArgumentException unless positive
         */
        public Builder stallReportThreshold(java.time.Duration threshold) {
            java.util.Objects.requireNonNull(threshold, "threshold");
            if (threshold.isNegative() || threshold.isZero()) {
                throw new IllegalArgumentException("stall report threshold must be positive: " + threshold);
            }
            long nanos;
            try {
                nanos = threshold.toNanos();
            } catch (ArithmeticException e) {
                nanos = Long.MAX_VALUE;
            }
            this.stallReportNanos = nanos;
            return this;
        }

        /**
         * The OS binding by name: {@code "ffm"} (FFM downcalls, the default) or {@code "jnr"} (JNR-FFI, which must
         * be on the class path); default: the system property {@code goheap.ffi}, else {@code ffm}.
         */
        public Builder binding(String name) {
            java.util.Objects.requireNonNull(name, "name");
            if (!name.equals("ffm") && !name.equals("jnr")) {
                throw new IllegalArgumentException("unknown OS binding " + name + "; expected ffm or jnr");
            }
            this.binding = name;
            this.os = null;
            return this;
        }

        /** Where stall reports go instead of System.Logger {@code io.goheap} (tests that read them). */
        Builder stallLog(System.Logger log) {
            this.stallLog = java.util.Objects.requireNonNull(log, "log");
            return this;
        }

        /** A given binding object (tests that inject failures); not public: the binding module is internal. */
        Builder os(OsMemory os) {
            this.os = java.util.Objects.requireNonNull(os, "os");
            this.binding = null;
            return this;
        }

        /**
         * How free pages go back to the OS (default MADV_DONTNEED, as Go on Linux). {@code HARD} is a debugging
         * mode (Go's {@code GODEBUG=harddecommit=1}): released pages become inaccessible, so reading or writing a
         * freed object after {@link Heap#freeOSMemory()} faults and ends the JVM instead of going unnoticed.
         */
        public Builder decommitMode(OsMemory.DecommitMode mode) {
            this.decommitMode = java.util.Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Heap build() {
            return new Heap(this);
        }

        /** The default stall report threshold: 1 s. */
        private static final long DEFAULT_STALL_REPORT_NANOS = 1_000_000_000L;

        /** GOMAXPROCS from the environment when it is an integer in [1, 1024] (below 1 is unset, as in Go), else the CPUs. */
        private static int defaultMaxProcs() {
            String env = System.getenv("GOMAXPROCS");
            if (env != null) {
                try {
                    int n = Integer.parseInt(env.trim());
                    if (n >= 1 && n <= 1024) {
                        return n;
                    }
                } catch (NumberFormatException ignored) {
                    // Go ignores a malformed GOMAXPROCS as well
                }
            }
            return Runtime.getRuntime().availableProcessors();
        }
    }
}
