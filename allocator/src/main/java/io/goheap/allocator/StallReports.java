package io.goheap.allocator;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reports of stops of the world and handshakes that wait long for one thread: no wait for a thread is ever silent.
 *
 * <p>A stopper or handshaker that has waited {@link #thresholdNanos} (default 1 s; set with the heap builder) for
 * the holder of one P logs a warning through {@link System.Logger} named {@code io.goheap} — the holder's name,
 * id, state and stack, and what it should do instead — counts it ({@link #count()}, MemStats'
 * {@code StallReports}), and repeats every threshold while the wait lasts. A holder that polls, enters a blocking
 * region or lets its P go ends the wait. The logger is the platform's: {@code java.util.logging} unless the
 * application installs a {@link System.LoggerFinder} (SLF4J and Log4j ship one), so a service routes these
 * reports like its own.
 *
 * <p>Thread-safety: one waiter (the stopper or the handshaker, under the collector's cycle lock) calls
 * {@link #waiting} with its own {@link Wait}; the count is atomic and read by any thread.
 */
final class StallReports {
    private final System.Logger log;

    /** How long a stop or handshake waits for one thread before it reports it, and then between reports. */
    final long thresholdNanos;
    private final AtomicLong reports = new AtomicLong();

    StallReports(long thresholdNanos, System.Logger log) {
        this.log = log != null ? log : System.getLogger("io.goheap");
        if (thresholdNanos <= 0) {
            throw new IllegalArgumentException("stall report threshold must be positive: " + thresholdNanos + " ns");
        }
        this.thresholdNanos = thresholdNanos;
    }

    /** One waiter's wait for one P: when it began and when the next report is due. */
    static final class Wait {
        final long since;
        long next;

        private Wait(long since, long next) {
            this.since = since;
            this.next = next;
        }
    }

    /**
     * Called by a waiter each time it is about to park for {@code p}: starts the wait ({@code wait} null) or, when a
     * report is due, reports {@code p}'s holder. Returns the wait to pass next time.
     */
    Wait waiting(Wait wait, String what, P p) {
        long now = System.nanoTime();
        if (wait == null) {
            return new Wait(now, now + thresholdNanos);
        }
        if (now - wait.next >= 0) {
            wait.next = now + thresholdNanos;
            Thread holder = p.ownerPlain();
            if (holder != null) {
                report(what, holder, now - wait.since);
            }
        }
        return wait;
    }

    private void report(String what, Thread holder, long waitedNanos) {
        reports.incrementAndGet();
        if (log.isLoggable(Level.WARNING)) {
            log.log(Level.WARNING, message(what, holder, waitedNanos, holder.getState(), holder.getStackTrace()));
        }
    }

    /** The report's text. */
    static String message(String what, Thread holder, long waitedNanos, Thread.State state, StackTraceElement[] stack) {
        StringBuilder b = new StringBuilder(256);
        b.append("goheap: ").append(what).append(" has waited ")
                .append(String.format(java.util.Locale.ROOT, "%.3f", waitedNanos / 1e9)).append(" s for thread \"")
                .append(holder.getName()).append("\" (id ").append(holder.threadId())
                .append(holder.isVirtual() ? ", virtual" : "").append(", ").append(state)
                .append("), which holds a P of the heap outside its calls and is not at a safepoint: a thread that holds"
                        + " a Mutator must block inside Mutator.blocking() and call Mutator.poll() in long loops,"
                        + " or attach with Heap.attachLending(). Its stack:");
        for (StackTraceElement e : stack) {
            b.append("\n\tat ").append(e);
        }
        return b.toString();
    }

    /** How many reports were made since the heap was built. */
    long count() {
        return reports.get();
    }
}
