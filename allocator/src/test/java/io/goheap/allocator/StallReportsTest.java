package io.goheap.allocator;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.ResourceBundle;

import static org.junit.jupiter.api.Assertions.*;

/**
 * No silent hang: a stop of the world or a handshake that waits for a thread holding a P outside a blocking region
 * reports the thread through System.Logger {@code io.goheap} — name, state, stack — repeats while it lasts, and
 * counts the reports; the wait ends normally when the thread polls.
 */
class StallReportsTest {
    /** One logged record. */
    private record Logged(System.Logger.Level level, String message) {
    }

    /** A System.Logger that keeps what it is given, as a service's logging backend would receive it. */
    private static final class Capture implements System.Logger {
        final List<Logged> records = new CopyOnWriteArrayList<>();

        @Override
        public String getName() {
            return "io.goheap";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            records.add(new Logged(level, msg));
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            records.add(new Logged(level, params == null ? format : java.text.MessageFormat.format(format, params)));
        }
    }

    @Test
    void aStopOfTheWorldReportsTheThreadItWaitsForAndRepeatsWhileItWaits() throws Exception {
        waitedForThreadIsReported(procs -> {
            procs.stopTheWorld();
            procs.startTheWorld();
        }, "a stop of the world");
    }

    @Test
    void aHandshakeReportsTheThreadItWaitsForAndRepeatsWhileItWaits() throws Exception {
        waitedForThreadIsReported(procs -> procs.handshake(p -> { }), "a handshake");
    }

    private void waitedForThreadIsReported(Consumer<Procs> waiter, String what) throws Exception {
        Capture log = new Capture();
        try (Heap heap = Heap.builder().reservation(256L << 20).maxProcs(2).stallLog(log)
                .stallReportThreshold(Duration.ofMillis(50)).build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread holder = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    long a = m.malloc(32);
                    holding.countDown();
                    release.await();                       // blocks holding its P, outside a blocking region
                    m.free(a);                             // a safepoint: the wait ends here
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "stalled-holder");
            holder.start();
            holding.await();
            Thread collector = new Thread(() -> {
                try {
                    waiter.accept(heap.procs());
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "waiter");
            collector.start();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (heap.stallReports() < 2) {               // repeated while the wait lasts
                assertTrue(collector.isAlive(), "the waiter ended without the holder polling");
                assertTrue(System.nanoTime() < deadline, "a wait of 60 s for one thread was not reported twice");
                Thread.sleep(10);
            }
            release.countDown();
            collector.join();
            holder.join();
            assertNull(failure.get());
            long reports = heap.stallReports();
            Logged first = log.records.stream().filter(r -> r.message().contains("stalled-holder")).findFirst()
                    .orElseThrow(() -> new AssertionError("no report names the thread: " + log.records));
            assertEquals(System.Logger.Level.WARNING, first.level());
            String text = first.message();
            assertTrue(text.contains(what + " has waited"), text);
            assertTrue(text.contains("WAITING"), "the thread's state: " + text);
            assertTrue(text.contains("CountDownLatch.await"), "the thread's stack: " + text);
            assertTrue(log.records.stream().filter(r -> r.message().contains("stalled-holder")).count() >= 2);
            assertEquals(reports, heap.stallReports(), "no report once the wait ended");
            HeapAudit.check(heap);
        }
    }

    @Test
    void theThresholdMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().stallReportThreshold(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().stallReportThreshold(Duration.ofSeconds(-1)));
    }

    /** Go treats GOMAXPROCS below 1 as unset (the CPU count); so does the builder. */
    @Test
    void maxProcsBelowOneIsTheDefault() {
        try (Heap zero = Heap.builder().reservation(256L << 20).maxProcs(0).build();
             Heap negative = Heap.builder().reservation(256L << 20).maxProcs(-5).build();
             Heap unset = Heap.builder().reservation(256L << 20).build()) {
            assertEquals(unset.maxProcs(), zero.maxProcs());
            assertEquals(unset.maxProcs(), negative.maxProcs());
        }
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().maxProcs(1025));
    }
}
