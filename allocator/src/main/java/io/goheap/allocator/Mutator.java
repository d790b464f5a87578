package io.goheap.allocator;

/**
 * A thread's hold on one of the heap's Ps (Go's M holding a P): the allocation fast path.
 *
 * <p>Confined to the thread that called {@link Heap#attach()}; calls from another thread throw
 * {@link IllegalStateException}. While open, small allocations and frees of objects in spans this P caches
 * take no lock, allocate nothing on the Java heap and perform no volatile write. Close it (try-with-resources)
 * to hand the P back; a thread that terminates with its Mutator open gives its P up to the next thread that
 * finds every P busy. Close it before blocking on other threads that use the heap: a blocked thread keeps its P
 * (unlike a goroutine), which delays them and, once the collector stops the world, could deadlock with them.
 */
public final class Mutator implements AutoCloseable {
    private final Heap heap;
    private final MCache cache;
    private final Thread thread;
    private final long maxAlloc;
    private P p;

    Mutator(Heap heap, P p) {
        this.heap = heap;
        this.p = p;
        this.cache = p.mcache;
        this.thread = Thread.currentThread();
        this.maxAlloc = heap.reservation();
    }

    /** As {@link Heap#malloc}. */
    public long malloc(long size) {
        // One combined guard for the common case; the checked path below names whatever is wrong.
        if (p == null || Thread.currentThread() != thread || heap.isClosed() || size <= 0 || size > maxAlloc) {
            return checkedMalloc(size, true);
        }
        return allocated(size, true);
    }

    /** As {@link Heap#mallocScan}. */
    public long mallocScan(long size) {
        if (p == null || Thread.currentThread() != thread || heap.isClosed() || size <= 0 || size > maxAlloc) {
            return checkedMalloc(size, false);
        }
        return allocated(size, false);
    }

    /**
     * Allocates, then checks the heap is still open: an allocation that overlaps a {@link Heap#close()} by another
     * thread throws "heap is closed" instead of returning an address of an unmapped heap.
     */
    private long allocated(long size, boolean noscan) {
        long address;
        try {
            address = cache.malloc(size, noscan);
        } catch (IllegalStateException e) {
            throw heap.closedOr(e);
        }
        if (heap.isClosed()) {
            throw Heap.closedError();
        }
        return address;
    }

    /** As {@link Heap#free}. */
    public void free(long address) {
        if (p == null || Thread.currentThread() != thread || heap.isClosed()) {
            check();
            heap.ensureOpen();
        }
        try {
            cache.free(address);
        } catch (IllegalStateException e) {
            throw heap.closedOr(e);
        }
    }

    private long checkedMalloc(long size, boolean noscan) {
        check();
        heap.checkSize(size);
        return allocated(size, noscan);
    }

    /** Gives the P back. Idempotent. */
    @Override
    public void close() {
        if (p != null) {
            if (Thread.currentThread() != thread) {
                throw new IllegalStateException("a Mutator must be closed by the thread that attached it: " + thread);
            }
            P held = p;
            p = null;
            held.release();
        }
    }

    private void check() {
        if (p == null) {
            throw new IllegalStateException("Mutator is closed");
        }
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("Mutator belongs to " + thread + ", not " + Thread.currentThread());
        }
    }
}
