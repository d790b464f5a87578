package io.goheap.allocator;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The grey objects several markers share (Go's {@code work.full} list of gcWork buffers, with its termination
 * rule): a marker whose own stack is long gives a chunk of it here when another marker is idle; an idle marker
 * takes a chunk. Used by the parallel drain of a stop-the-world mark ({@link MarkWork#drainShared}).
 *
 * <h2>Termination</h2>
 * {@link #busy} counts markers that may still produce work. A marker gives chunks only while busy, and goes idle
 * (decrements) only with an empty stack. So when a marker reads {@code busy == 0} and <em>then</em> finds the
 * pool empty, no marker holds or can produce grey objects: marking is done. (Reading the pool first would be
 * wrong: a busy marker could give a chunk and go idle between the two reads.) Allowed: a chunk taken by one idle
 * marker while another found it a moment ago; forbidden: any marker stopping while a grey object is left.
 *
 * <h2>Failure</h2>
 * A marker that fails (a bad pointer, the Java heap running out) sets {@link #abort}; the others stop at their
 * next check, and the collector throws the failure and clears every mark.
 */
public final class MarkPool {
    static final int CHUNK = 256;

    private final ConcurrentLinkedQueue<long[]> chunks = new ConcurrentLinkedQueue<>();
    private final AtomicInteger busy;
    private final int markers;
    volatile boolean abort;

    /**
     * A pool for up to {@code markers} markers; the creating one is busy, each helper counts itself in when it
     * starts ({@link #join}). A helper that starts late, or never (its thread refused, cancelled by a close), loses
     * nothing: work given to the pool meanwhile is taken back by whoever runs out first.
     */
    public MarkPool(int markers) {
        this.markers = markers;
        this.busy = new AtomicInteger(1);
    }

    /** A helper starts marking (with an empty stack: it will ask for work first). */
    public void join() {
        busy.incrementAndGet();
    }

    /** Whether some marker is idle, so giving it work pays. */
    boolean hungry() {
        return busy.get() < markers;
    }

    /** Takes a copy of {@code count} grey objects from {@code objects[from...]} as one chunk. */
    void give(long[] objects, int from, int count) {
        chunks.add(java.util.Arrays.copyOfRange(objects, from, from + count));
    }

    /** Stops every marker at its next check (one of them failed). */
    public void abort() {
        abort = true;
    }

    /**
     * Called by a marker whose stack is empty: a chunk to go on with, or null when marking is over (or aborted).
     * Waits, spinning then yielding, while other markers may still give work.
     */
    long[] awaitWork() {
        long[] c = chunks.poll();
        if (c != null) {
            return c;
        }
        busy.decrementAndGet();
        for (int spins = 0; ; spins++) {
            if (abort) {
                return null;
            }
            if (!chunks.isEmpty()) {
                busy.incrementAndGet();
                c = chunks.poll();
                if (c != null) {
                    return c;
                }
                busy.decrementAndGet();
            } else if (busy.get() == 0 && chunks.isEmpty()) {
                return null;                          // busy read first: see the class comment
            }
            if (spins < 100) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }
}
