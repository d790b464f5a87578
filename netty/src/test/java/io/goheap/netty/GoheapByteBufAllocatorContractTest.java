package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.AbstractByteBufAllocatorTest;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Netty's own allocator contract ({@link AbstractByteBufAllocatorTest} and its base {@code ByteBufAllocatorTest},
 * from netty-buffer's test jar): buffer kinds for preferDirect on and off, initial and maximum capacities, composite
 * buffers (plain, heap, direct, with component limits), Netty's capacity-growth rule, the used-memory metric through
 * growth and release, memoryAddress on direct buffers.
 *
 * <p>Two cases are about Netty's own classes and are replaced: {@code testUnsafeHeapBufferAndUnsafeDirectBuffer}
 * asserts the concrete classes of Netty's unpooled allocator (here: a goheap direct buffer whose memory address is the
 * goheap object's), and {@code shouldReuseChunks} asserts that 1 MiB <em>heap</em> buffers are pooled (this allocator
 * pools direct buffers only; the replacement asserts the same bound on Java allocation for 1 MiB direct buffers).
 */
class GoheapByteBufAllocatorContractTest extends AbstractByteBufAllocatorTest<GoheapByteBufAllocator> {
    private static Heap heap;

    @BeforeAll
    static void openHeap() {
        heap = Heap.builder().reservation(1L << 32).maxProcs(2).build();
    }

    @AfterAll
    static void closeHeap() {
        heap.close();
    }

    @Override
    protected GoheapByteBufAllocator newAllocator(boolean preferDirect) {
        return new GoheapByteBufAllocator(heap, preferDirect);
    }

    @Override
    protected GoheapByteBufAllocator newUnpooledAllocator() {
        return new GoheapByteBufAllocator(heap, true);
    }

    @Override
    @Test
    public void testUnsafeHeapBufferAndUnsafeDirectBuffer() {
        GoheapByteBufAllocator allocator = newUnpooledAllocator();
        ByteBuf direct = allocator.directBuffer();
        try {
            assertInstanceOf(direct, GoheapDirectByteBuf.class);
            assertEquals(direct.memoryAddress(), heap.baseOf(direct.memoryAddress()), "the start of a goheap object");
        } finally {
            direct.release();
        }
        ByteBuf onHeap = allocator.heapBuffer();
        try {
            assertTrue(onHeap.hasArray());
        } finally {
            onHeap.release();
        }
    }

    @Override
    @Test
    public void shouldReuseChunks() {
        int size = 1024 * 1024;
        GoheapByteBufAllocator allocator = newAllocator(true);
        allocator.directBuffer(size, size).release();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100; i++) {
            allocator.directBuffer(size, size).release();
        }
        long javaBytes = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(javaBytes < 8 * 1024 * 1024, "Java heap bytes allocated for 100 x 1 MiB: " + javaBytes);
        assertEquals(0, allocator.metric().usedDirectMemory());
    }
}
