package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.AbstractByteBufTest;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Netty's own {@code ByteBuf} contract suite ({@link AbstractByteBufTest}, from netty-buffer's published test jar:
 * the ~300 cases every Netty buffer implementation passes — index bounds, every primitive and its LE form, bulk
 * transfers to arrays/buffers/streams/channels, slices, duplicates, retained views, read-only views, NIO views,
 * discardReadBytes, capacity changes, reference counting, concurrent readers) run over goheap direct buffers.
 * Runs twice in the build: with Unsafe allowed and with the JDK's defaults (Netty's two code paths).
 */
class GoheapByteBufContractTest extends AbstractByteBufTest {
    private static Heap heap;
    private static GoheapByteBufAllocator allocator;

    @BeforeAll
    static void openHeap() {
        heap = Heap.builder().reservation(1L << 32).maxProcs(2).build();
        allocator = new GoheapByteBufAllocator(heap);
    }

    @AfterAll
    static void closeHeap() {
        // Every buffer the suite released gave its goheap object back (the suite releases all it allocates).
        assertEquals(0, allocator.metric().usedDirectMemory(), "goheap bytes still held after the suite");
        heap.close();
    }

    @Override
    protected ByteBuf newBuffer(int capacity, int maxCapacity) {
        ByteBuf buffer = allocator.directBuffer(capacity, maxCapacity);
        assertEquals(0, buffer.writerIndex());
        return buffer;
    }
}
