package io.goheap.netty;

import io.netty.buffer.UnpooledHeapByteBuf;

/**
 * Netty's {@code byte[]} heap buffer, with its array's bytes counted in {@link GoheapByteBufAllocator#metric()}:
 * added when Netty allocates an array (at creation and on capacity changes), subtracted when it frees one. Threads:
 * as {@link UnpooledHeapByteBuf}; the counter is a {@code LongAdder}.
 */
final class CountedHeapByteBuf extends UnpooledHeapByteBuf {
    CountedHeapByteBuf(GoheapByteBufAllocator alloc, int initialCapacity, int maxCapacity) {
        super(alloc, initialCapacity, maxCapacity);
    }

    @Override
    protected byte[] allocateArray(int initialCapacity) {
        byte[] array = super.allocateArray(initialCapacity);
        ((GoheapByteBufAllocator) alloc()).heapAllocated(array.length);
        return array;
    }

    @Override
    protected void freeArray(byte[] array) {
        ((GoheapByteBufAllocator) alloc()).heapAllocated(-array.length);
        super.freeArray(array);
    }
}
