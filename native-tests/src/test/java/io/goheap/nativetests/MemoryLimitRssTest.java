package io.goheap.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The memory limit on the real OS: with GOMEMLIMIT=512MiB, 300 MiB live and churn (random
 * replacement of 64 KiB collected objects, 4 GiB allocated), the heap's resident memory (its own range in
 * {@code /proc/self/smaps}, sampled every 10 ms) stays at the limit (within 5%: see the assertion); and with {@code harddecommit=1}, released
 * pages are inaccessible ({@code ---p} in {@code /proc/self/maps}) while released and readable, writable and zeroed
 * once the heap reuses them.
 */
class MemoryLimitRssTest {
    private static final long MIB = 1L << 20;
    private static final long BLOCK_BYTES = 64L << 10;
    private static final HeapType BLOCK = HeapType.of(MemoryLayout.sequenceLayout(BLOCK_BYTES / 8, ValueLayout.JAVA_LONG));

    @Test
    void peakRssStaysWithinGomemlimitWith300MiBLiveAndChurn() throws Exception {
        try (Heap heap = Heap.builder().reservation(8L << 30).memoryLimit("512MiB").build()) {
            long limit = heap.setMemoryLimit(-1);
            assertEquals(512 * MIB, limit);
            AtomicLong peak = new AtomicLong();
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    peak.accumulateAndGet(HeapRssTest.rangeMemory(heap.base(), heap.base() + heap.reservation())[0],
                            Math::max);
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "rss-sampler");
            sampler.start();
            long slots = 300 * MIB / BLOCK_BYTES;
            long table = heap.malloc(HeapType.of(ValueLayout.ADDRESS).arrayOf(slots));
            MemorySegment memory = heap.segment();
            long seed = 7;
            try (Mutator m = heap.attach()) {
                for (long i = 0; i < slots; i++) {
                    m.storePointer(table + 8 * i, touched(m, memory, heap));
                }
                for (long allocated = 0; allocated < (4L << 30); allocated += BLOCK_BYTES) {
                    seed = seed * 6364136223846793005L + 1442695040888963407L;
                    m.storePointer(table + 8 * Long.remainderUnsigned(seed >>> 33, slots), touched(m, memory, heap));
                }
            }
            sampler.interrupt();
            sampler.join();
            MemStats s = heap.readMemStats();
            System.out.printf("GOMEMLIMIT=512MiB, 300 MiB live, 4 GiB churned: peak heap RSS %d MiB (%.3f x limit), "
                    + "%d GCs, GC CPU %.1f%%%n", peak.get() / MIB, peak.get() / (double) limit, s.numGC(),
                    100 * s.gcCPUFraction());
            assertTrue(s.heapAlloc() >= 300 * MIB, "the live data stayed: " + s.heapAlloc());
            // Within the limit but for a sampling of the moment: measured 0.94-0.99x, a few times up to 1.015x in runs
            // since the mark setup became handshakes (the benchmark target is <= 1.02x). Without the limit
            // this program's heap goal alone is ~600 MiB (300 MiB live, GOGC=100), so a limit that did not hold
            // fails this by far.
            assertTrue(peak.get() <= limit + limit / 20, "peak heap RSS " + peak.get() / MIB
                    + " MiB over 1.05 x the 512 MiB limit");
            heap.free(table);
        }
    }

    private static long touched(Mutator m, MemorySegment memory, Heap heap) {
        long b = m.allocate(BLOCK);
        for (long at = 0; at < BLOCK_BYTES; at += 4096) {
            memory.set(ValueLayout.JAVA_BYTE, b - heap.base() + at, (byte) 1);
        }
        return b;
    }

    @Test
    void harddecommitPagesAreInaccessibleWhileReleasedAndUsableAfterReuse() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).godebug("harddecommit=1").build()) {
            long size = 8 * MIB;
            long p = heap.malloc(size);
            heap.segment().asSlice(p - heap.base(), size).fill((byte) 0x5A);
            heap.free(p);
            heap.freeOSMemory();
            assertEquals("---p", protectionOf(p + size / 2), "a released page is PROT_NONE (harddecommit)");
            long q = heap.malloc(size);
            assertEquals(p, q, "the same pages come back");
            assertEquals("rw-p", protectionOf(q + size / 2), "reused: committed again");
            MemorySegment s = heap.segment().asSlice(q - heap.base(), size);
            for (long at = 0; at < size; at += 4096) {
                assertEquals(0, s.get(ValueLayout.JAVA_BYTE, at), "reused memory is zeroed at +" + at);
            }
            s.fill((byte) 1);
            heap.free(q);
        }
    }

    /** The permissions of the mapping holding {@code address}, from /proc/self/maps ("rw-p", "---p", ...). */
    private static String protectionOf(long address) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            String[] f = line.split("\\s+");
            String[] range = f[0].split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            if (address >= start && address < end) {
                return f[1];
            }
        }
        throw new AssertionError(String.format("0x%x is in no mapping", address));
    }
}
