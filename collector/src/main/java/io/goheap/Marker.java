package io.goheap;

import io.goheap.allocator.GcHooks;
import io.goheap.allocator.MarkWork;

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
    private final MarkWork work;

    /**
     * A marker; with {@code checkmark}, a checkmark pass (GODEBUG {@code gccheckmark=1}) that verifies the marks of
     * the pass before it instead of setting marks (see {@link MarkWork}).
     */
    Marker(GcHooks hooks, boolean reportInvalid, boolean checkmark) {
        this.reportInvalid = reportInvalid;
        this.work = checkmark ? hooks.newCheckmarkWork(this::badSlot) : hooks.newMarkWork(this::badSlot);
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

    /** Scans grey objects until none is left. */
    void drain() {
        work.drain();
    }

    /** Bytes of pointer slots scanned (Go's heapScanWork). */
    long scannedBytes() {
        return work.scannedBytes();
    }

    /** Bytes of the collected objects marked. */
    long markedBytes() {
        return work.markedBytes();
    }

    private void badSlot(long pointer, long slot) {
        if (reportInvalid) {
            throw new InvalidPointerException(pointer, slot, String.format("the pointer slot at 0x%x", slot));
        }
    }
}
