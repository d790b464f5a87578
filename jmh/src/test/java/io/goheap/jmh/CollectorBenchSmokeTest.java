package io.goheap.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Runs MarkRateBench and BinaryTreesBench outside JMH at tiny sizes, with their states set up by hand, as
 * {@link PeersSmokeTest} does for the allocation benchmarks. BinaryTreesBench's {@code go} peer runs only when
 * {@code go} is on the PATH.
 */
class CollectorBenchSmokeTest {

    @Test
    void markRateBuildsAnAllReachableGraphAndCollectsIt() {
        MarkRateBench b = new MarkRateBench();
        b.mib = 2;
        b.setup();                                   // throws unless HeapObjects == N after a gc
        try {
            for (int i = 0; i < 3; i++) {
                b.gc();
            }
            b.endIteration();                        // the graph survived
        } finally {
            b.tearDown();
        }
    }

    @Test
    void shuffleIsAPermutation() {
        int[] perm = MarkRateBench.shuffled(1000);
        int[] sorted = perm.clone();
        Arrays.sort(sorted);
        int[] identity = new int[1000];
        Arrays.setAll(identity, i -> i);
        assertArrayEquals(identity, sorted);
    }

    @Test
    void binaryTreesPeersAgree() throws Exception {
        String[] peers = goOnPath() ? new String[] {"goheap", "java-heap", "go"} : new String[] {"goheap", "java-heap"};
        for (String peer : peers) {
            BinaryTreesBench b = new BinaryTreesBench();
            b.peer = peer;
            b.depth = 8;
            b.setup();
            try {
                assertEquals(BinaryTreesBench.expectedCheckSum(8), b.run(), peer);
                b.checkLastRun();
            } finally {
                b.tearDown();
            }
        }
    }

    private static boolean goOnPath() {
        try {
            return new ProcessBuilder("go", "version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
