package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Leak detection is Netty's own: a goheap buffer dropped without {@code release()} is reported by Netty's
 * {@link ResourceLeakDetector} (here at PARANOID level, with the allocation's stack naming this allocator), and a
 * released one is not. Runs in a JVM of its own (see the pom): the recording detector factory must be installed
 * before Netty's buffer classes create their detector.
 */
class GoheapByteBufLeakDetectionTest {
    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    static {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            @SuppressWarnings("deprecation")
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> type, int interval, long maxActive) {
                return new ResourceLeakDetector<>(type, interval) {
                    @Override
                    protected void reportTracedLeak(String resourceType, String records) {
                        LEAKS.add(resourceType + ": " + records);
                    }

                    @Override
                    protected void reportUntracedLeak(String resourceType) {
                        LEAKS.add(resourceType + ": (untraced)");
                    }
                };
            }
        });
    }

    @Test
    void aBufferDroppedWithoutReleaseIsReportedWithItsAllocationSite() throws InterruptedException {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(2).build()) {
            GoheapByteBufAllocator allocator = new GoheapByteBufAllocator(heap);
            ByteBuf released = allocator.directBuffer(64);
            released.writeLong(1).release();
            dropWithoutRelease(allocator);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (LEAKS.isEmpty() && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
                allocator.directBuffer(64).release();      // Netty reports collected leaks on the next allocation
            }
            assertTrue(LEAKS.size() == 1, "exactly the dropped buffer is reported: " + LEAKS);
            String report = LEAKS.get(0);
            assertTrue(report.startsWith("ByteBuf: "), report);
            assertTrue(report.contains(GoheapByteBufAllocator.class.getName() + ".newDirectBuffer"),
                    "the allocation stack names the goheap allocator: " + report);
            assertTrue(report.contains("leakedHere"), "the last access is recorded: " + report);
        }
    }

    private static void dropWithoutRelease(GoheapByteBufAllocator allocator) {
        ByteBuf leaked = allocator.directBuffer(128);
        leakedHere(leaked);
    }

    private static void leakedHere(ByteBuf buf) {
        buf.writeInt(42);
        buf.readInt();
    }
}
