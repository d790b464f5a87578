package io.goheap.demo;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import io.goheap.ffi.OsMemory;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * scavenge: memory back to the OS and the memory limit, beside Go. The peer of {@code jmh/go/scavenge} (its header
 * describes the three workloads; they are the same here, on collected 64 KiB objects held by a manual table):
 * <ul>
 *   <li>{@code drop [seconds=30]}: 1 GiB touched, dropped, collected once; then the heap is left alone and its
 *       resident memory (its own range in {@code /proc/self/smaps}) sampled every 100 ms: times of 50% and 90% of
 *       the dropped memory back, and of 99% (the retain goal after the drop is a few hundred KiB in both, so 99% is
 *       "at the goal + 10%"), and the background scavenger's CPU time;</li>
 *   <li>{@code freeos}: 1 GiB dropped, {@code freeOSMemory()} timed per GiB (three rounds: cold, then warm),
 *       beside the floor: one {@code madvise(MADV_DONTNEED)} of a touched 1 GiB range through the same
 *       binding;</li>
 *   <li>{@code memlimit [GiB=8]}: GOMEMLIMIT from the environment (e.g. 512MiB), 300 MiB live, random
 *       replacements until GiB were allocated: the heap's peak RSS (sampled every 5 ms) and GC CPU.</li>
 * </ul>
 * {@code ./mvnw -q compile exec:exec@demo -Ddemo.args="scavenge drop"}
 */
final class Scavenge {
    private static final long MIB = 1L << 20;
    private static final long BLOCK_BYTES = 64L << 10;
    private static final HeapType BLOCK = HeapType.of(MemoryLayout.sequenceLayout(BLOCK_BYTES / 8, ValueLayout.JAVA_LONG));

    private Scavenge() {
    }

    static void run(String mode, int arg, PrintStream out) throws Exception {
        switch (mode) {
            case "drop" -> drop(arg <= 0 ? 30 : arg, out);
            case "freeos" -> freeos(out);
            case "memlimit" -> memlimit(arg <= 0 ? 8 : arg, out);
            default -> throw new IllegalArgumentException("scavenge mode must be drop, freeos or memlimit: " + mode);
        }
    }

    /** A manual table of {@code bytes / 64 KiB} pointer slots, each holding a touched collected 64 KiB object. */
    private static long fill(Heap heap, long bytes) {
        HeapType table = HeapType.of(ValueLayout.ADDRESS).arrayOf(bytes / BLOCK_BYTES);
        long t = heap.malloc(table);
        MemorySegment memory = heap.segment();
        try (Mutator m = heap.attach()) {
            for (long i = 0; i < table.length(); i++) {
                long b = m.allocate(BLOCK);
                for (long at = 0; at < BLOCK_BYTES; at += 4096) {
                    memory.set(ValueLayout.JAVA_BYTE, b - heap.base() + at, (byte) (i + 1));
                }
                m.storePointer(t + 8 * i, b);
            }
        }
        return t;
    }

    /** Resident bytes of {@code [from, to)} from /proc/self/smaps. */
    static long rangeRss(long from, long to) {
        long rss = 0;
        boolean inside = false;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                    long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    inside = start >= from && end <= to;
                } else if (inside && line.startsWith("Rss:")) {
                    rss += Long.parseLong(line.trim().split("\\s+")[1]) << 10;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rss;
    }

    private static long heapRss(Heap heap) {
        return rangeRss(heap.base(), heap.base() + heap.reservation());
    }

    private static void drop(int seconds, PrintStream out) throws InterruptedException {
        try (Heap heap = Heap.builder().reservation(8L << 30).build()) {
            long table = fill(heap, 1L << 30);
            long touched = heapRss(heap);
            heap.free(table);
            heap.gc();
            long goal = heap.readMemStats().heapInuse() * 11 / 10;
            double cpu0 = heap.readMetrics().get("/cpu/classes/scavenge/background:cpu-seconds").doubleValue();
            out.printf("goheap drop: touched %d MiB, retain goal %d MiB, scavenger goal %d MiB%n", touched / MIB,
                    goal / MIB, heap.readMetrics().get("/gc/scavenge/goal:bytes").longValue() / MIB);
            long start = System.nanoTime();
            double half = -1, ninety = -1, most = -1;
            while (System.nanoTime() - start < seconds * 1_000_000_000L) {
                Thread.sleep(100);
                long r = heapRss(heap);
                double t = (System.nanoTime() - start) / 1e9;
                long back = touched - r;
                if (half < 0 && back >= (1L << 29)) {
                    half = t;
                }
                if (ninety < 0 && back >= (1L << 30) * 9 / 10) {
                    ninety = t;
                }
                if (most < 0 && back >= (1L << 30) * 99 / 100) {
                    most = t;
                }
                if ((long) (t * 10) % 10 == 0) {
                    out.printf("  t=%.1fs rss=%d MiB%n", t, r / MIB);
                }
                if (most >= 0 && r <= goal + goal / 10 + (8 << 20)) {
                    break;
                }
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            double cpu = heap.readMetrics().get("/cpu/classes/scavenge/background:cpu-seconds").doubleValue() - cpu0;
            out.printf("goheap drop: 50%% back at %.1f s, 90%% at %.1f s, 99%% at %.1f s; scavenger CPU %.3f s = "
                    + "%.2f%% of one CPU over %.1f s%n", half, ninety, most, cpu, 100 * cpu / elapsed, elapsed);
        }
    }

    private static void freeos(PrintStream out) {
        // three rounds in one JVM: the first runs the collector's and the scavenger's code cold (interpreted, then
        // compiled as it goes), the later ones warm, as in a service that has run for a while
        for (int round = 1; round <= 3; round++) {
            try (Heap heap = Heap.builder().reservation(8L << 30).build()) {
                long table = fill(heap, 1L << 30);
                MemStats before = heap.readMemStats();
                heap.free(table);
                long t0 = System.nanoTime();
                heap.freeOSMemory();
                long took = System.nanoTime() - t0;
                MemStats after = heap.readMemStats();
                long released = after.heapReleased() - before.heapReleased();
                out.printf("goheap freeos: round %d: freeOSMemory released %d MiB in %.1f ms = %.1f ms/GiB%n", round,
                        released / MIB, took / 1e6, took / 1e6 / (released / (double) (1L << 30)));
            }
        }
        try (Heap heap = Heap.builder().reservation(8L << 30).build()) {      // its two parts, apart
            long table = fill(heap, 1L << 30);
            heap.free(table);
            long t0 = System.nanoTime();
            heap.gc();
            long gc = System.nanoTime() - t0;
            long t1 = System.nanoTime();
            heap.freeOSMemory();                                             // its collection finds nothing new
            long release = System.nanoTime() - t1;
            out.printf("goheap freeos: apart, the collection %.1f ms, then freeOSMemory %.1f ms%n", gc / 1e6,
                    release / 1e6);
        }
        OsMemory os = OsMemory.system();
        long bytes = 1L << 30;
        long at = os.reserve(bytes);
        try (Arena arena = Arena.ofShared()) {
            os.commit(at, bytes);
            MemorySegment s = os.segment(at, bytes, arena);
            for (long off = 0; off < bytes; off += 4096) {
                s.set(ValueLayout.JAVA_BYTE, off, (byte) 1);
            }
            long t1 = System.nanoTime();
            os.decommit(at, bytes, OsMemory.DecommitMode.DONTNEED);
            long floor = System.nanoTime() - t1;
            out.printf("goheap freeos: floor, one madvise(MADV_DONTNEED) of a touched 1 GiB: %.1f ms%n", floor / 1e6);
        } finally {
            os.release(at, bytes);
        }
    }

    private static void memlimit(int gib, PrintStream out) throws InterruptedException {
        try (Heap heap = Heap.builder().reservation(8L << 30).build()) {
            long limit = heap.setMemoryLimit(-1);
            if (limit == Long.MAX_VALUE) {
                throw new IllegalArgumentException("memlimit: set GOMEMLIMIT, e.g. GOMEMLIMIT=512MiB");
            }
            AtomicLong peak = new AtomicLong();
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    peak.accumulateAndGet(heapRss(heap), Math::max);
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "rss-sampler");
            sampler.setDaemon(true);
            sampler.start();
            HeapType tableType = HeapType.of(ValueLayout.ADDRESS).arrayOf((300 * MIB) / BLOCK_BYTES);
            long table = fill(heap, 300 * MIB);
            MemStats m0 = heap.readMemStats();
            long start = System.nanoTime();
            long seed = 42;
            MemorySegment memory = heap.segment();
            try (Mutator m = heap.attach()) {
                for (long allocated = 0; allocated < ((long) gib << 30); allocated += BLOCK_BYTES) {
                    seed = seed * 6364136223846793005L + 1442695040888963407L;
                    long b = m.allocate(BLOCK);
                    memory.set(ValueLayout.JAVA_BYTE, b - heap.base(), (byte) 1);
                    m.storePointer(table + 8 * Long.remainderUnsigned(seed >>> 33, tableType.length()), b);
                }
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            sampler.interrupt();
            sampler.join();
            MemStats m = heap.readMemStats();
            out.printf("goheap memlimit: limit %d MiB, 300 MiB live, %d GiB churned in %.2f s: peak heap RSS %d MiB "
                            + "(%.3f x limit), %d GCs, GC CPU fraction %.1f%%, limiter last on in cycle %s%n",
                    limit / MIB, gib, elapsed, peak.get() / MIB, peak.get() / (double) limit, m.numGC() - m0.numGC(),
                    100 * m.gcCPUFraction(), heap.readMetrics().get("/gc/limiter/last-enabled:gc-cycle"));
        }
    }
}
