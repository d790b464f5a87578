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
 *
 * <h2>Concurrent marking</h2>
 * A concurrent Marker ({@link #concurrent}) also runs while mutators do: it scans the manual roots and drains grey
 * objects and the write barrier's buffers with the background mark workers ({@link #markConcurrently}), then finishes at mark termination with the
 * world stopped. A slot value that hits no object, found by a concurrent mark, proves nothing by itself: it may be
 * a racy view of an object allocated or freed meanwhile, or it may sit in an object that is garbage — the snapshot
 * rule scans whatever was reachable when the mark started, and a program may legitimately free what a dropped
 * object pointed to. So such slots are only remembered ({@link #suspects}); at termination those that still hold
 * the value, still lie in an allocated object of a scan span and still hit no object remain suspects, and the
 * collector decides whether one lies in a reachable slot (see {@code Collector}). Bad roots are reported at once:
 * a root is reachable by definition.
 */
final class Marker {
    private final boolean reportInvalid;
    private final GcHooks hooks;
    private final MarkWork work;
    /** Helper threads for the drain, or null: mark on this thread alone. */
    private final MarkWorkers workers;
    /** Slots and the values in them that hit no object, seen while mutators ran: (value, slot) pairs. */
    private long[] suspects = new long[0];
    private int suspectCount;
    /** Whether bad slots are remembered (mutators running) instead of reported. */
    private boolean deferBadPointers;
    /** What the helpers of finished parallel drains marked and scanned. */
    private long helpersMarked;
    private long helpersScanned;
    /** A concurrent mark's background workers, whose helpers' work counts as this marker's; or null. */
    private BackgroundMarkWorkers background;

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

    /** A marker for a concurrent mark: beside the mutators, with the background mark workers, until termination. */
    private Marker(GcHooks hooks, boolean reportInvalid) {
        this.reportInvalid = reportInvalid;
        this.hooks = hooks;
        this.work = hooks.newConcurrentMarkWork(this::badSlot);
        this.workers = null;
    }

    static Marker concurrent(GcHooks hooks, boolean reportInvalid) {
        return new Marker(hooks, reportInvalid);
    }

    /** Mutators run from now on: remember bad slots instead of reporting them. */
    void deferBadPointers(boolean defer) {
        this.deferBadPointers = defer;
    }

    /**
     * One round of the concurrent phase: the background mark workers ({@code workers}; this thread is worker 0 and
     * runs {@code first}, the manual roots' scan, before it) scan grey objects and the barrier's full buffers until
     * none of them and no assist holds work (mutators may still fill buffers: the collector runs another round, and
     * termination takes what is left).
     */
    void markConcurrently(BackgroundMarkWorkers workers, Runnable first) {
        background = workers;
        workers.run(work, first);
    }

    /**
     * A concurrent marker shares its work with assists and the other mark workers through the barrier's queue: one
     * buffer at a time, and only while one of them waits with nothing queued (see {@link MarkWork#shareWith}).
     */
    void shareWithAssists(BackgroundMarkWorkers workers) {
        workers.share(work);
    }

    /** Bad slots found by other threads' marking (assists), to be treated as this marker's own suspects. */
    void addSuspectsFrom(WriteBarrier barrier) {
        barrier.takeSuspects(this::badSlot);
    }

    /** Whether grey objects wait in this marker's own stack. */
    boolean hasWork() {
        return !work.isEmpty();
    }

    /** Queues an object a Mutator's barrier flush turned grey (see {@link WriteBarrier}). */
    void enqueueGrey(long object) {
        work.enqueueGrey(object);
    }

    /** Shades a pointer the write barrier recorded. One that hits no object is the slot scan's to report. */
    void shadeFromBarrier(long pointer) {
        work.shade(pointer);
    }

    /**
     * Mark termination, world stopped: the remembered bad slots that are still bad — the slot still holds the value,
     * lies in an allocated object of a scan span, and the value still hits no object — as (value, slot) pairs. A
     * value that now hits an object is shaded (the caller drains). {@code readSlot} reads a heap word.
     */
    long[] stillBadSuspects(java.util.function.LongUnaryOperator readSlot) {
        long[] still = new long[suspectCount];
        int n = 0;
        for (int i = 0; i < suspectCount; i += 2) {
            long pointer = suspects[i];
            long slot = suspects[i + 1];
            if (readSlot.applyAsLong(slot) == pointer && hooks.isInsideAllocatedScanObject(slot)
                    && work.shade(pointer) == MarkWork.BAD) {
                still[n++] = pointer;
                still[n++] = slot;
            }
        }
        suspects = new long[0];
        suspectCount = 0;
        return java.util.Arrays.copyOf(still, n);
    }

    /** Reports a bad slot as the stop-the-world marker does (when invalidptr is on). */
    void report(long pointer, long slot) {
        if (reportInvalid) {
            throw new InvalidPointerException(pointer, slot, String.format("the pointer slot at 0x%x", slot));
        }
    }

    /** At most this many suspect slots are remembered (each a racy view, or a real bad pointer: reporting one suffices). */
    private static final int MAX_SUSPECTS = 1 << 20;

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

    /**
     * Shades what a global root holds, read while mutators run (mark setup). Returns whether the value hits no
     * object: that may be a racy view, so the collector looks for it again at termination, world stopped.
     */
    boolean shadeRootConcurrently(long pointer) {
        return work.shade(pointer) == MarkWork.BAD;
    }

    /** Whether {@code pointer} hits no object (termination, world stopped: a root suspect that is still bad). */
    boolean isBad(long pointer) {
        return work.shade(pointer) == MarkWork.BAD;
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
        return work.scannedBytes() + helpersScanned + (background == null ? 0 : background.helpersScannedBytes());
    }

    /** Bytes of the collected objects marked. */
    long markedBytes() {
        return work.markedBytes() + helpersMarked + (background == null ? 0 : background.helpersMarkedBytes());
    }

    private void badSlot(long pointer, long slot) {
        if (deferBadPointers) {
            if (reportInvalid && suspectCount < 2 * MAX_SUSPECTS) {
                if (suspectCount == suspects.length) {
                    suspects = java.util.Arrays.copyOf(suspects, Math.max(16, suspects.length * 2));
                }
                suspects[suspectCount++] = pointer;
                suspects[suspectCount++] = slot;
            }
            return;
        }
        if (reportInvalid) {
            throw new InvalidPointerException(pointer, slot, String.format("the pointer slot at 0x%x", slot));
        }
    }
}
