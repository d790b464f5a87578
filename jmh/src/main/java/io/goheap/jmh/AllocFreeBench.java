package io.goheap.jmh;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.BytesStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One operation = allocate one object of {@code size} bytes, write one byte into it, free it. Average time per
 * pair, single thread ({@link AllocFreeBench2T} runs the same methods with 2 threads). Every benchmark method is
 * named after its peer and calls the peer directly (no common interface: a megamorphic call site would cost more
 * than some of the allocators).
 *
 * <p>What "allocate" gives and what "free" means differs between peers, and matters for reading the numbers:
 * <ul>
 *   <li>{@code unsafe}: glibc malloc/free; memory not zeroed.
 *   <li>{@code ffmArenaConfined}: a new confined Arena per object; {@code Arena.allocate} zeroes and counts
 *       against MaxDirectMemorySize; close frees. Allocates a few Java objects per op (arena, segment).
 *   <li>{@code ffmArenaSlicing}: a bump pointer over a per-thread segment of {@link States#MAX_LIVE} bytes from
 *       one shared Arena; not zeroed. It <em>cannot free one object</em>: "free" is a no-op, and the memory is
 *       reused only when the whole segment is exhausted and the allocator is reset (bulk free, amortised into the
 *       figure). It is the lower bound any allocator that really frees is measured against, not a peer with the
 *       same contract.
 *   <li>{@code nettyPooledDirect}: Netty's jemalloc-style pool, direct buffers, per-thread caches on (see
 *       {@link PeerConfig#nettyPooled()}), benchmark threads are Netty FastThreadLocalThreads (see
 *       {@link FastThreadExecutor}); not zeroed; release() returns the buffer to the thread cache or arena.
 *   <li>{@code chronicleNativeStore}: one zeroed malloc per store plus Chronicle's reference-counting object;
 *       releaseLast() frees in the calling thread (see {@link PeerConfig#chronicleInThreadRelease()}).
 *   <li>{@code libcMalloc}, {@code libcCalloc}: glibc's malloc (not zeroed) and calloc (zeroed) through FFM
 *       critical downcalls ({@link Libc}), then free.
 *   <li>{@code goheapMutatorUninitialized}: goheap's {@code mallocUninitialized} (not zeroed), the peer of
 *       {@code libcMalloc}.
 *   <li>{@code goheapHeap}: goheap's any-thread API; {@code goheapMutator}: its hot path, one {@code Mutator}
 *       (an M holding a P, in Go's terms) per benchmark thread. Both return zeroed memory (Go's mallocgc
 *       contract) and free explicitly.
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class AllocFreeBench {

    @Param({"8", "16", "32", "64", "128", "256", "1024", "4096", "32768", "65536", "1048576"})
    public int size;

    private static final byte MARK = 1;

    // ---- peer 1: sun.misc.Unsafe.allocateMemory / freeMemory (malloc/free) ----

    @Benchmark
    public void unsafe() {
        long a = UnsafeAccess.allocateMemory(size);
        UnsafeAccess.putByte(a, MARK);
        UnsafeAccess.freeMemory(a);
    }

    // ---- peer 2: FFM, a confined Arena per allocation ----

    @Benchmark
    public void ffmArenaConfined() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(size);
            s.set(ValueLayout.JAVA_BYTE, 0, MARK);
        }
    }

    // ---- peer 3: FFM, slicing allocator over a big segment of a shared Arena, reset when full ----

    @Benchmark
    public void ffmArenaSlicing(States.Slicing s) {
        MemorySegment m = s.allocate(size);
        m.set(ValueLayout.JAVA_BYTE, 0, MARK);
        // no free: a slice cannot be freed on its own; Slicing.allocate resets the whole segment when it is full
    }

    // ---- peer 4: Netty PooledByteBufAllocator, direct buffers ----

    @Benchmark
    public void nettyPooledDirect(States.Netty n) {
        ByteBuf b = n.allocator.directBuffer(size);
        b.setByte(0, MARK);
        b.release();
    }

    // ---- peer 5: Chronicle Bytes native stores ----

    @Benchmark
    public void chronicleNativeStore(States.Chronicle c) {
        BytesStore<?, Void> s = BytesStore.nativeStoreWithFixedCapacity(size);
        s.writeByte(0, MARK);
        s.releaseLast();
    }

    // ---- peer 6: goheap, the any-thread Heap API and the Mutator hot path ----

    @Benchmark
    public void goheapHeap(States.GoHeap g) {
        long a = g.heap.malloc(size);
        g.memory.set(ValueLayout.JAVA_BYTE, a - g.base, MARK);
        g.heap.free(a);
    }

    @Benchmark
    public void goheapMutator(States.GoMutator g) {
        long a = g.mutator.malloc(size);
        g.memory.set(ValueLayout.JAVA_BYTE, a - g.base, MARK);
        g.mutator.free(a);
    }

    /** goheap's malloc without zeroing, the peer of {@link #libcMalloc}. */
    @Benchmark
    public void goheapMutatorUninitialized(States.GoMutator g) {
        long a = g.mutator.mallocUninitialized(size);
        g.memory.set(ValueLayout.JAVA_BYTE, a - g.base, MARK);
        g.mutator.free(a);
    }

    // ---- peer 7: glibc through FFM downcalls: malloc (not zeroed) and calloc (zeroed) ----

    @Benchmark
    public void libcMalloc() {
        long a = Libc.malloc(size);
        UnsafeAccess.putByte(a, MARK);
        Libc.free(a);
    }

    @Benchmark
    public void libcCalloc() {
        long a = Libc.calloc(size);
        UnsafeAccess.putByte(a, MARK);
        Libc.free(a);
    }
}
