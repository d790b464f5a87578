package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Mutator fast path allocates nothing on the Java heap, whatever the JIT does: the JVM's per-thread
 * allocation counter must not move across a million small alloc/free pairs (after warm-up, so class loading
 * and the first span refills are excluded). Counts bytes, not time.
 */
class FastPathAllocationTest {

    @Test
    void smallAllocAndFreeAllocateNoJavaObjects() {
        var threads = ManagementFactory.getThreadMXBean();
        assumeTrue(threads instanceof com.sun.management.ThreadMXBean, "HotSpot thread allocation counter needed");
        var counter = (com.sun.management.ThreadMXBean) threads;
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(1).build();
             Mutator m = heap.attach()) {
            long[] sizes = {8, 16, 24, 48, 128, 1024, 4096, 32768 - 8};
            churn(m, sizes, 10_000);
            long[] perRound = new long[4];
            for (int round = 0; round < perRound.length; round++) {
                long before = counter.getCurrentThreadAllocatedBytes();
                churn(m, sizes, 1_000_000);
                perRound[round] = counter.getCurrentThreadAllocatedBytes() - before;
            }
            System.out.println("Java heap bytes per 1M alloc/free round: " + java.util.Arrays.toString(perRound));
            // One-off allocations by the JIT or the counter itself may show once; a per-operation one would
            // show as >= 1M bytes in every round.
            assertEquals(0, perRound[perRound.length - 1], "Java heap bytes allocated by 1M fast-path alloc/free pairs");
        }
    }

    private static void churn(Mutator m, long[] sizes, int n) {
        for (int i = 0; i < n; i++) {
            long p = m.malloc(sizes[i & 7]);
            m.free(p);
        }
    }
}
