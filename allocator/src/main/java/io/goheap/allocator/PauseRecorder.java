package io.goheap.allocator;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A histogram of the pauses the collector makes threads see (Go's {@code /gc/pauses:seconds} in runtime/metrics):
 * each stop of the world a cycle makes, and each handshake step a thread runs at its poll ({@link Procs#handshake}).
 * Log-linear buckets: below 1 µs one bucket, then four per power of two up to 2^36 ns (~69 s), then one for
 * everything longer — relative error under 19% for any pause, in 146 buckets of one {@code long} each.
 *
 * <p>Thread-safety: {@link #record} is lock-free (an atomic add on one bucket) from any thread; {@link #counts} reads
 * each bucket atomically, so a snapshot taken while pauses are recorded may miss the newest ones, never invents any.
 */
public final class PauseRecorder {
    /** Sub-buckets per power of two. */
    private static final int SUB = 4;
    /** The first power of two with its own sub-buckets: 2^10 ns ≈ 1 µs. */
    private static final int MIN_EXP = 10;
    private static final int MAX_EXP = 36;
    /** Bucket 0: below 2^MIN_EXP ns; then SUB per exponent; the last: 2^MAX_EXP ns and more. */
    public static final int BUCKETS = 1 + (MAX_EXP - MIN_EXP) * SUB + 1;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    /** Counts one pause of {@code nanos} (negative counts as 0). */
    public void record(long nanos) {
        counts.incrementAndGet(bucketOf(nanos));
    }

    static int bucketOf(long nanos) {
        if (nanos < (1L << MIN_EXP)) {
            return 0;
        }
        int e = 63 - Long.numberOfLeadingZeros(nanos);
        if (e >= MAX_EXP) {
            return BUCKETS - 1;
        }
        int sub = (int) ((nanos >>> (e - 2)) & (SUB - 1));     // the two bits below the leading one
        return 1 + (e - MIN_EXP) * SUB + sub;
    }

    /**
     * The lower bound of each bucket in nanoseconds, plus a last entry: the upper bound of the last bucket
     * ({@code Long.MAX_VALUE}); {@code BUCKETS + 1} entries, increasing. Bucket i holds pauses in
     * [bounds[i], bounds[i + 1]).
     */
    public static long[] boundsNanos() {
        long[] b = new long[BUCKETS + 1];
        b[0] = 0;
        for (int e = MIN_EXP; e < MAX_EXP; e++) {
            for (int s = 0; s < SUB; s++) {
                b[1 + (e - MIN_EXP) * SUB + s] = (1L << e) + ((long) s << (e - 2));
            }
        }
        b[BUCKETS - 1] = 1L << MAX_EXP;
        b[BUCKETS] = Long.MAX_VALUE;
        return b;
    }

    /** A copy of the counts, bucket by bucket ({@link #BUCKETS} entries). */
    public long[] counts() {
        long[] out = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            out[i] = counts.get(i);
        }
        return out;
    }
}
