package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.Mutator;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * JMH state objects of the peers, shared by {@link AllocFreeBench} and {@link BulkFreeBench}. Only state: every
 * benchmark method calls its peer's API itself.
 */
public final class States {
    private States() {}

    /** Largest live set a benchmark thread keeps: the slicing segment, and the bound of one bulk round. */
    static final long MAX_LIVE = 64L << 20;

    /**
     * Peer 3: FFM bump allocation. One shared Arena ({@code Arena.ofShared()}, so setup and teardown may run on
     * any thread) holds a {@link #MAX_LIVE}-byte segment per benchmark thread, and a
     * {@code SegmentAllocator.slicingAllocator} hands out consecutive slices of it (slicing allocators are not
     * thread-safe, hence one per thread). Slices are not zeroed. There is no per-object free: {@link #reset()}
     * (a new slicing allocator over the same segment) reclaims everything at once.
     */
    @State(Scope.Thread)
    public static class Slicing {
        Arena arena;
        MemorySegment backing;
        SegmentAllocator allocator;
        long used;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            backing = arena.allocate(MAX_LIVE, 4096);
            reset();
        }

        /** The only "free" a slicing allocator has: forget every slice at once (bulk free). */
        void reset() {
            allocator = SegmentAllocator.slicingAllocator(backing);
            used = 0;
        }

        /** One slice; when the segment is exhausted, resets first (so single-object "free" is amortised into this). */
        MemorySegment allocate(long size) {
            if (used + size > MAX_LIVE) {
                reset();
            }
            used += size;
            return allocator.allocate(size);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    /** Peer 4: one Netty pooled allocator for all benchmark threads, each with its own thread cache. */
    @State(Scope.Benchmark)
    public static class Netty {
        PooledByteBufAllocator allocator;

        @Setup(Level.Trial)
        public void setup() {
            PeerConfig.requireNettyThread();
            allocator = PeerConfig.nettyPooled();
        }
    }

    /** Peer 5: Chronicle needs no object of ours, only its in-thread release configured before first use. */
    @State(Scope.Benchmark)
    public static class Chronicle {
        @Setup(Level.Trial)
        public void setup() {
            PeerConfig.chronicleInThreadRelease();
        }
    }

    /**
     * Peer 6: one goheap {@link Heap} per trial, shared by all benchmark threads, with at least as many Ps as
     * threads (so the any-thread API never waits for a P and each thread can {@code attach()} one). Memory is
     * written through {@link Heap#segment()} at {@code address - base()}, the way the API is meant to be used.
     */
    @State(Scope.Benchmark)
    public static class GoHeap {
        Heap heap;
        MemorySegment memory;
        long base;

        @Setup(Level.Trial)
        public void setup(BenchmarkParams params) {
            open(params.getThreads());
        }

        void open(int threads) {
            heap = Heap.builder()
                    .maxProcs(Math.max(Runtime.getRuntime().availableProcessors(), threads))
                    .build();
            memory = heap.segment();
            base = heap.base();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            heap.close();
        }
    }

    /**
     * goheap's hot path: each benchmark thread attaches one {@link Mutator} (holds a P) for the whole trial.
     * JMH runs a thread-scoped state's setup and teardown on the thread that owns it, as a Mutator requires.
     */
    @State(Scope.Thread)
    public static class GoMutator {
        Mutator mutator;
        MemorySegment memory;
        long base;

        @Setup(Level.Trial)
        public void setup(GoHeap h) {
            mutator = h.heap.attach();
            memory = h.memory;
            base = h.base;
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            mutator.close();
        }
    }
}
