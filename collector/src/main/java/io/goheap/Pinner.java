package io.goheap;

import java.util.ArrayList;
import java.util.List;

/**
 * Go's {@code runtime.Pinner}: pinned objects stay alive (goheap never moves objects, so pinned also means "at this
 * address") until {@link #unpin()}. Each pin is a root. For handing addresses to native code or other processes
 * for a while. Not thread-safe: one owner at a time, like Go's.
 */
public final class Pinner implements AutoCloseable {
    private final Heap heap;
    private final List<Root> pins = new ArrayList<>();

    Pinner(Heap heap) {
        this.heap = heap;
    }

    /**
     * Pins the collected or manual object containing {@code address} (an interior address pins its object).
     *
     * @throws IllegalArgumentException when no allocated object contains {@code address}
     * @param address the start of a collected object
     */
    public void pin(long address) {
        long base = heap.baseOf(address);
        Root r = heap.newRoot();
        r.set(base);
        pins.add(r);
    }

    /** Unpins every object this Pinner pinned (Go's {@code Unpin}). */
    public void unpin() {
        pins.forEach(Root::close);
        pins.clear();
    }

    /** {@return the number of pins held} */
    public int pinned() {
        return pins.size();
    }

    /** As {@link #unpin()}. */
    @Override
    public void close() {
        unpin();
    }
}
