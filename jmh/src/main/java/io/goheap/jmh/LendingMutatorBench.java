package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.LendingMutator;
import io.goheap.Mutator;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost per operation of a {@link LendingMutator} (its P lent to the collector between calls: no collection
 * ever waits for its thread) beside a held {@link Mutator} (the default), on the same operations: a 16-byte manual
 * malloc + free, a pointer store and a pointer load. Each JMH thread attaches its own Mutator of each kind to one
 * shared heap of GOMAXPROCS = 2; run with {@code -t 1}, {@code -t 2} and {@code -t 4} for one thread, as many
 * threads as CPUs, and more (the heap makes a P for each). GOGC off: no collection runs, so the figures are the
 * calls' own cost.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@Threads(1)
public class LendingMutatorBench {
    static final HeapType HOLDER = HeapType.of(ValueLayout.ADDRESS);
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));

    /** The heap, shared by every benchmark thread. */
    @State(Scope.Benchmark)
    public static class SharedHeap {
        Heap heap;

        @Setup(Level.Trial)
        public void setup() {
            heap = Heap.builder().reservation(4L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            heap.close();
        }
    }

    /** One thread's held Mutator (each benchmark uses one kind: a thread has one open Mutator per heap). */
    @State(Scope.Thread)
    public static class Held {
        Mutator m;
        long slot;
        long a;
        long b;
        long next;

        @Setup(Level.Iteration)
        public void setup(SharedHeap h) {
            m = h.heap.attach();
            slot = m.malloc(HOLDER);
            a = m.allocate(NODE);
            m.storePointer(slot, a);
            b = m.allocate(NODE);
            m.keep(b);
            next = a;
        }

        @TearDown(Level.Iteration)
        public void tearDown() {
            m.free(slot);
            m.close();
        }
    }

    /** As {@link Held}, lending. */
    @State(Scope.Thread)
    public static class Lending {
        LendingMutator m;
        long slot;
        long a;
        long b;
        long next;

        @Setup(Level.Iteration)
        public void setup(SharedHeap h) {
            m = h.heap.attachLending();
            slot = m.malloc(HOLDER);
            a = m.allocate(NODE);                 // (kept in the frame by allocate)
            m.storePointer(slot, a);
            b = m.allocate(NODE);
            next = a;
        }

        @TearDown(Level.Iteration)
        public void tearDown() {
            m.free(slot);
            m.close();
        }
    }

    @Benchmark
    public void heldMallocFree(Held s) {
        s.m.free(s.m.malloc(16));
    }

    @Benchmark
    public void lendingMallocFree(Lending s) {
        s.m.free(s.m.malloc(16));
    }

    @Benchmark
    public void heldStorePointer(Held s) {
        long v = s.next == s.a ? s.b : s.a;
        s.m.storePointer(s.slot, v);
        s.next = v;
    }

    @Benchmark
    public void lendingStorePointer(Lending s) {
        long v = s.next == s.a ? s.b : s.a;
        s.m.storePointer(s.slot, v);
        s.next = v;
    }

    @Benchmark
    public long heldLoadPointer(Held s) {
        return s.m.loadPointer(s.slot);
    }

    @Benchmark
    public long lendingLoadPointer(Lending s) {
        return s.m.loadPointer(s.slot);
    }
}
