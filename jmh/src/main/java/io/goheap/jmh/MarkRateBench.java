package io.goheap.jmh;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import io.goheap.Root;
import java.lang.foreign.MemoryLayout;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
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
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Mark rate: live bytes marked per CPU-second by one full {@code heap.gc()} of a heap of {@link #mib} MiB of
 * 64-byte collected nodes (two pointers, 48 bytes of padding), all reachable — the "mark rate ≥ Go's"
 * target. The peer is Go's own runtime, {@code jmh/go/markrate}, which builds the same graph and times
 * {@code runtime.GC()} (it prints its own line; it is not run from here).
 *
 * <p>The graph (the same in Go): N = MiB·2^20/64 nodes allocated one after another, then linked as a complete
 * binary tree whose positions are shuffled — tree position k (root 0, children 2k+1 and 2k+2) is the node
 * allocated perm[k]-th, perm a Fisher-Yates shuffle of [0, N) driven by splitmix64 with seed 42 — and rooted in a
 * global {@link Root}. Every edge points to a random place in the heap (as in a heap that has lived a while), so
 * the mark is bound by cache misses rather than a sequential walk. GOGC is off, so only the explicit {@code gc()}
 * collects (nothing can collect the nodes while they are built and held only in a Java array); one P
 * ({@code maxProcs(1)}): goheap's marker is single-threaded, on the thread that calls {@code gc()}, so more Ps
 * would not mark faster (Go, at its default GOMAXPROCS, marks with background workers on every P). Setup collects once and checks that HeapObjects equals N, and every iteration checks
 * again, so the benchmark cannot be measuring a collector that freed the graph.
 *
 * <p>Each op is one {@code gc()}: stop the world, mark the N nodes, sweep every span (nothing to free), restart —
 * as Go's {@code runtime.GC()}, which also sweeps before returning. JMH's score is its wall time (single shot,
 * ms). The CPU time of each measured gc is the process's ({@code OperatingSystemMXBean.getProcessCpuTime}, all
 * threads: as Go's getrusage, it also counts JIT or JVM GC threads that happen to run meanwhile); the trial's
 * teardown prints the median wall and CPU time per gc over the measurement iterations and the mark rate, live
 * bytes (HeapAlloc after gc) per CPU-second and per wall-second, in the Go program's format.
 *
 * <p>Run (full size is slow: each gc marks 4 Mi nodes; use {@code -p mib=16} for a quick look):
 * <pre>
 *   ./mvnw -q compile exec:exec@jmh -Djmh.args="MarkRateBench -p mib=256"
 *   cd jmh/go/markrate &amp;&amp; go run . 256 10        # GOMAXPROCS=1 go run . 256 10: Go marking on one thread
 * </pre>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(1)
@State(Scope.Benchmark)
public class MarkRateBench {
    /** Go's {@code struct{ left, right *node; pad [6]uint64 }}: 64 bytes, the first 16 scanned. */
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ADDRESS.withName("left"),
            ADDRESS.withName("right"), MemoryLayout.sequenceLayout(6, JAVA_LONG).withName("pad")));

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    /** Size of the live graph in MiB (N = mib · 2^20 / 64 nodes). */
    @Param("256")
    public int mib;

    private Heap heap;
    private Root root;
    private long nodes;
    private boolean measuring;
    private long[] wallNs = new long[16];
    private long[] cpuNs = new long[16];
    private int samples;

    @Setup(Level.Trial)
    public void setup() {
        if (NODE.size() != 64) {
            throw new AssertionError("node is " + NODE.size() + " bytes, not 64");
        }
        nodes = ((long) mib << 20) / NODE.size();
        if (mib <= 0 || nodes > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("mib out of range: " + mib);
        }
        heap = Heap.builder().maxProcs(1).gcPercent(-1).godebug("").build();
        root = heap.newRoot();
        build((int) nodes);
        heap.gc();
        checkAllLive("after setup's gc");
    }

    /** The graph of the class comment. GOGC off: no collection runs while nodes are only in {@code addr}. */
    private void build(int n) {
        try (Mutator m = heap.attach()) {
            long[] addr = new long[n];
            for (int i = 0; i < n; i++) {
                addr[i] = m.allocate(NODE);
            }
            int[] perm = shuffled(n);
            long left = NODE.offsetOf(MemoryLayout.PathElement.groupElement("left"));
            long right = NODE.offsetOf(MemoryLayout.PathElement.groupElement("right"));
            for (long k = 0; k < n; k++) {
                long node = addr[perm[(int) k]];
                if (2 * k + 1 < n) {
                    m.storePointer(node + left, addr[perm[(int) (2 * k + 1)]]);
                }
                if (2 * k + 2 < n) {
                    m.storePointer(node + right, addr[perm[(int) (2 * k + 2)]]);
                }
            }
            root.set(addr[perm[0]]);
        }
    }

    /** [0, n) shuffled by Fisher-Yates with splitmix64 (seed 42), exactly as jmh/go/markrate does. */
    static int[] shuffled(int n) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        long state = 42;
        for (int i = n - 1; i > 0; i--) {
            state += 0x9e3779b97f4a7c15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            z ^= z >>> 31;
            int j = (int) Long.remainderUnsigned(z, i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return perm;
    }

    private void checkAllLive(String when) {
        MemStats s = heap.readMemStats();
        if (s.heapObjects() != nodes) {
            throw new IllegalStateException("graph not all live " + when + ": HeapObjects " + s.heapObjects()
                    + ", want " + nodes + " nodes");
        }
    }

    @Setup(Level.Iteration)
    public void startIteration(IterationParams params) {
        measuring = params.getType() == IterationType.MEASUREMENT;
    }

    @TearDown(Level.Iteration)
    public void endIteration() {
        checkAllLive("after an iteration");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (samples > 0) {
                long live = heap.readMemStats().heapAlloc();
                double wall = median(wallNs, samples);
                double cpu = median(cpuNs, samples);
                System.out.printf("%ngoheap markrate: %d MiB graph, %d nodes, maxProcs %d, live %d B (HeapAlloc), %d GCs:"
                                + " median wall %.2f ms, median CPU %.2f ms; mark rate %.0f MiB/CPU-s, %.0f MiB/wall-s"
                                + " (mark+sweep)%n", mib, nodes, heap.maxProcs(), live, samples, wall / 1e6, cpu / 1e6,
                        live / (double) (1 << 20) / (cpu / 1e9), live / (double) (1 << 20) / (wall / 1e9));
            }
        } finally {
            root.close();
            heap.close();
        }
    }

    private static double median(long[] xs, int n) {
        long[] s = Arrays.copyOf(xs, n);
        Arrays.sort(s);
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    }

    @Benchmark
    public void gc() {
        long c0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        heap.gc();
        long wall = System.nanoTime() - t0;
        long cpu = OS.getProcessCpuTime() - c0;
        if (measuring) {
            if (samples == wallNs.length) {
                wallNs = Arrays.copyOf(wallNs, samples * 2);
                cpuNs = Arrays.copyOf(cpuNs, samples * 2);
            }
            wallNs[samples] = wall;
            cpuNs[samples++] = cpu;
        }
    }
}
