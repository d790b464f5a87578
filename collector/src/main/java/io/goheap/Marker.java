package io.goheap;

import io.goheap.allocator.GcHooks;
import io.goheap.allocator.GcType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Marking (Go's {@code mgcmark}), stop-the-world: grey every object the roots point to, then scan grey objects by
 * their pointer slots until none is left. Tri-colour as Go's: white = unmarked; grey = marked and on the work
 * stack; black = marked and scanned (pointer-free objects go straight to black). An explicit work stack, never
 * recursion, so deep structures (a list of a million nodes) cannot overflow the Java stack; it grows with the
 * number of grey objects, at most the number of live scan objects. Interior pointers mark their object; values
 * outside the heap are not pointers and are ignored; a value inside the heap that hits no allocated object is
 * reported ({@link InvalidPointerException}) unless {@code invalidptr=0}.
 *
 * <p>Runs on the thread that stopped the world, with every P stopped: it alone reads slots, roots and mark bits.
 * One Marker per cycle.
 */
final class Marker {
    private final GcHooks hooks;
    private final MemorySegment memory;
    private final long base;
    private final boolean reportInvalid;
    private long[] stack = new long[256];
    private int top;
    /** Bytes of pointer slots scanned (Go's heapScanWork), for gctrace's and the pacer's use. */
    long scannedBytes;

    Marker(GcHooks hooks, MemorySegment memory, long base, boolean reportInvalid) {
        this.hooks = hooks;
        this.memory = memory;
        this.base = base;
        this.reportInvalid = reportInvalid;
    }

    /** Shades the object a root points to; {@code where} names the root for a report. */
    void markRoot(long pointer, String where) {
        shade(pointer, 0, where);
    }

    /** Scans a manual object that holds pointers: it is a root while it lives (Go scans its stacks). */
    void scanRootObject(long address) {
        scan(address);
    }

    /** Scans grey objects until none is left. */
    void drain() {
        while (top > 0) {
            scan(stack[--top]);
        }
    }

    /** One visitor for every scan (a lambda per object would be a Java allocation per object marked). */
    private final GcType.SlotVisitor visitSlot = this::visitSlot;

    private void scan(long object) {
        hooks.forEachPointerSlot(object, visitSlot);
    }

    private void visitSlot(long slot) {
        scannedBytes += 8;
        long value = memory.get(ValueLayout.JAVA_LONG, slot - base);
        if (value != 0) {
            shade(value, slot, null);
        }
    }

    private void shade(long pointer, long slot, String where) {
        long grey = hooks.shade(pointer);
        if (grey > 0) {
            if (top == stack.length) {
                stack = Arrays.copyOf(stack, stack.length * 2);
            }
            stack[top++] = grey;
        } else if (grey == GcHooks.INVALID && reportInvalid) {
            throw new InvalidPointerException(pointer, slot,
                    where != null ? where : String.format("the pointer slot at 0x%x", slot));
        }
    }
}
