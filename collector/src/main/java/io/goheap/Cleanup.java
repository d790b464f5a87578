package io.goheap;

/**
 * A cleanup registered with {@link Heap#addCleanup} (Go's {@code runtime.Cleanup}): its action runs on the heap's
 * finalizer thread after its object has become unreachable and been reclaimed. Thread-safe.
 */
public final class Cleanup {
    private final Specials specials;
    final long address;
    final Runnable action;

    Cleanup(Specials specials, long address, Runnable action) {
        this.specials = specials;
        this.address = address;
        this.action = action;
    }

    /**
     * Cancels the cleanup (Go's {@code Cleanup.Stop}): it will not run. No effect if it already ran or is queued
     * to run.
     */
    public void stop() {
        specials.stop(this);
    }
}
