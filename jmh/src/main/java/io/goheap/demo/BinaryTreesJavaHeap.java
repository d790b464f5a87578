package io.goheap.demo;

import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * binary-trees on the Java heap (plain objects, the JVM's own collector), single-threaded: the peer of
 * {@link BinaryTrees}, for side-by-side runs with the same program shape. Public for JMH's {@code BinaryTreesBench}.
 */
public final class BinaryTreesJavaHeap {
    private record Node(Node left, Node right) {
        int check() {
            return left == null ? 1 : 1 + left.check() + right.check();
        }
    }

    private BinaryTreesJavaHeap() {
    }

    private static Node bottomUp(int depth) {
        return depth <= 0 ? new Node(null, null) : new Node(bottomUp(depth - 1), bottomUp(depth - 1));
    }

    /** As {@link BinaryTrees#run}: prints to {@code out} and returns the sum of the check values printed. */
    public static long run(int maxDepth, PrintStream out) {
        int max = Math.max(6, maxDepth);
        long t0 = System.nanoTime();
        long stretch = bottomUp(max + 1).check();
        long sum = stretch;
        out.printf("stretch tree of depth %d\t check: %d%n", max + 1, stretch);
        Node longLived = bottomUp(max);
        for (int d = 4; d <= max; d += 2) {
            int iterations = 1 << (max - d + 4);
            long check = 0;
            for (int i = 0; i < iterations; i++) {
                check += bottomUp(d).check();
            }
            sum += check;
            out.printf("%d\t trees of depth %d\t check: %d%n", iterations, d, check);
        }
        long longCheck = longLived.check();
        sum += longCheck;
        out.printf("long lived tree of depth %d\t check: %d%n", max, longCheck);
        long collections = 0;
        long gcMillis = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            collections += Math.max(0, gc.getCollectionCount());
            gcMillis += Math.max(0, gc.getCollectionTime());
        }
        out.printf("%njava heap: %.2f s, %d collections, %d ms in collections%n", (System.nanoTime() - t0) / 1e9,
                collections, gcMillis);
        return sum;
    }
}
