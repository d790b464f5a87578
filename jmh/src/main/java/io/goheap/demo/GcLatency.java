package io.goheap.demo;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.PauseHistogram;
import io.goheap.Mutator;
import java.io.PrintStream;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * gc-latency: what a latency-sensitive service sees of the collector. The peer of {@code jmh/go/gclatency} (its
 * package comment describes the workload, the same here): N = MiB × 2^20 / 64 collected nodes of 64 bytes (a next
 * pointer, an id, six words) in N/2 linked pairs, held by a manual table of N/2 pointers (a root); M threads, each
 * with its Mutator, replace random pairs as fast as they can for S seconds (allocate a pair, store it into a
 * random table slot: the old pair becomes garbage, the live heap stays N nodes). Every replacement is timed: its
 * latency includes whatever the collector made the thread wait for — a stop at the mark's setup or termination,
 * waiting at the goal for a cycle to end, the shared machine's scheduling. Printed as the Go program prints:
 * replacements per second, latency percentiles (log-linear histogram, relative error under 1/16), and the
 * collector's pauses (MemStats.PauseNs of the run's cycles), NumGC and GCCPUFraction.
 *
 * <p>The table is a manual object (a root) by default; with {@code frame} it is a collected object the main
 * thread keeps in its Mutator's local frame while the mutators run (Go's peer holds its table in a local too).
 *
 * <p>{@code ./mvnw -q compile exec:exec@demo -Ddemo.args="gc-latency [MiB=256] [mutators=1] [seconds=10] [root|frame]"}; GOGC
 * and GODEBUG from the environment as always (GOGC=off for the baseline, GODEBUG=gcstoptheworld=1 for the
 * stop-the-world collector).
 */
public final class GcLatency {
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(ADDRESS.withName("next"),
            JAVA_LONG.withName("id"), MemoryLayout.sequenceLayout(6, JAVA_LONG).withName("pad")));

    private GcLatency() {
    }

    /** Log-linear histogram of nanoseconds: 64 power-of-two ranges, 16 linear sub-buckets each (as the Go peer). */
    static final class Histogram {
        final long[] counts = new long[64 * 16];

        void record(long ns) {
            if (ns < 16) {
                counts[(int) Math.max(0, ns)]++;
                return;
            }
            int e = 63 - Long.numberOfLeadingZeros(ns);
            int sub = (int) ((ns >>> (e - 4)) & 15);
            counts[e * 16 + sub]++;
        }

        void add(Histogram other) {
            for (int i = 0; i < counts.length; i++) {
                counts[i] += other.counts[i];
            }
        }

        long percentile(double p) {
            long total = Arrays.stream(counts).sum();
            long want = (long) (p * total);
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen > want && counts[i] > 0) {
                    return value(i, 0);
                }
            }
            return 0;
        }

        long max() {
            for (int i = counts.length - 1; i >= 0; i--) {
                if (counts[i] > 0) {
                    return value(i, 1);
                }
            }
            return 0;
        }

        private static long value(int i, int upper) {
            if (i < 16) {
                return i;
            }
            int e = i / 16;
            int sub = i % 16;
            return (long) (16 + sub + upper) << (e - 4);
        }
    }

    static long splitmix(long[] state) {
        long z = (state[0] += 0x9e3779b97f4a7c15L);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** Runs the workload and prints its report to {@code out}; returns the replacements made. */
    public static long run(int mib, int mutators, int seconds, PrintStream out) throws InterruptedException {
        return run(mib, mutators, seconds, false, out);
    }

    /** Runs the workload with the table in a local frame ({@code inFrame}) or a root; prints its report. */
    public static long run(int mib, int mutators, int seconds, boolean inFrame, PrintStream out)
            throws InterruptedException {
        long n = ((long) mib << 20) / 64 / 2;             // table slots: one pair each
        // address space only: GOGC=off runs allocate ~4 GiB in 10 s with two mutators, and never free
        try (Heap heap = Heap.builder().reservation(Math.max(64L << 30, (long) mib << 24)).build();
             Mutator holder = heap.attach();
             Mutator.Frame frame = holder.enterFrame()) {
            long table;
            HeapType tableType = HeapType.of(MemoryLayout.sequenceLayout(n, ADDRESS));
            table = inFrame ? frame.keep(holder.allocate(tableType)) : holder.malloc(tableType);
            MemorySegment mem = heap.segment();
            long base = heap.base();
            for (long i = 0; i < n; i++) {
                holder.storePointer(table + 8 * i, pair(holder, mem, base, i));
            }
            holder.gc();
            try (var region = holder.blocking()) {       // the holder waits below: its P is free for the mutators
                return measure(heap, table, n, mib, mutators, seconds, inFrame, out);
            }
        }
    }

    private static long measure(Heap heap, long table, long n, int mib, int mutators, int seconds, boolean inFrame,
                                PrintStream out) throws InterruptedException {
        {
            MemStats before = heap.readMemStats();
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            Histogram[] hists = new Histogram[mutators];
            long[] counts = new long[mutators];
            List<Thread> threads = new ArrayList<>();
            java.util.concurrent.atomic.AtomicReference<Throwable> failure =
                    new java.util.concurrent.atomic.AtomicReference<>();
            long start = System.nanoTime();
            for (int t = 0; t < mutators; t++) {
                int id = t;
                hists[t] = new Histogram();
                Thread th = new Thread(() -> {
                    try {
                        counts[id] = mutate(heap, table, n, 1000 + id, deadline, hists[id]);
                    } catch (RuntimeException | Error e) {
                        failure.compareAndSet(null, e);
                    }
                }, "gc-latency-" + t);
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            if (failure.get() != null) {
                throw new IllegalStateException("a mutator failed: no report", failure.get());
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            MemStats after = heap.readMemStats();
            Histogram all = new Histogram();
            long ops = 0;
            for (int t = 0; t < mutators; t++) {
                all.add(hists[t]);
                ops += counts[t];
            }
            int cycles = after.numGC() - before.numGC();
            long[] pauses = new long[Math.min(cycles, 256)];
            for (int i = 0; i < pauses.length; i++) {
                pauses[i] = after.pauseNs((after.numGC() - 1 - i + 256) % 256);
            }
            Arrays.sort(pauses);
            out.printf("goheap gc-latency: %d MiB live, %d mutator(s), %.1f s, %d P, table in a %s%n", mib, mutators,
                    elapsed, heap.maxProcs(), inFrame ? "frame" : "root");
            out.printf("replacements/s %.0f%n", ops / elapsed);
            out.printf("op latency ns: p50 %d p99 %d p99.9 %d max %d%n", all.percentile(0.5), all.percentile(0.99),
                    all.percentile(0.999), all.max());
            out.printf("gc: %d cycles, pause ns p50 %d p99 %d max %d, GCCPUFraction %.3f, HeapAlloc %d MiB%n", cycles,
                    pct(pauses, 0.5), pct(pauses, 0.99), pct(pauses, 1.0), after.gcCPUFraction(),
                    after.heapAlloc() >> 20);
            PauseHistogram every = heap.readPauseHistogram();   // since the heap was built: the set-up's cycles too
            out.printf("every pause (stops and handshake steps, whole run): %d, p50 <= %d ns, p99 <= %d ns, "
                    + "max <= %d ns%n", every.total(), every.quantileNanos(0.5), every.quantileNanos(0.99),
                    every.quantileNanos(1.0));
            return ops;
        }
    }

    private static long pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[(int) (p * (sorted.length - 1))];
    }

    /**
     * A new pair: the first node, kept in the local frame while the second is allocated (an allocation is a
     * safepoint), then linked to it. The caller stores the first before its next safepoint.
     */
    private static long pair(Mutator m, MemorySegment mem, long base, long id) {
        try (Mutator.Frame f = m.enterFrame()) {
            long first = f.keep(m.allocate(NODE));
            long second = m.allocate(NODE);
            mem.set(JAVA_LONG, first + 8 - base, id);
            mem.set(JAVA_LONG, second + 8 - base, id);
            m.storePointer(first, second);
            return first;
        }
    }

    private static long mutate(Heap heap, long table, long n, long seed, long deadline, Histogram h) {
        MemorySegment mem = heap.segment();
        long base = heap.base();
        long[] rnd = {seed};
        long ops = 0;
        try (Mutator m = heap.attach()) {
            for (;;) {
                long t0 = System.nanoTime();
                m.storePointer(table + 8 * Long.remainderUnsigned(splitmix(rnd), n), pair(m, mem, base, ops));
                long t1 = System.nanoTime();
                h.record(t1 - t0);
                ops++;
                if ((ops & 1023) == 0 && t1 > deadline) {
                    return ops;
                }
            }
        }
    }
}
