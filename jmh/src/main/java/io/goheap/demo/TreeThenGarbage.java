package io.goheap.demo;

import io.goheap.Heap;
import io.goheap.MemStats;
import io.goheap.Mutator;
import io.goheap.Root;
import java.io.PrintStream;

/**
 * A long-lived structure beside a stream of garbage, the layout question of a service: builds a 32 MiB tree
 * (binary-trees' nodes, depth 20: 2 097 151 nodes of 16 bytes), holds it in a local frame or in a global root,
 * then allocates 128 MiB of garbage nodes, and prints what the collector did — cycles, pauses in all and the
 * longest. The peer is {@code jmh/go/treegarbage}: the same program in Go, the tree in a local variable.
 */
public final class TreeThenGarbage {
    private TreeThenGarbage() {
    }

    /** Runs it with the tree held in a frame ({@code inFrame}) or a root; returns the tree's node count. */
    public static long run(boolean inFrame, PrintStream out) {
        long nodes;
        try (Heap heap = Heap.create(); Root root = heap.newRoot(); Mutator m = heap.attach()) {
            long t0 = System.nanoTime();
            long tree = BinaryTrees.bottomUp(m, 20);
            if (inFrame) {
                m.keep(tree);
            } else {
                root.set(tree);
            }
            long garbage = (128L << 20) / 16;
            for (long i = 0; i < garbage; i++) {
                m.allocate(BinaryTrees.NODE);
            }
            nodes = BinaryTrees.count(m, tree);
            long elapsed = System.nanoTime() - t0;
            MemStats s = heap.readMemStats();
            long maxPause = 0;
            for (int i = 0; i < Math.min(256, s.numGC()); i++) {
                maxPause = Math.max(maxPause, s.pauseNs(i));
            }
            out.printf("tree of %d nodes in a %s, then %d MiB of garbage%n", nodes, inFrame ? "frame" : "root", 128);
            out.printf("goheap: %.2f s, %d collections, pauses total %.2f ms, longest %.3f ms%n",
                    elapsed / 1e9, s.numGC(), s.pauseTotalNs() / 1e6, maxPause / 1e6);
        }
        return nodes;
    }
}
