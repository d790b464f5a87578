package io.goheap.jmh;

import io.goheap.Heap;
import io.goheap.chronicle.GoheapBytes;
import io.goheap.chronicle.OwnedGoheapBytesStore;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.PointerBytesStore;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * goheap objects as Chronicle stores (goheap-chronicle) beside Chronicle's own native stores, one thread:
 * <ul>
 *   <li>{@code chronicleNativeAllocRelease}: {@code BytesStore.nativeStoreWithFixedCapacity(size)} (one zeroed
 *       malloc plus Chronicle's reference-counted store object), write a long, {@code releaseLast()} (freed in the
 *       calling thread: {@link PeerConfig#chronicleInThreadRelease()}).</li>
 *   <li>{@code goheapOwnedAllocRelease}: the same through {@link GoheapBytes#allocate} (a zeroed goheap object
 *       in the store; the last release frees it).</li>
 *   <li>{@code goheapWrapRelease}: a view over an existing goheap object ({@link GoheapBytes#wrap}: two goheap
 *       lookups to check the range, then Chronicle's {@code BytesStore.wrap}), write a long, release the view.</li>
 *   <li>{@code copyGoheapToChronicle} / {@code copyChronicleToChronicle}: {@code size} bytes into a Chronicle native
 *       store, from a goheap object ({@link GoheapBytes#copy}) or from another Chronicle native store
 *       ({@code write(offset, store, offset, length)}, Chronicle's own bulk copy, which the goheap copy uses).</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
@Threads(1)
@State(Scope.Thread)
public class ChronicleBytesBench {
    @Param({"64", "2048", "65536"})
    public int size;

    private Heap heap;
    private long object;
    private BytesStore<?, Void> source;
    private BytesStore<?, Void> target;

    @Setup(Level.Trial)
    public void setup() {
        PeerConfig.chronicleInThreadRelease();
        heap = Heap.create();
        object = heap.malloc(size);
        source = BytesStore.nativeStoreWithFixedCapacity(size);
        target = BytesStore.nativeStoreWithFixedCapacity(size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        source.releaseLast();
        target.releaseLast();
        heap.free(object);
        heap.close();
    }

    @Benchmark
    public void chronicleNativeAllocRelease() {
        BytesStore<?, Void> s = BytesStore.nativeStoreWithFixedCapacity(size);
        s.writeLong(0, 1);
        s.releaseLast();
    }

    @Benchmark
    public void goheapOwnedAllocRelease() {
        OwnedGoheapBytesStore s = GoheapBytes.allocate(heap, size);
        s.writeLong(0, 1);
        s.releaseLast();
    }

    @Benchmark
    public void goheapWrapRelease() {
        PointerBytesStore s = GoheapBytes.wrap(heap, object, size);
        s.writeLong(0, 1);
        s.releaseLast();
    }

    @Benchmark
    public void copyGoheapToChronicle() {
        GoheapBytes.copy(heap, object, target, 0, size);
    }

    @Benchmark
    public void copyChronicleToChronicle() {
        target.write(0, source, 0, size);
    }
}
