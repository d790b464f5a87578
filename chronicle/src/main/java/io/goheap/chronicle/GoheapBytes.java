package io.goheap.chronicle;

import io.goheap.Heap;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.PointerBytesStore;

import java.util.Objects;

/**
 * goheap objects seen through Chronicle Bytes: {@link #wrap} gives a Chronicle {@link PointerBytesStore} over (part
 * of) a live goheap object without copying; {@link #allocate} gives a store that owns a new goheap object and frees it
 * on its last release; the two {@code copy} methods move bytes between goheap objects and any Chronicle store (native
 * or on-heap) with Chronicle's own bulk copy.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>Every range is checked against the goheap object it names, through goheap's public lookups: the address
 *       must lie inside an allocated object ({@link Heap#baseOf}) and the range must end within that object's usable
 *       size. Otherwise {@link IllegalArgumentException} names the address, the length and the object; nothing is
 *       read or written, and the heap stays usable.</li>
 *   <li>A wrapped store is a view: releasing it never frees the goheap object, and it must not be used after the
 *       object is freed or the heap closed (as any Chronicle view of memory it does not own). A store from
 *       {@link #allocate} owns its object: see {@link OwnedGoheapBytesStore}.</li>
 *   <li>The Chronicle side of a copy is checked against the memory the store has (its {@code start()} and
 *       {@code realCapacity()}), since Chronicle's own bulk copy between native stores does not check lengths; a
 *       copy that does not fit throws {@link IllegalArgumentException} before any byte moves.</li>
 *   <li>Chronicle's bounds checks apply to reads and writes through a wrapped store: past its size they throw
 *       Chronicle's exceptions, never touching the neighbouring goheap object.</li>
 * </ul>
 *
 * <p>Thread-safety: the methods may be called from any thread; a store is used as Chronicle's stores are (one thread
 * at a time unless Chronicle's own rules allow more).
 */
public final class GoheapBytes {
    private GoheapBytes() {
    }

    /**
     * A Chronicle store over {@code [address, address + length)} of a live goheap object: reads and writes through it
     * are the object's bytes (no copy). The caller releases the store ({@code releaseLast()}) when done with it; the
     * goheap object stays allocated.
     *
     * @throws IllegalArgumentException when the range is not inside one allocated object of {@code heap}
     */
    public static PointerBytesStore wrap(Heap heap, long address, long length) {
        checkRange(heap, address, length);
        return BytesStore.wrap(address, length);
    }

    /**
     * A new goheap manual object of {@code size} bytes, zeroed, as a Chronicle store that frees the object when its
     * reference count drops to zero ({@code releaseLast()}).
     *
     * @throws IllegalArgumentException when {@code size} is not positive
     * @throws OutOfMemoryError         when the heap cannot hold the object (the heap stays usable)
     */
    public static OwnedGoheapBytesStore allocate(Heap heap, long size) {
        Objects.requireNonNull(heap, "heap");
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        return new OwnedGoheapBytesStore(heap, heap.malloc(size), size);
    }

    /**
     * Copies {@code length} bytes from the goheap object range at {@code srcAddress} into {@code dst} at
     * {@code dstOffset} (Chronicle's offsets: from the store's start), without moving either side's positions.
     *
     * @throws IllegalArgumentException when the source range is not inside one allocated object of {@code heap}, or
     *                                  {@code dst} does not have {@code length} bytes at {@code dstOffset}
     */
    public static void copy(Heap heap, long srcAddress, BytesStore<?, ?> dst, long dstOffset, long length) {
        Objects.requireNonNull(dst, "dst");
        checkStoreRange(dst, dstOffset, length, "destination");
        if (length == 0) {
            return;
        }
        PointerBytesStore src = wrap(heap, srcAddress, length);
        try {
            dst.write(dstOffset, src, 0, length);
        } finally {
            src.releaseLast();
        }
    }

    /**
     * Copies {@code length} bytes of {@code src} from {@code srcOffset} into the goheap object range at
     * {@code dstAddress}, without moving {@code src}'s positions.
     *
     * @throws IllegalArgumentException when the destination range is not inside one allocated object of
     *                                  {@code heap}, or {@code src} does not have {@code length} bytes at
     *                                  {@code srcOffset}
     */
    public static void copy(BytesStore<?, ?> src, long srcOffset, Heap heap, long dstAddress, long length) {
        Objects.requireNonNull(src, "src");
        checkStoreRange(src, srcOffset, length, "source");
        if (length == 0) {
            return;
        }
        PointerBytesStore dst = wrap(heap, dstAddress, length);
        try {
            dst.write(0, src, srcOffset, length);
        } finally {
            dst.releaseLast();
        }
    }

    /**
     * Chronicle's store-to-store bulk copy between native stores does not check lengths against the stores, so the
     * Chronicle side is checked here, against the memory the store really has ({@code realCapacity}).
     */
    private static void checkStoreRange(BytesStore<?, ?> store, long offset, long length, String side) {
        long start = store.start();
        long end = start + store.realCapacity();
        if (length < 0 || offset < start || offset > end || length > end - offset) {
            throw new IllegalArgumentException(String.format("%s store has [%d, %d); [%d, +%d) does not fit",
                    side, start, end, offset, length));
        }
    }

    private static void checkRange(Heap heap, long address, long length) {
        Objects.requireNonNull(heap, "heap");
        if (length < 0) {
            throw new IllegalArgumentException("negative length: " + length);
        }
        long start = heap.baseOf(address);                 // throws for an address outside any allocated object
        long end = start + heap.usableSize(start);
        if (length > end - address) {
            throw new IllegalArgumentException(String.format(
                    "[0x%x, +%d) runs past the goheap object at 0x%x, which ends at 0x%x", address, length, start, end));
        }
    }
}
