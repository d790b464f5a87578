package io.goheap;

import io.goheap.allocator.GcHooks;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The debug checks a {@link Mutator} (and {@link Root}, {@link Heap#free}) runs before a pointer access, on when the
 * heap is built with either GODEBUG setting; each refusal is an exception naming the address, and nothing is
 * written by a refused call.
 * <ul>
 *   <li>{@code checkptr=1} (Go's name for its pointer checks): every pointer store, compare-and-set, copy and load
 *       is validated. A slot must be a pointer slot of an allocated scan object — not outside any object, not a
 *       malloc header, not a data word, not past the object's end, not a free slot; a stored value must be 0, an
 *       address outside the heap's range, or an address inside an allocated object. A bad one is an
 *       {@link IllegalArgumentException} naming the slot, the object it falls in and that object's type.</li>
 *   <li>{@code gcquarantine=N}: collected objects the sweeper would free stay quarantined — allocated, clobbered,
 *       out of reuse — for N more cycles (see the allocator's {@code Quarantine}); the first load from or store
 *       into one, store of its address, root or local frame holding it, or free of it is an
 *       {@link IllegalStateException} naming the address and the object: the mark of a rooting mistake (an
 *       address kept in a Java local across a safepoint without a root).</li>
 * </ul>
 * Without checkptr, a stray store still cannot corrupt the collector: the metadata the marker trusts (heap bits,
 * malloc headers, allocation and mark bits, the page index) lives on the Java heap, out of reach of any store into
 * the heap's memory, so a bad store changes data only.
 *
 * <p>The checks read that metadata only, racily: a check racing another thread's free of the same object may
 * pass. Immutable; may be called from any thread.
 */
final class PointerChecks {
    private final GcHooks hooks;
    private final boolean checkptr;
    private final boolean quarantine;

    private PointerChecks(GcHooks hooks, boolean checkptr, boolean quarantine) {
        this.hooks = hooks;
        this.checkptr = checkptr;
        this.quarantine = quarantine;
    }

    /** The checks the settings ask for, or null when none: the accesses then check nothing more. */
    static PointerChecks of(GcHooks hooks, boolean checkptr, boolean quarantine) {
        return checkptr || quarantine ? new PointerChecks(hooks, checkptr, quarantine) : null;
    }

    /** A store or compare-and-set of {@code value} into {@code slot}. */
    void checkStore(String op, long slot, long value) {
        if (checkptr) {
            String problem = hooks.pointerSlotProblem(slot);
            if (problem == null) {
                problem = valueProblem(value);
            }
            if (problem != null) {
                throw new IllegalArgumentException(String.format("checkptr: %s(0x%x, 0x%x): %s", op, slot, value,
                        problem));
            }
        }
        if (quarantine) {
            checkNotQuarantined(op, slot, "stores into");
            checkNotQuarantined(op, value, "stores the address of");
        }
    }

    /** A load from {@code slot}. */
    void checkLoad(long slot) {
        if (checkptr) {
            String problem = hooks.pointerSlotProblem(slot);
            if (problem != null) {
                throw new IllegalArgumentException(String.format("checkptr: loadPointer(0x%x): %s", slot, problem));
            }
        }
        if (quarantine) {
            checkNotQuarantined("loadPointer", slot, "loads from");
        }
    }

    /** A copy of {@code bytes} of pointer slots from {@code from} to {@code to}, given their current values. */
    void checkCopy(MemorySegment memory, long base, long to, long from, long bytes) {
        for (long i = 0; i < bytes; i += 8) {
            long value = memory.get(ValueLayout.JAVA_LONG, from + i - base);
            if (checkptr) {
                String problem = hooks.pointerSlotProblem(from + i);
                if (problem == null) {
                    problem = hooks.pointerSlotProblem(to + i);
                }
                if (problem == null) {
                    problem = valueProblem(value);
                }
                if (problem != null) {
                    throw new IllegalArgumentException(String.format(
                            "checkptr: copyPointers(0x%x, 0x%x, %d), word %d: %s", to, from, bytes, i / 8, problem));
                }
            }
            if (quarantine) {
                checkNotQuarantined("copyPointers", from + i, "loads from");
                checkNotQuarantined("copyPointers", to + i, "stores into");
                checkNotQuarantined("copyPointers", value, "stores the address of");
            }
        }
    }

    /** A root, a local frame or a free given {@code address} ({@code op} names the call). */
    void checkRooted(String op, long address) {
        if (quarantine) {
            checkNotQuarantined(op, address, "uses");
        }
    }

    private void checkNotQuarantined(String op, long address, String what) {
        if (address == 0) {
            return;
        }
        long object = hooks.quarantinedObject(address);
        if (object != 0) {
            throw new IllegalStateException(String.format("gcquarantine: %s %s 0x%x, inside the collected object at"
                    + " 0x%x, which a collection found unreachable and freed: an address kept across a safepoint"
                    + " without a root (in a Root, a local frame, or a reachable object's pointer slot)", op, what,
                    address, object));
        }
    }

    private String valueProblem(long value) {
        String problem = hooks.pointerValueProblem(value);
        return problem == null ? null : "the value " + problem;
    }
}
