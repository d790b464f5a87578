package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
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
 * The cost of a metrics scrape. {@code readMetrics} (never stops the world) is measured while another thread holds
 * a Mutator and does not poll ({@code holder=true}: it allocated, then waits on a latch holding its P) and with no
 * other thread; {@code readMemStats} (stops the world, as Go's) only with no other thread, since a holder that
 * never polls would stop it for good. Each heap holds 100k small objects and a few large ones, so the counters are
 * not all zero.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class MetricsReadBench {
    private static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));

    @Param({"false", "true"})
    public boolean holder;

    private Heap heap;
    private Thread holding;
    private final CountDownLatch release = new CountDownLatch(1);

    @Setup(Level.Trial)
    public void setup() throws InterruptedException {
        heap = Heap.builder().reservation(1L << 30).maxProcs(2).gcPercent(-1).godebug("").build();
        for (int i = 0; i < 100_000; i++) {
            heap.malloc(16 + i % 1000);
        }
        for (int i = 0; i < 16; i++) {
            heap.malloc(1 << 20);
        }
        if (holder) {
            CountDownLatch started = new CountDownLatch(1);
            holding = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    m.allocate(NODE);
                    started.countDown();
                    release.await();             // holds its P, never polls
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "never-polls");
            holding.setDaemon(true);
            holding.start();
            started.await();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        release.countDown();
        if (holding != null) {
            holding.join();
        }
        heap.close();
    }

    @Benchmark
    public Map<String, Number> readMetrics() {
        return heap.readMetrics();
    }

    @Benchmark
    public MemStats readMemStats() {
        if (holder) {
            throw new IllegalStateException("skipped: a holder that never polls stops readMemStats for good");
        }
        return heap.readMemStats();
    }
}
