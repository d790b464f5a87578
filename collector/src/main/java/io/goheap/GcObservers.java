package io.goheap;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The listeners of one heap's cycle ends ({@link GcCycleSummary}): its JMX collector bean and its JFR events.
 *
 * <p>Threads: the collector calls {@link #cycleEnded} on the thread that ran the cycle, after the cycle's statistics
 * are recorded and the world runs again, holding the cycle lock (so summaries arrive in cycle order). A listener must
 * be quick and must not wait for the collector (no {@code gc()}, no {@code readMemStats()}): it runs inside a
 * collection. A listener that throws is reported on stderr and the cycle completes. Adding and removing are safe at
 * any time from any thread (a copy-on-write list).
 */
final class GcObservers {
    private final List<Consumer<GcCycleSummary>> listeners = new CopyOnWriteArrayList<>();

    void add(Consumer<GcCycleSummary> listener) {
        listeners.add(listener);
    }

    void remove(Consumer<GcCycleSummary> listener) {
        listeners.remove(listener);
    }

    void cycleEnded(GcCycleSummary cycle) {
        GcEvents.cycle(cycle);
        for (Consumer<GcCycleSummary> l : listeners) {
            try {
                l.accept(cycle);
            } catch (RuntimeException e) {
                System.err.println("goheap: a cycle-end listener failed: " + e);
            }
        }
    }
}
