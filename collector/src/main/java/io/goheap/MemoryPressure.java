package io.goheap;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * Memory-pressure listeners (beyond Go; golang/go #59324 asks for them): each registration watches one measure
 * ({@link MemoryPressureEvent.Measure}) against a fraction of the memory limit, and hears a rising event when the
 * measure reaches {@code fraction × limit} and a falling one when it drops below
 * {@code (fraction − hysteresis) × limit}, once each way: between the two lines nothing is repeated, so a measure
 * that hovers at the threshold does not flood the listener. Without a memory limit nothing is watched.
 *
 * <h2>When it looks</h2>
 * After every collection and, from the allocation slow path, at most every 10 ms (with the GC CPU limiter's
 * account); the resident set, which costs a read of {@code /proc/self/smaps_rollup}, at most every
 * {@link #RSS_INTERVAL_NANOS}. Events go to one daemon thread ({@code goheap-pressure}, started with the first
 * registration) in the order they were seen, so listeners run without any heap lock or P.
 *
 * <p>Thread-safety: registrations are a copy-on-write list; {@link #check} is synchronized (each registration's
 * above/below state).
 */
final class MemoryPressure {
    /** Warnings (a listener that threw) go to this logger, which the application routes. */
    private static final System.Logger LOG = System.getLogger(MemoryPressure.class.getName());

    static final long RSS_INTERVAL_NANOS = 100_000_000;

    private final List<Registration> registrations = new CopyOnWriteArrayList<>();
    private ExecutorService events;
    private long lastRssRead = Long.MIN_VALUE / 2;
    private long lastRss;
    private boolean closed;

    /** A listener's registration; {@link #close()} removes it. */
    final class Registration implements AutoCloseable {
        final MemoryPressureEvent.Measure measure;
        final double fraction;
        final double hysteresis;
        final MemoryPressureListener listener;
        boolean above;

        Registration(MemoryPressureEvent.Measure measure, double fraction, double hysteresis,
                     MemoryPressureListener listener) {
            this.measure = measure;
            this.fraction = fraction;
            this.hysteresis = hysteresis;
            this.listener = listener;
        }

        @Override
        public void close() {
            registrations.remove(this);
        }
    }

    synchronized AutoCloseable add(MemoryPressureEvent.Measure measure, double fraction, double hysteresis,
                                   MemoryPressureListener listener) {
        Objects.requireNonNull(measure, "measure");
        Objects.requireNonNull(listener, "listener");
        if (!(fraction > 0) || fraction > 10 || Double.isNaN(fraction)) {
            throw new IllegalArgumentException("pressure fraction of the memory limit must be in (0, 10]: " + fraction);
        }
        if (!(hysteresis >= 0) || hysteresis >= fraction) {
            throw new IllegalArgumentException("pressure hysteresis must be in [0, fraction " + fraction + "): "
                    + hysteresis);
        }
        if (closed) {
            throw new IllegalStateException("heap is closed");
        }
        if (events == null) {
            events = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "goheap-pressure");
                t.setDaemon(true);
                return t;
            });
        }
        Registration r = new Registration(measure, fraction, hysteresis, listener);
        registrations.add(r);
        return r;
    }

    /** Looks at every registration's measure now (see the class comment). */
    synchronized void check(Collector c) {
        if (registrations.isEmpty() || closed) {
            return;
        }
        long limit = c.memoryLimit();
        if (limit == Long.MAX_VALUE) {
            return;
        }
        long live = c.liveHeap();
        long rss = -1;
        for (Registration r : registrations) {
            long value;
            if (r.measure == MemoryPressureEvent.Measure.LIVE_HEAP) {
                value = live;
            } else {
                if (rss < 0) {
                    rss = rss(c);
                }
                value = rss;
            }
            if (!r.above && value >= r.fraction * limit) {
                r.above = true;
                fire(r, new MemoryPressureEvent(r.measure, r.fraction, true, value, limit));
            } else if (r.above && value < (r.fraction - r.hysteresis) * limit) {
                r.above = false;
                fire(r, new MemoryPressureEvent(r.measure, r.fraction, false, value, limit));
            }
        }
    }

    private long rss(Collector c) {
        long now = System.nanoTime();
        if (now - lastRssRead >= RSS_INTERVAL_NANOS) {
            lastRss = c.heap.allocator.processMemory().rss();
            lastRssRead = now;
        }
        return lastRss;
    }

    private void fire(Registration r, MemoryPressureEvent e) {
        try {
            events.execute(() -> {
                if (!registrations.contains(r)) {
                    return;
                }
                try {
                    r.listener.onMemoryPressure(e);
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "goheap: a memory pressure listener threw", t);
                }
            });
        } catch (RejectedExecutionException closedMeanwhile) {
            // the heap closed: no more events
        }
    }

    /** Stops the event thread (events queued are dropped). */
    synchronized void close() {
        closed = true;
        if (events != null) {
            events.shutdownNow();
        }
    }
}
