package io.goheap.allocator;

/**
 * The heap's reservation has no room left for the pages an allocation needs ({@link MHeap}'s growth found no arena
 * to commit and no free run). An {@link OutOfMemoryError}, as users see it; its own class so the allocation path
 * can tell it from the Java heap running out and first take back what the Ps keep (retained large spans, page
 * caches, cached spans) before giving up (see {@link MCache#malloc}).
 */
final class AddressSpaceExhaustedError extends OutOfMemoryError {
    AddressSpaceExhaustedError(String message) {
        super(message);
    }
}
