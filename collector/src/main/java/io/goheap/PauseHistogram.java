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
    public PauseHistogram {
        boundsNanos = boundsNanos.clone();
        counts = counts.clone();
        if (boundsNanos.length != counts.length + 1) {
            throw new IllegalArgumentException("bounds must have one entry more than counts: "
                    + boundsNanos.length + " and " + counts.length);
        }
    }

    @Override
    public long[] boundsNanos() {
        return boundsNanos.clone();
    }

    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** The number of pauses recorded. */
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
