package io.goheap.demo;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.MemStats;
import io.goheap.Mutator;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An off-heap LRU cache whose values live in a goheap {@link Heap}, under a mixed get/put load from several
 * threads, printing Go's MemStats as it runs.
 *
 * <ul>
 *   <li>Keys: a {@code LinkedHashMap<Long, Long>} in access order (the LRU list), key &rarr; goheap address,
 *       guarded by one lock.
 *   <li>Values: a 4-byte length, then that many bytes of a pattern derived from the key. Allocations are
 *       16 B &ndash; 64 KiB, skewed small (most are under 256 B; a few are large objects).
 *   <li>Capacity: bounded by the total bytes of the values (default 256 MiB); a put that goes over evicts least
 *       recently used entries, and their memory is freed explicitly with {@code free}.
 *   <li>Load: each thread holds a {@link Mutator} (its own P) and runs 70% gets / 30% puts over a Zipf-like key
 *       space (P(k) ~ k^-0.9). A put allocates and fills the value before taking the lock, and frees the entries it
 *       displaced after releasing it, so the lock covers only map updates. A get verifies the value under the
 *       lock: once the lock is released, another thread may evict and free it. Frees often land on another
 *       thread's P (a value evicted by the thread that did not allocate it): Go's cross-P free.
 *   <li>Every value read is checked against its pattern; any mismatch makes the demo exit with status 1.
 * </ul>
 *
 * <p>In the <em>collected</em> flavour (the demo's default) values are collected objects: the map holds each
 * key's slot in a manual table of pointers (a manual object with pointers is a root), an eviction clears the slot,
 * and the collector, paced by GOGC, reclaims the dropped values; nothing is freed by hand. Stores into the table
 * are not safepoints, so a value goes from {@code allocate} into the table without being rooted on the way, and
 * the lock guards no safepoint (a thread waiting for it cannot hold up a collection for long).
 */
public final class LruCacheDemo {

    /** Allocation sizes (length header included). */
    static final int MIN_ALLOC = 16;
    static final int MAX_ALLOC = 64 * 1024;
    private static final int HEADER = 4;
    /** Zipf exponent of the key popularity: P(key k) ~ k^-0.9. */
    private static final double ZIPF_S = 0.9;

    /** Settings; each has a system property ({@code -Ddemo.seconds=N} etc.). */
    public record Config(int seconds, int threads, long capacityBytes, long keySpace, int getPercent, boolean collected) {
        public Config {
            if (seconds < 1 || threads < 1 || capacityBytes < MAX_ALLOC || keySpace < 2
                    || getPercent < 0 || getPercent > 100) {
                throw new IllegalArgumentException("bad demo settings: " + this);
            }
        }

        public static Config fromSystemProperties() {
            return new Config(
                    Integer.getInteger("demo.seconds", 10),
                    Integer.getInteger("demo.threads", 2),
                    Long.getLong("demo.capacityMiB", 256L) << 20,
                    Long.getLong("demo.keys", 10_000_000L),
                    Integer.getInteger("demo.getPercent", 70), true);
        }

        public Config withSeconds(int s) {
            return new Config(s, threads, capacityBytes, keySpace, getPercent, collected);
        }

        /** Values freed explicitly ({@code false}) or collected ({@code true}). */
        public Config withCollected(boolean c) {
            return new Config(seconds, threads, capacityBytes, keySpace, getPercent, c);
        }
    }

    private final Config config;
    private final Heap heap;
    private final MemorySegment memory;
    private final long base;

    private final ReentrantLock lock = new ReentrantLock();
    /** Key to value address (explicit frees) or to the value's slot in {@link #table} (collected). Guarded by lock. */
    private final LinkedHashMap<Long, Long> map = new LinkedHashMap<>(1 << 16, 0.75f, true);
    private long cachedBytes; // guarded by lock: sum of the allocation sizes of the cached values
    /** Collected flavour: a manual array of pointers to the cached values (a root), and its free slots. */
    private static final int TABLE_SLOTS = 1 << 20;
    private long table;
    private final int[] freeSlots = new int[TABLE_SLOTS]; // guarded by lock
    private int freeSlotCount;
    /** The type of a value of each size (pointer-free bytes), made on first use. */
    private final HeapType[] valueTypes = new HeapType[MAX_ALLOC + 1];

    private final LongAdder gets = new LongAdder();
    private final LongAdder hits = new LongAdder();
    private final LongAdder puts = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder mismatches = new LongAdder();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stop;

    private LruCacheDemo(Config config, Heap heap) {
        this.config = config;
        this.heap = heap;
        this.memory = heap.segment();
        this.base = heap.base();
    }

    /** Runs the demo and returns the process exit status: 0, or 1 on a content mismatch or a failure. */
    public static int run(Config config, PrintStream out) throws InterruptedException {
        int procs = Math.max(Runtime.getRuntime().availableProcessors(), config.threads());
        Heap.Builder builder = Heap.builder().maxProcs(procs);
        if (config.collected()) {
            builder.godebug("gctrace=1");
        }
        try (Heap heap = builder.build()) {
            return new LruCacheDemo(config, heap).run(out, procs);
        }
    }

    private int run(PrintStream out, int procs) throws InterruptedException {
        out.printf("goheap LRU cache demo: %d threads for %d s; values of %d B..%d KiB (skewed small) up to %d MiB;%n",
                config.threads(), config.seconds(), MIN_ALLOC, MAX_ALLOC >> 10, config.capacityBytes() >> 20);
        if (config.collected()) {
            out.println("  values are COLLECTED objects: evicted values are dropped, never freed; the collector (GOGC=100)"
                    + " reclaims them. GODEBUG=gctrace=1: one line per cycle on stderr, in Go's format.");
            table = heap.malloc(HeapType.of(java.lang.foreign.ValueLayout.ADDRESS).arrayOf(TABLE_SLOTS));
            for (int i = 0; i < TABLE_SLOTS; i++) {
                freeSlots[i] = TABLE_SLOTS - 1 - i;
            }
            freeSlotCount = TABLE_SLOTS;
        } else {
            out.println("  values are MANUAL objects: every evicted value is freed explicitly.");
        }
        out.printf("  %d%% get / %d%% put over %,d keys (Zipf-like, s=0.9); one goheap Heap, %d Ps, a Mutator per thread%n",
                config.getPercent(), 100 - config.getPercent(), config.keySpace(), procs);
        out.println("MemStats.compact() uses Go's fields: alloc=HeapAlloc (bytes of live objects), inuse=HeapInuse"
                + " (bytes in in-use spans),");
        out.println("  idle=HeapIdle (bytes in idle spans), released=HeapReleased (idle bytes returned to the OS),"
                + " sys=Sys (obtained from the OS),");
        out.println("  mallocs/frees=Mallocs/Frees (cumulative), objects=HeapObjects (live objects). cached = bytes the cache"
                + " asked for;");
        out.println("  Alloc is higher by the size-class round-up (Go's internal fragmentation).");
        out.println();
        out.printf("%5s %9s %6s %9s %8s %9s | %s%n", "t", "ops/s", "hit%", "entries", "cached", "evicted", "MemStats");

        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < config.threads(); i++) {
            long seed = 0x9E3779B97F4A7C15L * (i + 1);
            Thread t = new Thread(() -> work(seed), "lru-" + i);
            workers.add(t);
            t.start();
        }

        long start = System.nanoTime();
        long lastOps = 0;
        long lastGets = 0;
        long lastHits = 0;
        long lastTick = start;
        for (int s = 1; s <= config.seconds() && failure.get() == null; s++) {
            long wake = start + s * 1_000_000_000L;
            long now;
            while ((now = System.nanoTime()) < wake && failure.get() == null) {
                Thread.sleep(Math.max(1, (wake - now) / 1_000_000));
            }
            long ops = gets.sum() + puts.sum();
            long g = gets.sum();
            long h = hits.sum();
            double secs = (now - lastTick) / 1e9;
            int entries;
            long cached;
            lock.lock();
            try {
                entries = map.size();
                cached = cachedBytes;
            } finally {
                lock.unlock();
            }
            out.printf("%4ds %9s %5.1f%% %9d %7.1fM %9d | %s%n", s, si((ops - lastOps) / secs),
                    g == lastGets ? 0.0 : 100.0 * (h - lastHits) / (g - lastGets), entries, cached / 1048576.0,
                    evictions.sum(), heap.readMemStats().compact());
            lastOps = ops;
            lastGets = g;
            lastHits = h;
            lastTick = now;
        }
        stop = true;
        for (Thread t : workers) {
            t.join();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;

        out.println();
        long totalOps = gets.sum() + puts.sum();
        out.printf("%,d ops in %.1f s (%s ops/s): %,d gets (%.1f%% hits), %,d puts, %,d evictions, %d mismatches%n",
                totalOps, elapsed, si(totalOps / elapsed), gets.sum(),
                gets.sum() == 0 ? 0.0 : 100.0 * hits.sum() / gets.sum(), puts.sum(), evictions.sum(),
                mismatches.sum());
        out.println();
        out.println("runtime.MemStats with the cache full:");
        out.print(heap.readMemStats());

        int entries = map.size();
        MemStats after;
        if (config.collected()) {
            // Drop the whole cache: free the table (the only root), collect, and every value must be gone.
            heap.free(table);
            map.clear();
            cachedBytes = 0;
            heap.gc();
            after = heap.readMemStats();
            out.println();
            out.printf("after dropping all %,d entries and one gc(): %s%n", entries, after.compact());
            out.printf("collections: %d (%d forced), pauses %.1f ms in all, next goal %.1f MiB%n", after.numGC(),
                    after.numForcedGC(), after.pauseTotalNs() / 1e6, after.nextGC() / 1048576.0);
        } else {
            // Empty the cache from this thread through the any-thread API: every object must come back.
            for (long address : map.values()) {
                heap.free(address);
            }
            map.clear();
            cachedBytes = 0;
            after = heap.readMemStats();
            out.println();
            out.printf("after freeing all %,d entries: %s%n", entries, after.compact());
        }
        // Go's debug.FreeOSMemory (without the collection goheap does not have yet): return idle pages now.
        long rssBefore = io.goheap.ffi.OsMemory.system().processMemory().rss();
        long released = heap.freeOSMemory();
        long rssAfter = io.goheap.ffi.OsMemory.system().processMemory().rss();
        out.printf("freeOSMemory released %.1f MiB (process RSS %.1f -> %.1f MiB): %s%n",
                released / 1048576.0, rssBefore / 1048576.0, rssAfter / 1048576.0, heap.readMemStats().compact());

        Throwable t = failure.get();
        if (t != null) {
            out.flush();
            System.err.println("demo failed in a worker thread:");
            t.printStackTrace();
            return 1;
        }
        if (mismatches.sum() != 0) {
            System.err.println("value mismatches: " + mismatches.sum());
            return 1;
        }
        if (after.heapObjects() != 0) {
            System.err.println("objects still live after freeing every entry: " + after.heapObjects());
            return 1;
        }
        return 0;
    }

    // ------------------------------------------------------------------ the load

    private void work(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        // Zipf-like keys: density ~ k^-S over [1, keySpace], drawn by inverting its CDF (a continuous Zipf).
        double span = Math.pow(config.keySpace(), 1 - ZIPF_S) - 1;
        long[] toFree = new long[64];
        try (Mutator m = heap.attach()) {
            while (!stop) {
                for (int i = 0; i < 256; i++) {
                    long key = (long) Math.pow(1 + rnd.nextDouble() * span, 1 / (1 - ZIPF_S));
                    if (rnd.nextInt(100) < config.getPercent()) {
                        get(m, key);
                    } else if (config.collected()) {
                        putCollected(m, key, valueSize(rnd));
                    } else {
                        toFree = put(m, key, valueSize(rnd), toFree);
                    }
                }
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
            stop = true;
        }
    }

    /**
     * 16 B..64 KiB, skewed small: a power-of-two band picked geometrically (stop with p = 0.3 at each band),
     * uniform within. Median about 64 B, mean about 1.6 KiB; about 1 in 50 values is a large object (> 32 KiB).
     */
    private static int valueSize(SplittableRandom rnd) {
        int band = 4; // [16, 32]
        while (band < 15 && rnd.nextInt(100) >= 30) {
            band++;
        }
        int lo = 1 << band;
        return Math.min(MAX_ALLOC, lo + rnd.nextInt(lo + 1));
    }

    private void get(Mutator m, long key) {
        gets.increment();
        lock.lock();
        try {
            Long entry = map.get(key); // moves the entry to the most recently used end
            if (entry == null) {
                return;
            }
            hits.increment();
            long address = config.collected() ? m.loadPointer(table + 8L * entry) : entry;
            if (!verify(key, address)) {
                mismatches.increment();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Collected flavour: allocates and fills the value outside the lock, then under it points the key's slot at it;
     * an evicted or replaced value is only dropped (its slot cleared or overwritten). No safepoint under the lock.
     */
    private void putCollected(Mutator m, long key, int size) {
        puts.increment();
        HeapType type = valueTypes[size];
        if (type == null) {
            type = HeapType.of(java.lang.foreign.MemoryLayout.sequenceLayout(size, ValueLayout.JAVA_BYTE));
            valueTypes[size] = type;              // a benign race: equal types
        }
        long address = m.allocate(type);          // the last safepoint until the value is in the table
        fill(key, address, size);
        lock.lock();
        try {
            Long slot = map.get(key);
            if (slot != null) {
                cachedBytes -= allocSize(m.loadPointer(table + 8L * slot));   // the old value is dropped
            } else {
                while (freeSlotCount == 0) {
                    evictEldest(m);
                }
                slot = (long) freeSlots[--freeSlotCount];
                map.put(key, slot);
            }
            m.storePointer(table + 8L * slot, address);
            cachedBytes += size;
            while (cachedBytes > config.capacityBytes()) {
                evictEldest(m);                   // never the new entry: it is the youngest, and fits alone
            }
        } finally {
            lock.unlock();
        }
    }

    /** Drops the least recently used entry: its slot is cleared, its value becomes garbage. Holds the lock. */
    private void evictEldest(Mutator m) {
        Iterator<Map.Entry<Long, Long>> eldest = map.entrySet().iterator();
        long slot = eldest.next().getValue();
        eldest.remove();
        long slotAddress = table + 8L * slot;
        cachedBytes -= allocSize(m.loadPointer(slotAddress));
        m.storePointer(slotAddress, 0);
        freeSlots[freeSlotCount++] = (int) slot;
        evictions.increment();
    }

    /** Returns the (possibly grown) scratch array for addresses to free. */
    private long[] put(Mutator m, long key, int size, long[] toFree) {
        puts.increment();
        long address = m.malloc(size); // outside the lock
        fill(key, address, size);
        int n = 0;
        lock.lock();
        try {
            Long previous = map.put(key, address);
            cachedBytes += size;
            if (previous != null) {
                cachedBytes -= allocSize(previous);
                toFree[n++] = previous;
            }
            Iterator<Map.Entry<Long, Long>> eldest = map.entrySet().iterator();
            while (cachedBytes > config.capacityBytes()) {
                long victim = eldest.next().getValue(); // never the new entry: it is the youngest, and fits alone
                eldest.remove();
                cachedBytes -= allocSize(victim);
                if (n == toFree.length) {
                    toFree = java.util.Arrays.copyOf(toFree, n * 2);
                }
                toFree[n++] = victim;
                evictions.increment();
            }
        } finally {
            lock.unlock();
        }
        for (int i = 0; i < n; i++) {
            m.free(toFree[i]); // outside the lock: nobody else can reach these any more
        }
        return toFree;
    }

    // ------------------------------------------------------------------ value format

    private long allocSize(long address) {
        return HEADER + memory.get(ValueLayout.JAVA_INT_UNALIGNED, address - base);
    }

    private static long pattern(long key) {
        long z = key * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        return z ^ (z >>> 31);
    }

    private void fill(long key, long address, int size) {
        long off = address - base;
        int length = size - HEADER;
        memory.set(ValueLayout.JAVA_INT_UNALIGNED, off, length);
        long p = pattern(key);
        long o = off + HEADER;
        long end = o + length;
        long i = 0;
        for (; o + 8 <= end; o += 8, i++) {
            memory.set(ValueLayout.JAVA_LONG_UNALIGNED, o, p + i);
        }
        for (; o < end; o++, i++) {
            memory.set(ValueLayout.JAVA_BYTE, o, (byte) (p + i));
        }
    }

    private boolean verify(long key, long address) {
        long off = address - base;
        int length = memory.get(ValueLayout.JAVA_INT_UNALIGNED, off);
        if (length < MIN_ALLOC - HEADER || length > MAX_ALLOC - HEADER) {
            return false;
        }
        long p = pattern(key);
        long o = off + HEADER;
        long end = o + length;
        long i = 0;
        for (; o + 8 <= end; o += 8, i++) {
            if (memory.get(ValueLayout.JAVA_LONG_UNALIGNED, o) != p + i) {
                return false;
            }
        }
        for (; o < end; o++, i++) {
            if (memory.get(ValueLayout.JAVA_BYTE, o) != (byte) (p + i)) {
                return false;
            }
        }
        return true;
    }

    private static String si(double v) {
        return v >= 1e6 ? String.format("%.2fM", v / 1e6) : v >= 1e3 ? String.format("%.1fk", v / 1e3)
                : String.format("%.0f", v);
    }
}
