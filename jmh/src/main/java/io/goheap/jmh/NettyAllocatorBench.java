package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.Mutator;
import io.goheap.netty.GoheapByteBufAllocator;
import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * goheap's Netty allocator ({@link GoheapByteBufAllocator}) beside Netty's own {@link PooledByteBufAllocator} and
 * {@link AdaptiveByteBufAllocator}, all with direct buffers, leak detection off (as in Netty's microbenchmarks), on
 * Netty {@code FastThreadLocalThread}s (see {@link FastThreadExecutor}), as event loops are.
 *
 * <ul>
 *   <li>{@code *AllocRelease}: {@code directBuffer(size)}, write one byte, {@code release()}.</li>
 *   <li>{@code *Echo}: one request/response turn of an echo handler: a read buffer ({@code ioBuffer}) filled from
 *       a direct ByteBuffer standing for the socket (the kernel's copy), the 8-byte header and the payload's longs
 *       read, a response buffer written (header, then the payload copied from the request), the request released,
 *       the response drained into the socket-side ByteBuffer, released. Two allocations, three copies.</li>
 *   <li>{@code goheapHeapRaw} / {@code goheapMutatorRaw}: goheap without Netty, to split the adapter's cost from
 *       the allocator's: {@code mallocUninitialized}+{@code free} through the any-thread API (borrows a P per call,
 *       what the adapter does) and through a held {@link Mutator} (one P kept per thread; one thread only).</li>
 * </ul>
 * The goheap heap has the default Ps (one per CPU): with more benchmark threads than CPUs, threads share Ps as
 * event loops would.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class NettyAllocatorBench {
    @Param({"64", "2048", "65536"})
    public int size;

    private PooledByteBufAllocator pooled;
    private AdaptiveByteBufAllocator adaptive;
    Heap heap;
    private GoheapByteBufAllocator goheap;

    @Setup(Level.Trial)
    public void setup() {
        PeerConfig.requireNettyThread();
        pooled = PeerConfig.nettyPooled();                    // also turns leak detection off
        adaptive = new AdaptiveByteBufAllocator(true);
        heap = Heap.create();
        goheap = new GoheapByteBufAllocator(heap);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        heap.close();
    }

    /** The socket side of the echo path: what "the kernel" copies in and out, one per thread. */
    @State(Scope.Thread)
    public static class Socket {
        ByteBuffer in;
        ByteBuffer out;

        @Setup(Level.Trial)
        public void setup(NettyAllocatorBench b) {
            in = ByteBuffer.allocateDirect(b.size + 8);
            in.putLong(0, b.size);
            for (int i = 8; i + 8 <= b.size + 8; i += 8) {
                in.putLong(i, i * 0x9E3779B97F4A7C15L);
            }
            out = ByteBuffer.allocateDirect(b.size + 8);
        }
    }

    /** One Mutator per benchmark thread, for the raw held-P baseline (run with one thread). */
    @State(Scope.Thread)
    public static class Held {
        Mutator mutator;
        MemorySegment memory;
        long base;

        @Setup(Level.Trial)
        public void setup(NettyAllocatorBench b) {
            mutator = b.heap.attach();
            memory = b.heap.segment();
            base = b.heap.base();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            mutator.close();
        }
    }

    // ---- alloc + release ----

    private static void allocRelease(ByteBufAllocator alloc, int size) {
        ByteBuf buf = alloc.directBuffer(size);
        buf.writeByte(1);
        buf.release();
    }

    @Benchmark
    public void pooledAllocRelease() {
        allocRelease(pooled, size);
    }

    @Benchmark
    public void adaptiveAllocRelease() {
        allocRelease(adaptive, size);
    }

    @Benchmark
    public void goheapAllocRelease() {
        allocRelease(goheap, size);
    }

    @Benchmark
    public void goheapHeapRaw() {
        long a = heap.mallocUninitialized(size);
        heap.segment().set(ValueLayout.JAVA_BYTE, a - heap.base(), (byte) 1);
        heap.free(a);
    }

    @Benchmark
    public void goheapMutatorRaw(Held h) {
        long a = h.mutator.mallocUninitialized(size);
        h.memory.set(ValueLayout.JAVA_BYTE, a - h.base, (byte) 1);
        h.mutator.free(a);
    }

    // ---- echo ----

    private static long echo(ByteBufAllocator alloc, Socket socket) {
        ByteBuffer in = socket.in;
        ByteBuf request = alloc.ioBuffer(in.capacity());
        request.writeBytes(in.duplicate());                  // the socket read
        long length = request.readLong();
        long sum = 0;
        for (int i = request.readerIndex(); i + 8 <= request.writerIndex(); i += 8) {
            sum += request.getLong(i);                       // the handler looks at the payload
        }
        ByteBuf response = alloc.ioBuffer(in.capacity());
        response.writeLong(length);
        response.writeBytes(request, request.readerIndex(), request.readableBytes());
        request.release();
        ByteBuffer out = socket.out.clear();
        response.readBytes(out);                             // the socket write
        response.release();
        return sum;
    }

    @Benchmark
    public long pooledEcho(Socket s) {
        return echo(pooled, s);
    }

    @Benchmark
    public long adaptiveEcho(Socket s) {
        return echo(adaptive, s);
    }

    @Benchmark
    public long goheapEcho(Socket s) {
        return echo(goheap, s);
    }
}
