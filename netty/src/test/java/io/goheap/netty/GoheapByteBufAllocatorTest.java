package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.IllegalReferenceCountException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What is goheap-specific about the allocator: buffers are goheap objects (their memory address is an object's
 * start and the bytes are the heap's), release frees exactly that object, capacity changes keep or move it, and a
 * randomized model (a byte[] shadow) checks contents through every view kind Netty offers.
 */
class GoheapByteBufAllocatorTest {
    private Heap heap;
    private GoheapByteBufAllocator allocator;

    @BeforeEach
    void open() {
        heap = Heap.builder().reservation(1L << 32).maxProcs(2).build();
        allocator = new GoheapByteBufAllocator(heap);
    }

    @AfterEach
    void close() {
        heap.close();
    }

    private byte heapByte(long address) {
        return heap.segment().get(ValueLayout.JAVA_BYTE, address - heap.base());
    }

    @Test
    void aDirectBufferIsAGoheapObjectWhoseBytesTheHeapSees() {
        ByteBuf buf = allocator.directBuffer(100);
        long address = buf.memoryAddress();
        assertEquals(address, heap.baseOf(address), "the buffer starts a goheap object");
        assertTrue(heap.usableSize(address) >= 100);
        buf.writeInt(0x01020304);
        assertEquals(1, heapByte(address));
        assertEquals(4, heapByte(address + 3), "big-endian, as Netty's default order");
        heap.segment().set(ValueLayout.JAVA_BYTE, address + 4 - heap.base(), (byte) 0x7f);
        assertEquals(0x7f, buf.getByte(4), "a write through the heap is seen by the buffer (no copy)");
        ByteBuffer nio = buf.nioBuffer(0, 4);
        assertEquals(address, MemorySegment.ofBuffer(nio).address(), "the NIO view shares the same memory");
        buf.release();
    }

    @Test
    void theLastReleaseFreesTheObjectAndNothingElse() {
        ByteBuf buf = allocator.directBuffer(64);
        long address = buf.memoryAddress();
        buf.retain();
        assertEquals(false, buf.release(), "one reference left");
        heap.usableSize(address);                                   // still allocated: no exception
        assertTrue(buf.release());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> heap.free(address));
        assertTrue(e.getMessage().contains("double free"), e.getMessage());
        assertThrows(IllegalReferenceCountException.class, buf::release, "a third release is Netty's error");
        assertThrows(IllegalReferenceCountException.class, () -> buf.getByte(0));
        assertEquals(0, allocator.metric().usedDirectMemory());
        ByteBuf next = allocator.directBuffer(64);                  // the heap is still usable
        next.writeLong(7);
        assertEquals(7, next.readLong());
        next.release();
    }

    @Test
    void capacityGrowsInPlaceWithinTheSizeClassAndMovesBeyondIt() {
        ByteBuf buf = allocator.directBuffer(1000);
        long first = buf.memoryAddress();
        long usable = heap.usableSize(first);
        buf.writeBytes(pattern(1000, 3));
        buf.capacity((int) usable);
        assertEquals(first, buf.memoryAddress(), "grown within the object's size class: same object");
        buf.capacity((int) usable + 1);
        long moved = buf.memoryAddress();
        assertNotEquals(first, moved);
        assertThrows(IllegalStateException.class, () -> heap.free(first), "the old object was freed");
        byte[] read = new byte[1000];
        buf.getBytes(0, read);
        assertArrayEquals(pattern(1000, 3), read, "contents moved with the buffer");
        buf.capacity(10);                                           // a shrink to under half moves to a small object
        assertNotEquals(moved, buf.memoryAddress());
        assertEquals(10, buf.writerIndex(), "indices trimmed to the new capacity");
        byte[] ten = new byte[10];
        buf.getBytes(0, ten);
        assertArrayEquals(Arrays.copyOf(pattern(1000, 3), 10), ten);
        buf.release();
        assertEquals(0, allocator.metric().usedDirectMemory());
    }

    @Test
    void aCompositeOfGoheapBuffersReleasesEveryComponent() {
        CompositeByteBuf composite = allocator.compositeDirectBuffer();
        List<Long> addresses = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ByteBuf part = allocator.directBuffer(16).writeLong(i).writeLong(-i);
            addresses.add(part.memoryAddress());
            composite.addComponent(true, part);
        }
        assertEquals(80, composite.readableBytes());
        for (int i = 0; i < 5; i++) {
            assertEquals(i, composite.readLong());
            assertEquals(-i, composite.readLong());
        }
        ByteBuffer[] views = composite.nioBuffers(0, 80);
        assertEquals(5, views.length);
        assertEquals(addresses.get(2), MemorySegment.ofBuffer(views[2]).address(), "component views share memory");
        composite.release();
        for (long a : addresses) {
            assertThrows(IllegalStateException.class, () -> heap.free(a), "component freed with the composite");
        }
        assertEquals(0, allocator.metric().usedDirectMemory());
    }

    @Test
    void buffersOfZeroCapacityGrowLikeAnyOther() {
        ByteBuf buf = allocator.directBuffer(0, 1 << 20);
        assertEquals(0, buf.capacity());
        buf.writeBytes(pattern(5000, 9));
        assertTrue(buf.capacity() >= 5000);
        byte[] read = new byte[5000];
        buf.readBytes(read);
        assertArrayEquals(pattern(5000, 9), read);
        buf.release();
        assertEquals(0, allocator.metric().usedDirectMemory());
    }

    /**
     * Random operations on one goheap buffer and its views (slice, duplicate, retained slice, NIO view, internal
     * NIO view, a composite over a slice, capacity changes), each mirrored on a byte[]; every byte is compared after
     * every step. A wrong offset, a view that copies instead of sharing, or a capacity change that loses bytes shows.
     */
    @Test
    void randomizedViewsAgreeWithAByteArrayModel() {
        for (long seed = 1; seed <= 20; seed++) {
            Random rnd = new Random(seed);
            int capacity = 1 + rnd.nextInt(3000);
            ByteBuf buf = allocator.directBuffer(capacity, 1 << 16);
            byte[] model = new byte[capacity];
            buf.setBytes(0, new byte[capacity]);
            for (int step = 0; step < 400; step++) {
                capacity = buf.capacity();
                int index = rnd.nextInt(capacity);
                int room = capacity - index;
                switch (rnd.nextInt(9)) {
                    case 0 -> {
                        byte v = (byte) rnd.nextInt();
                        buf.setByte(index, v);
                        model[index] = v;
                    }
                    case 1 -> {
                        if (room >= 8) {
                            long v = rnd.nextLong();
                            buf.setLong(index, v);
                            ByteBuffer.wrap(model, index, 8).putLong(v);
                        }
                    }
                    case 2 -> {
                        if (room >= 4) {
                            int v = rnd.nextInt();
                            buf.setIntLE(index, v);
                            ByteBuffer.wrap(model).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(index, v);
                        }
                    }
                    case 3 -> {
                        int len = rnd.nextInt(room + 1);
                        byte[] src = pattern(len, rnd.nextInt());
                        buf.slice(index, len).setBytes(0, src);
                        System.arraycopy(src, 0, model, index, len);
                    }
                    case 4 -> {
                        int len = rnd.nextInt(room + 1);
                        byte[] src = pattern(len, rnd.nextInt());
                        buf.nioBuffer(index, len).put(src);
                        System.arraycopy(src, 0, model, index, len);
                    }
                    case 5 -> {
                        int len = rnd.nextInt(room + 1);
                        byte[] src = pattern(len, rnd.nextInt());
                        ByteBuf dup = buf.duplicate();
                        dup.writerIndex(index);
                        dup.writeBytes(src);
                        System.arraycopy(src, 0, model, index, len);
                    }
                    case 6 -> {                                // copy within the buffer through a retained slice
                        int len = rnd.nextInt(room + 1);
                        int from = rnd.nextInt(capacity - len + 1);
                        ByteBuf source = buf.retainedSlice(from, len);
                        buf.setBytes(index, source, 0, len);
                        source.release();
                        System.arraycopy(model, from, model, index, len);
                    }
                    case 7 -> {
                        int newCapacity = 1 + rnd.nextInt(4000);
                        buf.capacity(newCapacity);
                        byte[] grown = Arrays.copyOf(model, newCapacity);
                        if (newCapacity > model.length) {             // new bytes are unspecified: define them
                            buf.setBytes(model.length, new byte[newCapacity - model.length]);
                        }
                        model = grown;
                    }
                    default -> {                               // a composite over a slice reads the same bytes
                        int len = rnd.nextInt(room + 1);
                        CompositeByteBuf c = allocator.compositeDirectBuffer();
                        c.addComponent(true, buf.retainedSlice(index, len));
                        byte[] read = new byte[len];
                        c.readBytes(read);
                        c.release();
                        assertArrayEquals(Arrays.copyOfRange(model, index, index + len), read);
                    }
                }
                byte[] whole = new byte[buf.capacity()];
                buf.getBytes(0, whole);
                assertArrayEquals(model, whole, "seed " + seed + " step " + step);
                assertEquals(model[index % model.length], heapByte(buf.memoryAddress() + index % model.length));
            }
            assertEquals(1, buf.refCnt());
            buf.release();
        }
        assertEquals(0, allocator.metric().usedDirectMemory());
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed + i * 31);
        }
        return b;
    }
}
