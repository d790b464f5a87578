package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.HeapType;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Collected allocation in the shape of Go's own allocation micro-benchmarks: one operation allocates a collected
 * object and stores it into a 1,024-slot ring (a manual object whose slots are roots), overwriting the object
 * stored 1,024 operations before, which becomes garbage. The collector runs (GOGC=100), one allocating thread.
 * The peer is Go's {@code mallocgc} in the same loop: {@code jmh/go/allocring} (run it in the same minutes).
 *
 * <p>Shapes ({@code shape}), the same as the Go program's:
 * {@code 8noscan} 8 bytes, no pointers (Go's tiny allocator packs two into a 16-byte block, and so does goheap's);
 * {@code 16noscan} 16 bytes, no pointers; {@code 16ptr2} two pointers; {@code 64ptr} two pointers and 48 bytes of
 * data; {@code 64noscan}; {@code 256ptr} one pointer and 248 bytes of data; {@code 4096noscan} a 4 KiB buffer.
 * The score includes the store (its write-barrier check) and the pacer's work: assists and cycles.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@Threads(1)
@State(Scope.Thread)
public class CollectedAllocBench {
    static final int RING = 1024;

    @Param({"8noscan", "16noscan", "16ptr2", "64ptr", "64noscan", "256ptr", "4096noscan"})
    public String shape;

    /** GOGC: 100 as the Go program runs; {@code -p gogc=-1} measures the allocation alone, without the collector. */
    @Param({"100"})
    public int gogc;

    private Heap heap;
    private Mutator m;
    private HeapType type;
    private long ring;
    private int next;

    /** The type of {@code shape}, as the Go program declares it. */
    static HeapType shapeType(String shape) {
        return switch (shape) {
            case "8noscan" -> HeapType.of(ValueLayout.JAVA_LONG);
            case "16noscan" -> HeapType.of(MemoryLayout.sequenceLayout(2, ValueLayout.JAVA_LONG));
            case "16ptr2" -> HeapType.of(MemoryLayout.structLayout(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            case "64ptr" -> HeapType.of(MemoryLayout.structLayout(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    MemoryLayout.sequenceLayout(6, ValueLayout.JAVA_LONG)));
            case "64noscan" -> HeapType.of(MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_LONG));
            case "256ptr" -> HeapType.of(MemoryLayout.structLayout(ValueLayout.ADDRESS,
                    MemoryLayout.sequenceLayout(31, ValueLayout.JAVA_LONG)));
            case "4096noscan" -> HeapType.of(MemoryLayout.sequenceLayout(4096, ValueLayout.JAVA_BYTE));
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        };
    }

    @Setup(Level.Trial)
    public void setup() {
        heap = Heap.builder().gcPercent(gogc).godebug("").build();
        m = heap.attach();
        type = shapeType(shape);
        ring = m.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(RING));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.free(ring);
        m.close();
        heap.close();
    }

    @Benchmark
    public void goheapAllocate() {
        long p = m.allocate(type);
        m.storePointer(ring + ((long) (next++ & (RING - 1)) << 3), p);
    }
}
