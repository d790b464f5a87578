package io.goheap.allocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The plain-Java side of the model-based tests: the objects a test believes live, each filled with its own byte,
 * and the checks that the heap kept them — plus the size mix and thread plumbing those tests share.
 */
final class ShadowObjects {
    private ShadowObjects() {
    }

    /** An object the model holds: where, how big, its fill byte, and whether it was allocated pointer-free. */
    record Obj(long address, long size, boolean noscan, byte fill) {
    }

    /** 25% under 16 bytes, 60% small in 8-byte classes, 14% small in 128-byte classes, 1% large (up to ~300 KB). */
    static long randomSize(SplittableRandom rnd) {
        int k = rnd.nextInt(100);
        if (k < 25) {
            return rnd.nextInt(1, 16);
        } else if (k < 85) {
            return rnd.nextInt(16, 1025);
        } else if (k < 99) {
            return rnd.nextInt(1025, 32761);
        }
        return rnd.nextInt(32761, 300_000);
    }

    /** Fills a fresh allocation of the model with a random non-zero byte and returns its record. */
    static Obj fill(MemorySegment mem, long base, long address, long size, boolean noscan, SplittableRandom rnd) {
        byte fill = (byte) rnd.nextInt(1, 256);
        mem.asSlice(address - base, size).fill(fill);
        return new Obj(address, size, noscan, fill);
    }

    /** Asserts a fresh allocation reads as zero (every byte up to 4 KiB, a sample beyond, and the last byte). */
    static void checkZero(MemorySegment mem, long base, long address, long size) {
        long step = size <= 4096 ? 1 : 61;
        for (long i = 0; i < size; i += step) {
            assertEquals(0, mem.get(ValueLayout.JAVA_BYTE, address - base + i), "allocation not zeroed at +" + i);
        }
        assertEquals(0, mem.get(ValueLayout.JAVA_BYTE, address - base + size - 1));
    }

    /** Asserts a live object still holds its fill byte (every byte up to 4 KiB, a sample beyond, the last byte). */
    static void verify(MemorySegment mem, long base, Obj o) {
        long step = o.size() <= 4096 ? 1 : 53;
        for (long i = 0; i < o.size(); i += step) {
            assertEquals(o.fill(), mem.get(ValueLayout.JAVA_BYTE, o.address() - base + i),
                    "object 0x" + Long.toHexString(o.address()) + " corrupted at +" + i);
        }
        assertEquals(o.fill(), mem.get(ValueLayout.JAVA_BYTE, o.address() - base + o.size() - 1));
    }

    /** Starts a named thread whose first failure lands in {@code failure}. */
    static Thread start(String name, AtomicReference<Throwable> failure, Runnable body) {
        Thread th = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, name);
        th.start();
        return th;
    }
}
