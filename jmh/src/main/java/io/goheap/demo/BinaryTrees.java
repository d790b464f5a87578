package io.goheap.demo;

import static java.lang.foreign.ValueLayout.ADDRESS;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import io.goheap.Root;
import java.io.PrintStream;
import java.lang.foreign.MemoryLayout;

/**
 * The Benchmarks Game's binary-trees on goheap's collector: every node is a collected object with two pointers,
 * dropped, never freed — the collector (paced by GOGC) reclaims the trees. Prints the program's canonical lines,
 * then what the collector did. Single-threaded, one Mutator; the tree being built is rooted by the node under
 * construction kept in the Mutator's local frame, and the long-lived tree by a global {@link Root} or, in the
 * frame layout, by the Mutator's outermost local frame. Public for JMH's {@code BinaryTreesBench}, which runs
 * {@link #run} with a discarding stream.
 */
public final class BinaryTrees {
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ADDRESS.withName("left"),
            ADDRESS.withName("right")));

    private final Mutator m;
    private final Heap heap;

    private BinaryTrees(Mutator m) {
        this.m = m;
        this.heap = m.heap();
    }

    /**
     * Runs the program at {@code maxDepth} (at least 6), printing to {@code out}, and returns the sum of the check
     * values it printed (the same for every peer at a given depth).
     */
    public static long run(int maxDepth, PrintStream out) {
        return run(maxDepth, false, out);
    }

    /** As {@link #run(int, PrintStream)}, the long-lived tree held in a local frame when {@code inFrame}. */
    public static long run(int maxDepth, boolean inFrame, PrintStream out) {
        int max = Math.max(6, maxDepth);
        long sum = 0;
        try (Heap heap = Heap.create(); Root longLived = heap.newRoot(); Mutator m = heap.attach()) {
            BinaryTrees t = new BinaryTrees(m);
            long t0 = System.nanoTime();
            long stretch = t.check(t.bottomUp(max + 1));
            sum += stretch;
            out.printf("stretch tree of depth %d\t check: %d%n", max + 1, stretch);
            long tree = t.bottomUp(max);
            if (inFrame) {
                m.keep(tree);                      // the long-lived tree in the Mutator's outermost frame
            } else {
                longLived.set(tree);
            }
            for (int d = 4; d <= max; d += 2) {
                int iterations = 1 << (max - d + 4);
                long check = 0;
                for (int i = 0; i < iterations; i++) {
                    check += t.check(t.bottomUp(d));
                }
                sum += check;
                out.printf("%d\t trees of depth %d\t check: %d%n", iterations, d, check);
            }
            long longCheck = t.check(inFrame ? tree : longLived.get());
            sum += longCheck;
            out.printf("long lived tree of depth %d\t check: %d%n", max, longCheck);
            long elapsed = System.nanoTime() - t0;
            MemStats s = heap.readMemStats();
            long maxPause = 0;
            for (int i = 0; i < Math.min(256, s.numGC()); i++) {
                maxPause = Math.max(maxPause, s.pauseNs(i));
            }
            out.printf("%ngoheap (long-lived tree in a " + (inFrame ? "frame" : "root")
                            + "): %.2f s, %d collections (GOGC %d), pauses total %.1f ms, longest of the last 256 %.2f ms,"
                            + " HeapSys %d MiB, Mallocs %d%n",
                    elapsed / 1e9, s.numGC(), heap.setGCPercent(heap.setGCPercent(100)), s.pauseTotalNs() / 1e6,
                    maxPause / 1e6, s.heapSys() >> 20, s.mallocs());
        }
        return sum;
    }

    /** A complete tree of {@code depth}: the node is allocated first and kept, so its subtrees' allocations cannot free it. */
    private long bottomUp(int depth) {
        try (Mutator.Frame f = m.enterFrame()) {
            long node = f.keep(m.allocate(NODE));
            if (depth > 0) {
                m.storePointer(node, bottomUp(depth - 1));           // not a safepoint: the child goes straight in
                m.storePointer(node + 8, bottomUp(depth - 1));
            }
            return node;
        }
    }

    /** A complete tree of {@code depth} allocated by {@code m} (see {@link #bottomUp(int)}). */
    static long bottomUp(Mutator m, int depth) {
        return new BinaryTrees(m).bottomUp(depth);
    }

    /** Nodes in the tree at {@code node}, read through {@code m}. */
    static long count(Mutator m, long node) {
        return new BinaryTrees(m).check(node);
    }

    /** Nodes in the tree at {@code node} (plain reads, no safepoint: nothing can be collected meanwhile). */
    private long check(long node) {
        long left = m.loadPointer(node);
        return left == 0 ? 1 : 1 + check(left) + check(m.loadPointer(node + 8));
    }
}
