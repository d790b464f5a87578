package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The pause histogram's buckets: every pause lands in the bucket whose bounds hold it, each bucket under 25% wide. */
class PauseRecorderTest {
    @Test
    void everyPauseLandsInTheBucketThatHoldsIt() {
        long[] b = PauseRecorder.boundsNanos();
        assertEquals(PauseRecorder.BUCKETS + 1, b.length);
        for (int i = 0; i + 1 < b.length; i++) {
            assertTrue(b[i] < b[i + 1], "increasing at " + i);
            if (i >= 1 && i + 2 < b.length) {
                assertTrue((double) (b[i + 1] - b[i]) / b[i] <= 0.25, "bucket " + i + " under 25% wide");
            }
        }
        SplittableRandom rnd = new SplittableRandom(1);
        long[] probes = new long[2000];
        for (int i = 0; i < probes.length; i++) {
            probes[i] = rnd.nextLong(1L << rnd.nextInt(1, 40));
        }
        PauseRecorder r = new PauseRecorder();
        for (long v : new long[] {-5, 0, 1, 1023, 1024, 1279, 1280, 1L << 35, (1L << 36) - 1, 1L << 36, Long.MAX_VALUE}) {
            int i = PauseRecorder.bucketOf(v);
            assertTrue(Math.max(v, 0) >= b[i] && (v < b[i + 1] || i == PauseRecorder.BUCKETS - 1), v + " in bucket " + i);
            r.record(v);
        }
        for (long v : probes) {
            int i = PauseRecorder.bucketOf(v);
            assertTrue(v >= b[i] && v < b[i + 1], v + " in bucket " + i);
            r.record(v);
        }
        long total = 0;
        for (long c : r.counts()) {
            total += c;
        }
        assertEquals(11 + probes.length, total);
    }
}
