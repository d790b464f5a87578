package io.goheap.chronicle;

import io.goheap.Heap;
import net.openhft.chronicle.bytes.PointerBytesStore;

/**
 * A Chronicle store that owns one goheap manual object: Chronicle's reference counting decides its lifetime, and
 * the release that drops the count to zero frees the object ({@link Heap#free}), exactly once. Made by
 * {@link GoheapBytes#allocate}.
 *
 * <p>Invariants: while the count is positive, {@link #goheapAddress()} is a live object of {@link #heap()} of at
 * least {@code capacity()} bytes. After the last release the object is free and Chronicle has dropped the store's
 * memory: new views throw {@code ClosedIllegalStateException}, plain reads throw (Chronicle's
 * {@code NullPointerException}), none reaches the freed object. Release may happen on any thread, and frees there and then: the free
 * borrows one of the heap's Ps for the call.
 */
public final class OwnedGoheapBytesStore extends PointerBytesStore {
    private final Heap heap;
    private final long goheapAddress;

    OwnedGoheapBytesStore(Heap heap, long address, long size) {
        this.heap = heap;
        this.goheapAddress = address;
        set(address, size);
    }

    /** The heap that holds the object. */
    public Heap heap() {
        return heap;
    }

    /** The goheap object's address (the store's offset 0). */
    public long goheapAddress() {
        return goheapAddress;
    }

    /**
     * Never: the last release frees the object on the releasing thread, so it is free when {@code release} returns
     * (Chronicle would otherwise hand a native store's release to its background releaser thread).
     */
    @Override
    protected boolean canReleaseInBackground() {
        return false;
    }

    @Override
    protected void performRelease() {
        super.performRelease();
        heap.free(goheapAddress);
    }
}
