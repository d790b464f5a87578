package io.goheap.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.MemStats;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Runs every benchmark method a few times outside JMH, with its states set up by hand, so that a broken peer or a
 * goheap API change shows up in {@code ./mvnw verify} rather than in the middle of a 20-minute JMH run. Runs on a
 * Netty FastThreadLocalThread, as the benchmarks do (see {@link FastThreadExecutor}).
 */
class PeersSmokeTest {

    @Test
    void everyBenchmarkMethodRuns() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new DefaultThreadFactory("smoke").newThread(() -> {
            try {
                runAll();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError("benchmark method failed", failure.get());
        }
    }

    private static void runAll() {
        States.Slicing slicing = new States.Slicing();
        slicing.setup();
        States.Netty netty = new States.Netty();
        netty.setup();
        States.Chronicle chronicle = new States.Chronicle();
        chronicle.setup();
        States.GoHeap heap = new States.GoHeap();
        heap.open(1);
        States.GoMutator mutator = new States.GoMutator();
        mutator.setup(heap);
        BulkFreeBench.Live live = new BulkFreeBench.Live();
        try {
            for (int size : new int[] {8, 16, 4096, 32768, 65536, 1048576}) {
                AllocFreeBench a = new AllocFreeBench();
                a.size = size;
                for (int i = 0; i < 3; i++) {
                    a.unsafe();
                    a.ffmArenaConfined();
                    a.ffmArenaSlicing(slicing);
                    a.nettyPooledDirect(netty);
                    a.chronicleNativeStore(chronicle);
                    a.goheapHeap(heap);
                    a.goheapMutator(mutator);
                }
            }
            for (int size : new int[] {16, 65536, 1048576}) {
                BulkFreeBench b = new BulkFreeBench();
                b.size = size;
                b.setup();
                assertEquals(BulkFreeBench.N, b.batch * (BulkFreeBench.N / b.batch));
                b.unsafe(live);
                b.ffmArenaConfined(live);
                b.ffmArenaConfinedBatch();
                b.ffmArenaSlicing(slicing);
                b.nettyPooledDirect(netty, live);
                b.chronicleNativeStore(chronicle, live);
                b.goheapHeap(heap, live);
                b.goheapMutator(mutator, live);
            }
            // Every goheap object was freed again, except that each P's mcache may still hold its current tiny
            // block (16-byte class): the 8-byte allocations are tiny objects, packed into 16-byte blocks as in Go.
            MemStats stats = heap.heap.readMemStats();
            for (MemStats.BySize c : stats.bySize()) {
                long left = c.mallocs() - c.frees();
                if (c.size() == 16) {
                    assertTrue(left >= 0 && left <= 2, stats::toString);
                } else {
                    assertEquals(0, left, stats::toString);
                }
            }
        } finally {
            mutator.tearDown();
            heap.tearDown();
            slicing.tearDown();
        }
    }
}
