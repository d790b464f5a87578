package io.goheap.jmh;

import io.goheap.ffi.OsMemory;
import io.goheap.ffi.OsMemory.DecommitMode;
import java.lang.foreign.Arena;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the OS layer costs the scavenger and heap growth, per range of {@code bytes} (64 KiB = Go's scavenger
 * unit, 2 MiB = a huge page), for each binding: one operation = one range.
 *
 * <ul>
 *   <li>{@code decommit}: {@code decommit(mode)} of a range whose every OS page was touched just before (the
 *       touching is done in a per-invocation setup and not timed). DONTNEED frees the pages at once; FREE only
 *       marks them lazily free, so the next touch may find them still there.
 *   <li>{@code touchThenDecommit}: touch one byte per OS page, then MADV_DONTNEED: the steady-state cycle of a
 *       page that is reused after being scavenged (page faults and zeroing included), without per-invocation setup.
 *   <li>{@code commitAndTouch}: {@code mprotect(RW)} of a hard-decommitted (PROT_NONE, empty) range and a first
 *       touch of every OS page: the cost of growing the heap into fresh memory. The per-invocation setup puts the
 *       range back to PROT_NONE and empty.
 * </ul>
 *
 * <p>The range is 2 MiB aligned with {@code MADV_NOHUGEPAGE} so that every size is served by 4 KiB pages even on a
 * THP "always" system. Per-invocation setup adds timer overhead of well under a microsecond per operation, small
 * against these microsecond-scale calls (JMH's caveat on {@link Level#Invocation} is for nanosecond benchmarks).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class OsMemoryBench {

    private static final long HUGE_PAGE = 2L << 20;

    /** A committed range of {@code bytes} in the chosen binding; the base of the other states. */
    @State(Scope.Thread)
    public static class Range {
        @Param({"ffm", "jnr"})
        public String binding;

        @Param({"65536", "2097152"})
        public long bytes;

        OsMemory os;
        long address;
        long pageSize;
        MemorySegment memory;
        private Arena arena;

        @Setup(Level.Trial)
        public void reserve() {
            os = switch (binding) {
                case "ffm" -> OsMemory.ffm();
                case "jnr" -> OsMemory.jnr();
                default -> throw new IllegalArgumentException("binding " + binding + " is not ffm or jnr");
            };
            pageSize = os.pageSize();
            long span = Math.max(bytes, HUGE_PAGE);
            address = os.reserveAligned(span, HUGE_PAGE);
            if (os.hugePageSize() > 0) {
                os.adviseHugePages(address, span, false);
            }
            os.commit(address, bytes);
            arena = Arena.ofShared();
            memory = os.segment(address, bytes, arena);
        }

        @TearDown(Level.Trial)
        public void release() {
            arena.close();
            os.release(address, Math.max(bytes, HUGE_PAGE));
        }

        /** Writes one byte into every OS page, faulting in whichever pages are not resident. */
        void touch() {
            for (long offset = 0; offset < bytes; offset += pageSize) {
                memory.set(ValueLayout.JAVA_BYTE, offset, (byte) 1);
            }
        }
    }

    /** A range whose every page is resident when the benchmark method starts. */
    @State(Scope.Thread)
    public static class Touched extends Range {
        @Param({"DONTNEED", "FREE"})
        public DecommitMode mode;

        @Setup(Level.Invocation)
        public void touchAll() {
            touch();
        }
    }

    /** A range that is PROT_NONE and holds no pages when the benchmark method starts. */
    @State(Scope.Thread)
    public static class HardDecommitted extends Range {
        @Setup(Level.Invocation)
        public void hardDecommit() {
            os.decommit(address, bytes, DecommitMode.HARD);
        }
    }

    @Benchmark
    public void decommit(Touched range) {
        range.os.decommit(range.address, range.bytes, range.mode);
    }

    @Benchmark
    public void touchThenDecommit(Range range) {
        range.touch();
        range.os.decommit(range.address, range.bytes, DecommitMode.DONTNEED);
    }

    @Benchmark
    public void commitAndTouch(HardDecommitted range) {
        range.os.commit(range.address, range.bytes);
        range.touch();
    }
}
