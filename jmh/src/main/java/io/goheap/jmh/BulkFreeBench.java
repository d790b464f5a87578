package io.goheap.jmh;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.BytesStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Allocate a batch of objects, keep them all live, then free them all; the score is the time per object
 * (allocation + write of one byte + its share of the freeing). One invocation handles {@link #N} objects. The live
 * set is bounded by {@link States#MAX_LIVE} (64 MiB): for sizes above 64 KiB the {@code N} objects go in rounds
 * of {@code MAX_LIVE / size} (16 rounds of 64 for 1 MiB), each allocated in full and then freed in full.
 * Objects are freed in allocation order.
 *
 * <p>Peers as in {@link AllocFreeBench}, plus {@code ffmArenaConfinedBatch}, the FFM way to bulk-free: one
 * confined Arena per round, {@code close()} frees all its segments. For {@code ffmArenaSlicing} the bulk free is
 * a reset of the bump allocator (no per-object work at all).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@Threads(1)
@OperationsPerInvocation(BulkFreeBench.N)
@State(Scope.Benchmark)
public class BulkFreeBench {

    /** Objects per invocation (must match {@code @OperationsPerInvocation}). */
    static final int N = 1024;

    private static final byte MARK = 1;

    @Param({"16", "4096", "32768", "65536", "1048576"})
    public int size;

    /** Objects live at once: N, or fewer so that batch * size <= MAX_LIVE. */
    int batch;

    @Setup(Level.Trial)
    public void setup() {
        batch = (int) Math.max(1, Math.min(N, States.MAX_LIVE / size));
        if (N % batch != 0) {
            throw new IllegalArgumentException("size " + size + ": batch " + batch + " does not divide " + N);
        }
    }

    /** Per-thread arrays that hold a round's live objects. */
    @State(Scope.Thread)
    public static class Live {
        final long[] addresses = new long[N];
        final Arena[] arenas = new Arena[N];
        final ByteBuf[] buffers = new ByteBuf[N];
        @SuppressWarnings({"unchecked", "rawtypes"})
        final BytesStore<?, Void>[] stores = new BytesStore[N];
    }

    // ---- peer 1: sun.misc.Unsafe.allocateMemory / freeMemory ----

    @Benchmark
    public void unsafe(Live live) {
        long[] a = live.addresses;
        for (int r = 0; r < N; r += batch) {
            for (int i = 0; i < batch; i++) {
                long p = UnsafeAccess.allocateMemory(size);
                UnsafeAccess.putByte(p, MARK);
                a[i] = p;
            }
            for (int i = 0; i < batch; i++) {
                UnsafeAccess.freeMemory(a[i]);
            }
        }
    }

    // ---- peer 2: FFM, a confined Arena per object; and one confined Arena per round ----

    @Benchmark
    public void ffmArenaConfined(Live live) {
        Arena[] a = live.arenas;
        for (int r = 0; r < N; r += batch) {
            for (int i = 0; i < batch; i++) {
                Arena arena = Arena.ofConfined();
                arena.allocate(size).set(ValueLayout.JAVA_BYTE, 0, MARK);
                a[i] = arena;
            }
            for (int i = 0; i < batch; i++) {
                a[i].close();
            }
        }
    }

    @Benchmark
    public void ffmArenaConfinedBatch() {
        for (int r = 0; r < N; r += batch) {
            try (Arena arena = Arena.ofConfined()) {
                for (int i = 0; i < batch; i++) {
                    arena.allocate(size).set(ValueLayout.JAVA_BYTE, 0, MARK);
                }
            }
        }
    }

    // ---- peer 3: FFM slicing allocator; bulk free = reset ----

    @Benchmark
    public void ffmArenaSlicing(States.Slicing s) {
        for (int r = 0; r < N; r += batch) {
            s.reset();
            for (int i = 0; i < batch; i++) {
                s.allocate(size).set(ValueLayout.JAVA_BYTE, 0, MARK);
            }
        }
    }

    // ---- peer 4: Netty PooledByteBufAllocator, direct buffers ----

    @Benchmark
    public void nettyPooledDirect(States.Netty n, Live live) {
        ByteBuf[] b = live.buffers;
        for (int r = 0; r < N; r += batch) {
            for (int i = 0; i < batch; i++) {
                ByteBuf buf = n.allocator.directBuffer(size);
                buf.setByte(0, MARK);
                b[i] = buf;
            }
            for (int i = 0; i < batch; i++) {
                b[i].release();
            }
        }
    }

    // ---- peer 5: Chronicle Bytes native stores ----

    @Benchmark
    public void chronicleNativeStore(States.Chronicle c, Live live) {
        BytesStore<?, Void>[] st = live.stores;
        for (int r = 0; r < N; r += batch) {
            for (int i = 0; i < batch; i++) {
                BytesStore<?, Void> s = BytesStore.nativeStoreWithFixedCapacity(size);
                s.writeByte(0, MARK);
                st[i] = s;
            }
            for (int i = 0; i < batch; i++) {
                st[i].releaseLast();
            }
        }
    }

    // ---- peer 6: goheap, the any-thread Heap API and the Mutator hot path ----

    @Benchmark
    public void goheapHeap(States.GoHeap g, Live live) {
        long[] a = live.addresses;
        for (int r = 0; r < N; r += batch) {
            for (int i = 0; i < batch; i++) {
                long p = g.heap.malloc(size);
                g.memory.set(ValueLayout.JAVA_BYTE, p - g.base, MARK);
                a[i] = p;
            }
            for (int i = 0; i < batch; i++) {
                g.heap.free(a[i]);
            }
        }
    }

    @Benchmark
    public void goheapMutator(States.GoMutator g, Live live) {
        long[] a = live.addresses;
        for (int r = 0; r < N; r += batch) {
            for (int i = 0; i < batch; i++) {
                long p = g.mutator.malloc(size);
                g.memory.set(ValueLayout.JAVA_BYTE, p - g.base, MARK);
                a[i] = p;
            }
            for (int i = 0; i < batch; i++) {
                g.mutator.free(a[i]);
            }
        }
    }
}
