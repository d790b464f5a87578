package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;

import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Netty {@link io.netty.buffer.ByteBufAllocator} whose direct buffers are goheap manual objects: each
 * {@code directBuffer()} (and {@code buffer()}/{@code ioBuffer()} when direct is preferred) is one
 * {@link Heap#mallocUninitialized} object in Go's size classes, and the {@code release()} that drops the reference
 * count to zero frees it ({@link Heap#free}). Heap buffers are Netty's plain {@code byte[]} buffers
 * ({@link io.netty.buffer.UnpooledHeapByteBuf}), counted in {@link #metric()}.
 *
 * <h2>What Netty users get</h2>
 * Netty's full {@code ByteBuf} contract — capacity growth ({@code ensureWritable}, {@code capacity(int)}: in place
 * while the size class has room, otherwise a new object, a copy and a free), slices, duplicates, retained views,
 * read-only views, {@link io.netty.buffer.CompositeByteBuf}s of goheap components, NIO views that share the
 * object's bytes ({@code nioBuffer}, {@code internalNioBuffer}, usable with channels), and
 * {@code memoryAddress()}, the goheap address, readable through {@link Heap#segment()} too. Netty's
 * {@link io.netty.util.ResourceLeakDetector} tracks every buffer and composite this allocator returns, at Netty's
 * configured level ({@code -Dio.netty.leakDetection.level}), exactly as for Netty's own allocators; a leaked buffer
 * keeps its goheap object until the heap is closed, as a leaked pooled buffer keeps its chunk.
 *
 * <h2>Threads and Ps</h2>
 * goheap allocates on a P (Go's processor: a per-P cache of spans, no lock on the fast path). This allocator
 * borrows one per allocation and per free, through {@link Heap}'s methods: a thread tries first the P its thread id
 * hashes to (one CAS), then the others. A Netty event loop is a long-lived thread, so it comes back to the same P
 * and finds its span cache warm, as a {@code PoolThreadCache} would be, without any {@code ThreadLocal}; event loops
 * that hash to the same P only meet when their allocations overlap in time (each hold lasts one malloc), and then
 * the later one takes another idle P. Buffers may be released on any thread (a buffer handed from an event loop to
 * a worker pool is freed by the worker, through the P it borrows).
 * <p>The allocator deliberately never keeps a P for a thread (an open {@link io.goheap.Mutator}): an event loop
 * spends its idle time blocked in {@code epoll_wait}/{@code io_uring_enter}, outside any goheap safepoint, and a
 * P held there would stall every collection of the heap, and every thread waiting for a P, until the loop wakes.
 * A borrowed P is never held across a block. The price of borrowing is one CAS and one release store per
 * allocation and per free (measured beside a held Mutator in the benchmark docs).
 *
 * <h2>Lifetime and errors</h2>
 * The allocator does not own the heap: close the heap after the last buffer is released (releasing a buffer of a
 * closed heap throws {@link IllegalStateException} "heap is closed"; the memory went with the heap). An allocation
 * that does not fit the heap (its reservation or its memory limit) throws goheap's {@link OutOfMemoryError}, as
 * Netty's allocators throw {@code OutOfDirectMemoryError}; the heap stays usable.
 *
 * <p>Thread-safety: every method may be called from any thread.
 */
public final class GoheapByteBufAllocator extends AbstractByteBufAllocator implements ByteBufAllocatorMetricProvider {
    private final Heap heap;
    /** Usable bytes of the goheap objects held by live direct buffers. */
    private final LongAdder directBytes = new LongAdder();
    /** Bytes of the arrays held by live heap buffers. */
    private final LongAdder heapBytes = new LongAdder();
    private final ByteBufAllocatorMetric metric = new ByteBufAllocatorMetric() {
        @Override
        public long usedHeapMemory() {
            return heapBytes.sum();
        }

        @Override
        public long usedDirectMemory() {
            return directBytes.sum();
        }

        @Override
        public String toString() {
            return "usedHeapMemory: " + usedHeapMemory() + "; usedDirectMemory: " + usedDirectMemory();
        }
    };

    /** An allocator over {@code heap} whose {@code buffer()} and {@code ioBuffer()} are direct (goheap) buffers. */
    public GoheapByteBufAllocator(Heap heap) {
        this(heap, true);
    }

    /**
     * An allocator over {@code heap}; with {@code preferDirect} false, {@code buffer()} returns heap buffers (Netty's
     * meaning of the flag) while {@code directBuffer()} still returns goheap buffers.
     */
    public GoheapByteBufAllocator(Heap heap, boolean preferDirect) {
        super(preferDirect);
        this.heap = Objects.requireNonNull(heap, "heap");
    }

    /** The heap the direct buffers live in. */
    public Heap heap() {
        return heap;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return toLeakAwareBuffer(new CountedHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return toLeakAwareBuffer(new GoheapDirectByteBuf(this, initialCapacity, maxCapacity));
    }

    /**
     * True: direct buffers come from goheap's size-classed per-P caches, not from a fresh system allocation each
     * (Netty reads this flag to pick {@code ioBuffer()}'s kind when Unsafe is unavailable).
     */
    @Override
    public boolean isDirectBufferPooled() {
        return true;
    }

    @Override
    public ByteBufAllocatorMetric metric() {
        return metric;
    }

    /** Allocates the object for a direct buffer of {@code capacity} bytes (at least one byte: goheap's minimum). */
    long allocateMemory(int capacity) {
        long address = heap.mallocUninitialized(Math.max(1, capacity));
        directBytes.add(heap.usableSize(address));
        return address;
    }

    /** Frees a direct buffer's object of {@code usable} bytes. */
    void freeMemory(long address, long usable) {
        heap.free(address);
        directBytes.add(-usable);
    }

    void heapAllocated(long bytes) {
        heapBytes.add(bytes);
    }

    @Override
    public String toString() {
        return "GoheapByteBufAllocator(" + metric + ")";
    }
}
