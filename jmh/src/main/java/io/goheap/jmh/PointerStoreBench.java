package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.Mutator;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * A pointer store through goheap's Mutator (the one entry point the collector sees) with the write barrier off
 * (no mark running: one load of the phase word) and on ({@code goheapStorePointerBarrierOn}: as during a concurrent
 * mark, the slot's old and new value are recorded and every 512 entries shaded by the storing thread; turned on
 * here without a cycle through {@code BenchAccess}), beside a plain store of the same long through the heap's
 * segment, and the same for loads. One thread; the slot is in a manual object with one pointer; the value stored
 * alternates between two collected objects. {@code *Checkptr}: the same on a heap built with
 * {@code GODEBUG=checkptr=1}, where each store validates its slot and value and each load its slot. Targets:
 * barrier-off store ≤ +1 ns over the plain store, barrier-on ≤ +5 ns.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class PointerStoreBench {
    private Heap heap;
    private Mutator m;
    private MemorySegment memory;
    private long slot;
    private long offset;
    private long a;
    private long b;
    private long next;

    @Setup(Level.Trial)
    public void setup() {
        heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
        m = heap.attach();
        memory = heap.segment();
        HeapType holder = HeapType.of(ValueLayout.ADDRESS);
        HeapType node = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
        slot = m.malloc(holder);
        offset = slot - heap.base();
        a = m.allocate(node);
        m.storePointer(slot, a);
        b = m.allocate(node);
        m.keep(b);
        next = a;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.close();
        heap.close();
    }

    @Benchmark
    public void plainSegmentStore() {
        long v = next == a ? b : a;
        memory.set(ValueLayout.JAVA_LONG, offset, v);
        next = v;
    }

    /** A second Mutator's heap with the barrier turned on (see the class comment). */
    @State(Scope.Thread)
    public static class BarrierOn {
        Heap heap;
        Mutator m;
        long slot;
        long a;
        long b;
        long next;

        @Setup(Level.Trial)
        public void setup() {
            heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
            m = heap.attach();
            HeapType holder = HeapType.of(ValueLayout.ADDRESS);
            HeapType node = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
            slot = m.malloc(holder);
            a = m.allocate(node);
            m.storePointer(slot, a);
            b = m.allocate(node);
            m.keep(b);
            next = a;
            io.goheap.BenchAccess.setWriteBarrier(heap, true);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            io.goheap.BenchAccess.setWriteBarrier(heap, false);
            m.close();
            heap.close();
        }
    }

    @Benchmark
    public void goheapStorePointerBarrierOn(BarrierOn s) {
        long v = s.next == s.a ? s.b : s.a;
        s.m.storePointer(s.slot, v);
        s.next = v;
    }

    @Benchmark
    public void goheapStorePointer() {
        long v = next == a ? b : a;
        m.storePointer(slot, v);
        next = v;
    }

    /** A heap built with {@code GODEBUG=checkptr=1}: every store and load validated (see the class comment). */
    @State(Scope.Thread)
    public static class Checkptr {
        Heap heap;
        Mutator m;
        long slot;
        long a;
        long b;
        long next;

        @Setup(Level.Trial)
        public void setup() {
            heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("checkptr=1").build();
            m = heap.attach();
            HeapType holder = HeapType.of(ValueLayout.ADDRESS);
            HeapType node = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
            slot = m.malloc(holder);
            a = m.allocate(node);
            m.storePointer(slot, a);
            b = m.allocate(node);
            m.keep(b);
            next = a;
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            m.close();
            heap.close();
        }
    }

    @Benchmark
    public void goheapStorePointerCheckptr(Checkptr s) {
        long v = s.next == s.a ? s.b : s.a;
        s.m.storePointer(s.slot, v);
        s.next = v;
    }

    @Benchmark
    public long goheapLoadPointerCheckptr(Checkptr s) {
        return s.m.loadPointer(s.slot);
    }

    @Benchmark
    public long plainSegmentLoad() {
        return memory.get(ValueLayout.JAVA_LONG, offset);
    }

    @Benchmark
    public long goheapLoadPointer() {
        return m.loadPointer(slot);
    }
}
