package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.AbstractReferenceCountedByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;

/**
 * A direct {@link ByteBuf} whose memory is one goheap manual object, allocated uninitialised (as Netty's pooled
 * buffers, its bytes are unspecified until written) and freed when the reference count reaches zero.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>While the reference count is positive: {@link #address} is the start of a live manual object of the
 *       allocator's heap whose usable size is {@link #usable}, {@code capacity <= usable}, and {@link #memory} is the
 *       heap segment's slice {@code [address, address + usable)}. Every byte access goes through {@code memory},
 *       so even an access past {@code capacity} that Netty's index checks let through stays inside this object.</li>
 *   <li>After {@link #deallocate()}: the object is freed exactly once, {@code address} is 0 and {@code memory} is
 *       the empty segment, so a stray access (one Netty's accessibility check does not cover) throws
 *       {@link IndexOutOfBoundsException} instead of reading memory that another buffer may own by then.</li>
 *   <li>{@link #capacity(int)} keeps the object when the new capacity fits its usable size and is more than half of
 *       it; otherwise it allocates a new object, copies {@code min(old, new)} bytes and frees the old one.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * As every Netty buffer: not thread-safe for content and indices; the reference count is atomic (Netty's
 * {@link AbstractReferenceCountedByteBuf}), so the last {@code release()} may run on any thread, and it frees the
 * object through {@link Heap#free}, which borrows a P for the call (see {@link GoheapByteBufAllocator}).
 */
final class GoheapDirectByteBuf extends AbstractReferenceCountedByteBuf {
    private static final ValueLayout.OfShort SHORT_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Above this usable size, a shrink to half or less moves the data to a smaller object. */
    private static final long SHRINK_IN_PLACE_MAX = 512;

    private final GoheapByteBufAllocator alloc;
    private long address;
    private long usable;
    private MemorySegment memory;
    private int capacity;
    /** A ByteBuffer over {@link #memory}, made on first use; positions and limits are set per call. */
    private ByteBuffer tmpNioBuf;

    GoheapDirectByteBuf(GoheapByteBufAllocator alloc, int initialCapacity, int maxCapacity) {
        super(maxCapacity);
        this.alloc = alloc;
        adopt(alloc.allocateMemory(initialCapacity));
        this.capacity = initialCapacity;
    }

    /** Takes over the object at {@code newAddress} (its usable size read from the heap). */
    private void adopt(long newAddress) {
        Heap heap = alloc.heap();
        address = newAddress;
        usable = heap.usableSize(newAddress);
        memory = heap.segment().asSlice(newAddress - heap.base(), usable);
        tmpNioBuf = null;
    }

    // ------------------------------------------------------------------ capacity and lifetime

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public ByteBuf capacity(int newCapacity) {
        checkNewCapacity(newCapacity);
        int oldCapacity = capacity;
        if (newCapacity == oldCapacity) {
            return this;
        }
        if (newCapacity < oldCapacity) {
            trimIndicesToCapacity(newCapacity);
        }
        boolean fits = newCapacity <= usable && (usable <= SHRINK_IN_PLACE_MAX || newCapacity > usable >>> 1);
        if (!fits) {
            long oldAddress = address;
            long oldUsable = usable;
            MemorySegment old = memory;
            long newAddress = alloc.allocateMemory(newCapacity);
            MemorySegment.copy(old, 0, alloc.heap().segment(), newAddress - alloc.heap().base(),
                    Math.min(oldCapacity, newCapacity));
            adopt(newAddress);
            alloc.freeMemory(oldAddress, oldUsable);
        }
        capacity = newCapacity;
        return this;
    }

    @Override
    protected void deallocate() {
        long a = address;
        long u = usable;
        address = 0;
        usable = 0;
        memory = MemorySegment.NULL;
        tmpNioBuf = null;
        capacity = 0;
        if (a != 0) {
            alloc.freeMemory(a, u);
        }
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    @Override
    @SuppressWarnings("deprecation")
    public ByteOrder order() {
        return ByteOrder.BIG_ENDIAN;
    }

    @Override
    public ByteBuf unwrap() {
        return null;
    }

    @Override
    public boolean isDirect() {
        return true;
    }

    @Override
    public boolean isContiguous() {
        return true;
    }

    @Override
    public boolean hasArray() {
        return false;
    }

    @Override
    public byte[] array() {
        throw new UnsupportedOperationException("direct buffer");
    }

    @Override
    public int arrayOffset() {
        throw new UnsupportedOperationException("direct buffer");
    }

    @Override
    public boolean hasMemoryAddress() {
        return true;
    }

    /** The goheap address of this buffer's first byte (readable through {@link Heap#segment()} too). */
    @Override
    public long memoryAddress() {
        ensureAccessible();
        return address;
    }

    // ------------------------------------------------------------------ primitive access (indices checked by Netty)

    @Override
    protected byte _getByte(int index) {
        return memory.get(ValueLayout.JAVA_BYTE, index);
    }

    @Override
    protected short _getShort(int index) {
        return memory.get(SHORT_BE, index);
    }

    @Override
    protected short _getShortLE(int index) {
        return memory.get(SHORT_LE, index);
    }

    @Override
    protected int _getUnsignedMedium(int index) {
        MemorySegment m = memory;
        return (m.get(ValueLayout.JAVA_BYTE, index) & 0xff) << 16
                | (m.get(ValueLayout.JAVA_BYTE, index + 1) & 0xff) << 8
                | m.get(ValueLayout.JAVA_BYTE, index + 2) & 0xff;
    }

    @Override
    protected int _getUnsignedMediumLE(int index) {
        MemorySegment m = memory;
        return m.get(ValueLayout.JAVA_BYTE, index) & 0xff
                | (m.get(ValueLayout.JAVA_BYTE, index + 1) & 0xff) << 8
                | (m.get(ValueLayout.JAVA_BYTE, index + 2) & 0xff) << 16;
    }

    @Override
    protected int _getInt(int index) {
        return memory.get(INT_BE, index);
    }

    @Override
    protected int _getIntLE(int index) {
        return memory.get(INT_LE, index);
    }

    @Override
    protected long _getLong(int index) {
        return memory.get(LONG_BE, index);
    }

    @Override
    protected long _getLongLE(int index) {
        return memory.get(LONG_LE, index);
    }

    @Override
    protected void _setByte(int index, int value) {
        memory.set(ValueLayout.JAVA_BYTE, index, (byte) value);
    }

    @Override
    protected void _setShort(int index, int value) {
        memory.set(SHORT_BE, index, (short) value);
    }

    @Override
    protected void _setShortLE(int index, int value) {
        memory.set(SHORT_LE, index, (short) value);
    }

    @Override
    protected void _setMedium(int index, int value) {
        MemorySegment m = memory;
        m.set(ValueLayout.JAVA_BYTE, index, (byte) (value >>> 16));
        m.set(ValueLayout.JAVA_BYTE, index + 1, (byte) (value >>> 8));
        m.set(ValueLayout.JAVA_BYTE, index + 2, (byte) value);
    }

    @Override
    protected void _setMediumLE(int index, int value) {
        MemorySegment m = memory;
        m.set(ValueLayout.JAVA_BYTE, index, (byte) value);
        m.set(ValueLayout.JAVA_BYTE, index + 1, (byte) (value >>> 8));
        m.set(ValueLayout.JAVA_BYTE, index + 2, (byte) (value >>> 16));
    }

    @Override
    protected void _setInt(int index, int value) {
        memory.set(INT_BE, index, value);
    }

    @Override
    protected void _setIntLE(int index, int value) {
        memory.set(INT_LE, index, value);
    }

    @Override
    protected void _setLong(int index, long value) {
        memory.set(LONG_BE, index, value);
    }

    @Override
    protected void _setLongLE(int index, long value) {
        memory.set(LONG_LE, index, value);
    }

    // ------------------------------------------------------------------ bulk transfers

    @Override
    public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.capacity());
        if (dst.hasArray()) {
            getBytes(index, dst.array(), dst.arrayOffset() + dstIndex, length);
        } else if (dst.nioBufferCount() > 0) {
            for (ByteBuffer bb : dst.nioBuffers(dstIndex, length)) {
                int n = bb.remaining();
                getBytes(index, bb);
                index += n;
            }
        } else {
            dst.setBytes(dstIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, byte[] dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.length);
        MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, index, dst, dstIndex, length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, ByteBuffer dst) {
        int length = dst.remaining();
        checkIndex(index, length);
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int position = dst.position();
        MemorySegment.copy(memory, index, MemorySegment.ofBuffer(dst), 0, length);
        dst.position(position + length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, OutputStream out, int length) throws IOException {
        checkIndex(index, length);
        byte[] chunk = new byte[Math.min(length, 8192)];
        while (length > 0) {
            int n = Math.min(length, chunk.length);
            MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, index, chunk, 0, n);
            out.write(chunk, 0, n);
            index += n;
            length -= n;
        }
        return this;
    }

    /**
     * Writes through a fresh ByteBuffer view: slices and duplicates of one buffer may be read by several threads at
     * once (Netty's contract), so the cached view is only for this buffer's own {@code readBytes}.
     */
    @Override
    public int getBytes(int index, GatheringByteChannel out, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        return out.write(nioBuffer(index, length));
    }

    @Override
    public int getBytes(int index, FileChannel out, long position, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        return out.write(nioBuffer(index, length), position);
    }

    @Override
    public int readBytes(GatheringByteChannel out, int length) throws IOException {
        checkReadableBytes(length);
        int n = length == 0 ? 0 : out.write(view(readerIndex(), length));
        readerIndex(readerIndex() + n);
        return n;
    }

    @Override
    public int readBytes(FileChannel out, long position, int length) throws IOException {
        checkReadableBytes(length);
        int n = length == 0 ? 0 : out.write(view(readerIndex(), length), position);
        readerIndex(readerIndex() + n);
        return n;
    }

    @Override
    public ByteBuf setBytes(int index, ByteBuf src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.capacity());
        if (src.hasArray()) {
            setBytes(index, src.array(), src.arrayOffset() + srcIndex, length);
        } else if (src.nioBufferCount() > 0) {
            for (ByteBuffer bb : src.nioBuffers(srcIndex, length)) {
                int n = bb.remaining();
                setBytes(index, bb);
                index += n;
            }
        } else {
            src.getBytes(srcIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, byte[] src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.length);
        MemorySegment.copy(src, srcIndex, memory, ValueLayout.JAVA_BYTE, index, length);
        return this;
    }

    /** Copies as if through a temporary, so a source that overlaps this buffer (a view of it) is copied intact. */
    @Override
    public ByteBuf setBytes(int index, ByteBuffer src) {
        int length = src.remaining();
        checkIndex(index, length);
        int position = src.position();
        MemorySegment.copy(MemorySegment.ofBuffer(src), 0, memory, index, length);
        src.position(position + length);
        return this;
    }

    @Override
    public int setBytes(int index, InputStream in, int length) throws IOException {
        checkIndex(index, length);
        byte[] tmp = new byte[length];
        int n = in.read(tmp, 0, length);
        if (n <= 0) {
            return n;
        }
        MemorySegment.copy(tmp, 0, memory, ValueLayout.JAVA_BYTE, index, n);
        return n;
    }

    @Override
    public int setBytes(int index, ScatteringByteChannel in, int length) throws IOException {
        checkIndex(index, length);
        try {
            return in.read(view(index, length));
        } catch (ClosedChannelException ignored) {
            return -1;
        }
    }

    @Override
    public int setBytes(int index, FileChannel in, long position, int length) throws IOException {
        checkIndex(index, length);
        try {
            return in.read(view(index, length), position);
        } catch (ClosedChannelException ignored) {
            return -1;
        }
    }

    @Override
    public ByteBuf copy(int index, int length) {
        checkIndex(index, length);
        ByteBuf copy = alloc.directBuffer(length, maxCapacity());
        return copy.writeBytes(this, index, length);
    }

    // ------------------------------------------------------------------ NIO views

    @Override
    public int nioBufferCount() {
        return 1;
    }

    /** A new ByteBuffer sharing this buffer's bytes {@code [index, index + length)}; its position/limit are its own. */
    @Override
    public ByteBuffer nioBuffer(int index, int length) {
        checkIndex(index, length);
        return memory.asSlice(index, length).asByteBuffer();
    }

    @Override
    public ByteBuffer[] nioBuffers(int index, int length) {
        return new ByteBuffer[] {nioBuffer(index, length)};
    }

    @Override
    public ByteBuffer internalNioBuffer(int index, int length) {
        checkIndex(index, length);
        return view(index, length);
    }

    /** The cached ByteBuffer over this object, positioned at {@code index} with {@code length} remaining. */
    private ByteBuffer view(int index, int length) {
        ByteBuffer tmp = tmpNioBuf;
        if (tmp == null) {
            // (a ByteBuffer holds at most 2^31 - 1 bytes; capacity never exceeds that, usable may round above it)
            tmpNioBuf = tmp = memory.asSlice(0, Math.min(usable, Integer.MAX_VALUE)).asByteBuffer();
        }
        return tmp.clear().position(index).limit(index + length);
    }
}
