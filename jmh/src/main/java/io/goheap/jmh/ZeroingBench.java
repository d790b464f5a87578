package io.goheap.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The zeroing primitives a heap can use on its off-heap memory (the fastest correct primitive wins):
 * {@code MemorySegment.fill} on a slice of a shared arena's segment (what goheap uses: the slice is checked, and
 * the arena's close cannot race it), a loop of 8-byte stores through the segment, and glibc's {@code memset}
 * through a critical FFM downcall on the raw address (no liveness check: a heap could use it only with its own
 * guarantee that the memory stays mapped during the call).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ZeroingBench {
    @Param({"64", "4096", "32768", "1048576"})
    public int bytes;

    private Arena arena;
    private MemorySegment memory;
    private long address;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        memory = arena.allocate(2L << 20, 4096);
        address = memory.address();
        memory.fill((byte) 1);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment segmentFill() {
        return memory.asSlice(4096, bytes).fill((byte) 0);
    }

    @Benchmark
    public void segmentLongLoop() {
        MemorySegment m = memory;
        for (long i = 4096, end = 4096L + bytes; i < end; i += 8) {
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, i, 0L);
        }
    }

    @Benchmark
    public void libcMemset() {
        Libc.memset(address + 4096, 0, bytes);
    }
}
