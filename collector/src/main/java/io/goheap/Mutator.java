package io.goheap;

/**
 * A thread's hold on one of the heap's Ps (Go's M holding a P): the allocation fast path.
 *
 * <p>Confined to the thread that called {@link Heap#attach()}; calls from another thread throw
 * {@link IllegalStateException}. While open, small allocations and frees of objects in spans this P caches
 * take no lock, allocate nothing on the Java heap and perform no volatile write. Close it (try-with-resources)
 * to hand the P back. A thread that terminates with its Mutator open keeps the P until another thread finds
 * every P busy and takes it over, or {@link Heap#freeOSMemory()} flushes its cache. Close it before blocking on
 * other threads that use the heap: a blocked thread keeps its P (unlike a goroutine), which delays them.
 */
public final class Mutator implements AutoCloseable {
    private final Heap heap;
    private final io.goheap.allocator.Mutator allocator;

    Mutator(Heap heap, io.goheap.allocator.Mutator allocator) {
        this.heap = heap;
        this.allocator = allocator;
    }

    /** As {@link Heap#malloc}. */
    public long malloc(long size) {
        return allocator.malloc(size);
    }

    /** As {@link Heap#free}. */
    public void free(long address) {
        allocator.free(address);
    }

    /** The heap this Mutator allocates in. */
    public Heap heap() {
        return heap;
    }

    /** Gives the P back. Idempotent. */
    @Override
    public void close() {
        allocator.close();
    }
}
