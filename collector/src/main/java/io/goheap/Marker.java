package io.goheap;

import io.goheap.allocator.GcHooks;
import io.goheap.allocator.MarkPool;
import io.goheap.allocator.MarkWork;
import java.util.ArrayList;
import java.util.List;

/**
 * Marking (Go's {@code mgcmark}), stop-the-world: grey every object the roots point to, then scan grey objects by
 * their pointer slots until none is left ({@link MarkWork} holds the work list and the two steps). Tri-colour as
 * Go's; an explicit work stack, never recursion, so deep structures cannot overflow the Java stack. Interior
 * pointers mark their object; values outside the heap are not pointers and are ignored; a value inside the heap
 * that hits no allocated object is reported ({@link InvalidPointerException}, naming the root or slot that held
 * it) unless {@code invalidptr=0}.
 *
 * <p>Runs on the thread that stopped the world, with every P stopped: it alone reads slots, roots and mark bits.
 * One Marker per cycle.
 */
final class Marker {
    private final boolean reportInvalid;
    private final GcHooks hooks;
    private final MarkWork work;
    /** Helper threads for the drain, or null: mark on this thread alone. */
    private final MarkWorkers workers;
    /** What the helpers of finished parallel drains marked and scanned. */
    private long helpersMarked;
    private long helpersScanned;

    /**
     * A marker; with {@code checkmark}, a checkmark pass (GODEBUG {@code gccheckmark=1}) that verifies the marks of
     * the pass before it instead of setting marks (see {@link MarkWork}).
     */
    Marker(GcHooks hooks, boolean reportInvalid, boolean checkmark) {
        this(hooks, reportInvalid, checkmark, null);
    }

    /** A marker whose {@link #drain} shares the work with {@code workers}' threads (null: none). */
    Marker(GcHooks hooks, boolean reportInvalid, boolean checkmark, MarkWorkers workers) {
        this.reportInvalid = reportInvalid;
        this.hooks = hooks;
        this.work = checkmark ? hooks.newCheckmarkWork(this::badSlot) : hooks.newMarkWork(this::badSlot);
        this.workers = checkmark || workers == null || workers.helpers() == 0 ? null : workers;
    }

    /** Shades the object a root points to; {@code where} names the root for a report. */
    void markRoot(long pointer, String where) {
        markRoot(pointer, p -> where);
    }

    /** Shades a root whose description is built only for a report (the common case builds nothing). */
    void markRoot(long pointer, java.util.function.LongFunction<String> where) {
        long r = work.shade(pointer);
        if (r == MarkWork.BAD && reportInvalid) {
            throw new InvalidPointerException(pointer, 0, where.apply(pointer));
        }
        if (r == MarkWork.UNMARKED) {
            throw MarkWork.unmarked(pointer, where.apply(pointer));
        }
    }

    /** Scans a manual object that holds pointers: it is a root while it lives (Go scans its stacks). */
    void scanRootObject(long address) {
        work.scanRoot(address);
    }

    /** Scans grey objects until none is left: with the helper threads, if this marker has them. */
    void drain() {
        if (workers == null) {
            work.drain();
            return;
        }
        int n = workers.helpers();
        MarkPool pool = new MarkPool(n + 1);
        List<MarkWork> helping = new ArrayList<>();
        List<Runnable> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            MarkWork w = hooks.newMarkWork(this::badSlot);
            helping.add(w);
            tasks.add(() -> {
                pool.join();
                shared(w, pool);
            });
        }
        try {
            workers.run(tasks, () -> shared(work, pool));
        } finally {
            for (MarkWork w : helping) {
                helpersMarked += w.markedBytes();
                helpersScanned += w.scannedBytes();
            }
        }
    }

    /** Drains a few grey objects on this thread alone (after the parallel drain: finalizable objects). */
    void drainLocal() {
        work.drain();
    }

    private static void shared(MarkWork w, MarkPool pool) {
        try {
            w.drainShared(pool);
        } catch (RuntimeException | Error e) {
            pool.abort();                                // the others stop; the collector throws e
            throw e;
        }
    }

    /** Bytes of pointer slots scanned (Go's heapScanWork). */
    long scannedBytes() {
        return work.scannedBytes() + helpersScanned;
    }

    /** Bytes of the collected objects marked. */
    long markedBytes() {
        return work.markedBytes() + helpersMarked;
    }

    private void badSlot(long pointer, long slot) {
        if (reportInvalid) {
            throw new InvalidPointerException(pointer, slot, String.format("the pointer slot at 0x%x", slot));
        }
    }
}
