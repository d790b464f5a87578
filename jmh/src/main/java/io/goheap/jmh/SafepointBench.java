package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.Mutator;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time to safepoint, bounded from above: the benchmark thread runs a full collection of an almost empty heap
 * ({@code gc()}: stop the world, mark nothing, restart, sweep) while one other thread holds a Mutator and
 * allocates and frees in a loop, so every collection must first stop it at its next allocation (the poll folded
 * into the fast path's guard). JMH's sample mode gives the distribution (p50, p99, max) of the whole collection;
 * the stop is part of it. The peer is the same collection with no other thread ({@code gcAlone}).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class SafepointBench {
    private static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));

    private Heap heap;
    private Thread allocator;
    private final AtomicBoolean stop = new AtomicBoolean();

    @Setup(Level.Trial)
    public void setup() {
        heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
    }

    /** Starts the allocating thread for {@link #gcWithAnAllocatingMutator} only. */
    @Setup(Level.Iteration)
    public void startAllocator(org.openjdk.jmh.infra.BenchmarkParams params) {
        if (!params.getBenchmark().endsWith("gcWithAnAllocatingMutator")) {
            return;
        }
        stop.set(false);
        allocator = new Thread(() -> {
            try (Mutator m = heap.attach()) {
                while (!stop.get()) {
                    m.free(m.allocate(NODE));
                }
            }
        }, "allocating-mutator");
        allocator.setDaemon(true);
        allocator.start();
    }

    @TearDown(Level.Iteration)
    public void stopAllocator() throws InterruptedException {
        stop.set(true);
        if (allocator != null) {
            allocator.join();
            allocator = null;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        heap.close();
    }

    @Benchmark
    public void gcWithAnAllocatingMutator() {
        heap.gc();
    }

    @Benchmark
    public void gcAlone() {
        heap.gc();
    }
}
