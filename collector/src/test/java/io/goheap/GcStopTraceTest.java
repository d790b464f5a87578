package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * GODEBUG gcstoptrace=1: each stop of the world and handshake of a cycle prints how long it waited and names the
 * thread it waited for longest. A thread that holds a Mutator and stops polling while the mark starts delays the
 * frame-scan handshake: the line names it (and no line names a thread that never held a P meanwhile).
 */
class GcStopTraceTest {
    private static final Pattern LINE = Pattern.compile("gcstop: [a-z ()-]+ \\d+\\.\\d{3} ms; "
            + "(slowest P\\d+ \\d+\\.\\d{3} ms, held by \"[^\"]+\"|waited for no running thread)");

    @Test
    void theSlowestThreadOfAHandshakeIsNamed() throws Exception {
        assertTrue(GcSettings.resolve(null, "gcstoptrace=1", k -> null).gcstoptrace());
        assertFalse(GcSettings.resolve(null, "gcpacertrace=1", k -> null).gcstoptrace());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        Heap built;
        System.setErr(new PrintStream(out, true));           // the collector takes System.err when it is built
        try {
            built = Heap.builder().reservation(256L << 20).maxProcs(2).gcPercent(-1).godebug("gcstoptrace=1").build();
        } finally {
            System.setErr(stderr);
        }
        try (Heap heap = built) {
            AtomicBoolean stopPolling = new AtomicBoolean();
            CountDownLatch silent = new CountDownLatch(1);
            AtomicBoolean cycleOver = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread slow = new Thread(() -> {
                try (Mutator m = heap.attach()) {
                    while (!stopPolling.get()) {
                        m.poll();
                    }
                    silent.countDown();
                    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();                 // holds its P without polling: the handshake waits
                    }
                    while (!cycleOver.get()) {
                        m.poll();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                    silent.countDown();
                }
            }, "slow-holder");
            slow.start();
            heap.collector.concurrentMarkStartForTests = () -> {
                stopPolling.set(true);
                try {
                    assertTrue(silent.await(30, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            };
            try {
                heap.collector.runPacedCycleForTests();
            } finally {
                heap.collector.concurrentMarkStartForTests = null;
                cycleOver.set(true);
                slow.join();
            }
            assertNull(failure.get());
            List<String> lines = out.toString().lines().toList();
            assertEquals(lines.size(), lines.stream().filter(l -> LINE.matcher(l).matches()).count(),
                    "every line in the format: " + lines);
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("gcstop: frame scan handshake ")
                    && l.endsWith("held by \"slow-holder\"")), lines.toString());
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("gcstop: mark termination stop ")), lines.toString());
            assertEquals(5, lines.size(), "two setup handshakes, the frame scan, the ragged barrier, the stop: " + lines);
        }
    }
}
