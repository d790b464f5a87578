package io.goheap;

/**
 * The distribution of the pauses the collector made threads see (Go's {@code /gc/pauses:seconds} of
 * runtime/metrics): every stop of the world of a cycle (mark termination; the whole mark with
 * {@code GODEBUG=gcstoptheworld=1}) and every handshake step a thread ran at its own poll during a mark's setup.
 * {@link MemStats#pauseNs(int)} keeps one figure per cycle (its stop plus the longest handshake step); this keeps every
 * pause. Log-linear buckets, four per power of two from 1 µs (relative error under 19%). Read with
 * {@link Heap#readPauseHistogram()}; an immutable snapshot.
 *
 * @param boundsNanos the bucket bounds in nanoseconds, increasing: bucket i holds pauses in
 *                    [boundsNanos[i], boundsNanos[i + 1]); the last bound is {@code Long.MAX_VALUE}
 * @param counts      the pauses in each bucket; one entry fewer than {@code boundsNanos}
 */
public record PauseHistogram(long[] boundsNanos, long[] counts) {
    /**
     * A histogram of the given buckets, copied.
     *
     * @throws IllegalArgumentException unless {@code boundsNanos} has one entry more than {@code counts}, starts at
     *                                  0 or above and increases strictly, and no count is negative
     */
    public PauseHistogram {
        boundsNanos = boundsNanos.clone();
        counts = counts.clone();
        if (boundsNanos.length != counts.length + 1) {
            throw new IllegalArgumentException("bounds must have one entry more than counts: "
                    + boundsNanos.length + " and " + counts.length);
        }
        if (boundsNanos[0] < 0) {
            throw new IllegalArgumentException("the first bound is negative: " + boundsNanos[0]);
        }
        for (int i = 0; i + 1 < boundsNanos.length; i++) {
            if (boundsNanos[i + 1] <= boundsNanos[i]) {
                throw new IllegalArgumentException("bounds must increase: " + boundsNanos[i] + " then "
                        + boundsNanos[i + 1] + " at " + i);
            }
            if (counts[i] < 0) {
                throw new IllegalArgumentException("count " + i + " is negative: " + counts[i]);
            }
        }
    }

    /** Equal when the bounds and the counts are equal, element by element. */
    @Override
    public boolean equals(Object o) {
        return o instanceof PauseHistogram h && java.util.Arrays.equals(boundsNanos, h.boundsNanos)
                && java.util.Arrays.equals(counts, h.counts);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(boundsNanos) + java.util.Arrays.hashCode(counts);
    }

    /** The non-empty buckets as {@code [lower, upper) ns: count}, and the total. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("PauseHistogram[total=").append(total());
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] > 0) {
                b.append(", [").append(boundsNanos[i]).append(", ").append(boundsNanos[i + 1]).append(") ns: ")
                        .append(counts[i]);
            }
        }
        return b.append(']').toString();
    }

    /** {@return a copy of the bucket bounds, in nanoseconds} */
    @Override
    public long[] boundsNanos() {
        return boundsNanos.clone();
    }

    /** {@return a copy of the pause counts, one per bucket} */
    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** {@return the number of pauses recorded} */
    public long total() {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }

    /**
     * The upper bound (ns) of the bucket holding the pause at quantile {@code q} (0 ≤ q ≤ 1): an upper estimate of
     * that pause; 0 when nothing was recorded. The last bucket reports its lower bound (it has no upper one).
     *
     * @param q the quantile, in [0, 1]
     * @return the upper bound of the bucket that holds it, in nanoseconds
     */
    public long quantileNanos(double q) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("quantile must be in [0, 1]: " + q);
        }
        long total = total();
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return i + 1 < counts.length ? boundsNanos[i + 1] : boundsNanos[i];
            }
        }
        return boundsNanos[counts.length - 1];
    }
}
