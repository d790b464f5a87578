package io.goheap.jmh;

import io.goheap.demo.BinaryTrees;
import io.goheap.demo.BinaryTreesJavaHeap;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * The Benchmarks Game's binary-trees, one whole run per op, three peers side by side in one JMH run (the issue's
 * "binary-trees depth 21, time ≤ Go's"): {@code goheap} (the demo's {@link BinaryTrees}: collected off-heap
 * nodes, a fresh default heap per run, GOGC from the environment, else 100), {@code java-heap}
 * ({@link BinaryTreesJavaHeap}: records on the JVM's heap and collector, in this fork's JVM) and {@code go}
 * (Go's own runtime: {@code jmh/go/binarytrees}, built with {@code go build} into a temporary directory at setup,
 * run as a subprocess per op with the depth; GOGC and GOMAXPROCS from the environment). All three run the mutator
 * on one thread; the collectors may use more (Go's background mark workers, G1's parallel threads; goheap's
 * marker is single-threaded and stops the world). The two JVM peers print to a discarding stream.
 *
 * <p>The score is the wall time of one whole run (single shot). For {@code go} it is the whole process: fork and
 * exec and the Go runtime's start (about 1 ms, noise at depth 21) and its exit. The JVM peers run JIT-compiled
 * after the warm-up iteration; Go is compiled ahead of time. Every op's sum of the printed check values is
 * checked against the formula, so a peer that did less work fails the run.
 *
 * <p>Run (depth 21 takes minutes for goheap; {@code -p depth=14} for a quick look):
 * <pre>
 *   ./mvnw -q compile exec:exec@jmh -Djmh.args="BinaryTreesBench -p depth=21"
 *   ./mvnw -q compile exec:exec@jmh -Djmh.args="BinaryTreesBench -p depth=21 -p peer=goheap,go"
 * </pre>
 * The {@code go} peer needs {@code go} (1.19+) on the PATH and finds its source in {@code go/binarytrees} or
 * {@code jmh/go/binarytrees} under the working directory (the exec plugin runs in {@code jmh/}).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(1)
@State(Scope.Benchmark)
public class BinaryTreesBench {
    private static final Pattern CHECK = Pattern.compile("check: (\\d+)");

    @Param({"goheap", "java-heap", "go"})
    public String peer;

    /** The program's argument n (the trees' maximum depth; the programs use at least 6). */
    @Param("21")
    public int depth;

    private final PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
    private Path goBuildDir;
    private Path goBinary;
    private long expected;
    private long last;

    @Setup(Level.Trial)
    public void setup() throws IOException, InterruptedException {
        expected = expectedCheckSum(depth);
        switch (peer) {
            case "goheap", "java-heap" -> { }
            case "go" -> buildGo();
            default -> throw new IllegalArgumentException("unknown peer: " + peer + " (goheap, java-heap, go)");
        }
    }

    private void buildGo() throws IOException, InterruptedException {
        Path cwd = Path.of("").toAbsolutePath();
        Path source = null;
        for (Path candidate : List.of(cwd.resolve("go/binarytrees"), cwd.resolve("jmh/go/binarytrees"))) {
            if (Files.isRegularFile(candidate.resolve("main.go"))) {
                source = candidate;
                break;
            }
        }
        if (source == null) {
            throw new IllegalStateException("peer go: no go/binarytrees/main.go or jmh/go/binarytrees/main.go under "
                    + cwd + "; run from the repository or its jmh/ directory");
        }
        goBuildDir = Files.createTempDirectory("goheap-binarytrees");
        goBinary = goBuildDir.resolve("binarytrees");
        Process build;
        try {
            build = new ProcessBuilder("go", "build", "-o", goBinary.toString(), ".").directory(source.toFile())
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("peer go needs Go 1.19+ on the PATH: cannot run `go` (" + e.getMessage()
                    + "); leave it out with -p peer=goheap,java-heap", e);
        }
        int status = build.waitFor();
        if (status != 0 || !Files.isExecutable(goBinary)) {
            throw new IllegalStateException("peer go: `go build` in " + source + " failed (exit " + status + ")");
        }
    }

    @TearDown(Level.Iteration)
    public void checkLastRun() {
        if (last != expected) {
            throw new IllegalStateException(peer + " at depth " + depth + ": check values sum to " + last + ", want "
                    + expected);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (goBuildDir != null) {
            Files.deleteIfExists(goBinary);
            Files.deleteIfExists(goBuildDir);
        }
    }

    @Benchmark
    public long run() throws IOException, InterruptedException {
        last = switch (peer) {
            case "goheap" -> BinaryTrees.run(depth, discard);
            case "java-heap" -> BinaryTreesJavaHeap.run(depth, discard);
            default -> runGo();
        };
        return last;
    }

    /** Runs the Go program once and returns the sum of the check values it printed. */
    private long runGo() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(goBinary.toString(), Integer.toString(depth))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = p.waitFor();
        if (status != 0) {
            throw new IllegalStateException("peer go exited with " + status + ":\n" + out);
        }
        long sum = 0;
        Matcher m = CHECK.matcher(out);
        while (m.find()) {
            sum += Long.parseLong(m.group(1));
        }
        return sum;
    }

    /** The sum of every check value binary-trees prints at {@code depth}: a complete tree of depth d has 2^(d+1)-1 nodes. */
    static long expectedCheckSum(int depth) {
        int max = Math.max(6, depth);
        long sum = (1L << (max + 2)) - 1;                       // stretch tree, depth max + 1
        for (int d = 4; d <= max; d += 2) {
            sum += (1L << (max - d + 4)) * ((1L << (d + 1)) - 1);
        }
        return sum + (1L << (max + 1)) - 1;                     // long-lived tree, depth max
    }
}
