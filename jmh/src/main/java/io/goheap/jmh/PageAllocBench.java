package io.goheap.jmh;

import io.goheap.pagealloc.PageAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Go's page allocator on its own (no OS calls: it manages bitmaps over a range the heap commits): one
 * operation = take the heap lock, allocate {@code pages} pages (lowest-address first fit), free them, unlock —
 * what {@code MHeap} pays per span. "fragmented" pre-allocates a random 50% of the single pages in the first
 * 512 MiB, so the search has to skip used runs; "empty" is the best case.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PageAllocBench {
    private static final long BASE = 1L << 40;
    private static final long RANGE = 4L << 30;

    @Param({"1", "16", "512"})
    public int pages;

    @Param({"empty", "fragmented"})
    public String heap;

    private PageAllocator allocator;

    @Setup(Level.Trial)
    public void setUp() {
        allocator = new PageAllocator(BASE, BASE + RANGE);
        allocator.lock().lock();
        try {
            allocator.grow(BASE, RANGE);
            if (heap.equals("fragmented")) {
                SplittableRandom rnd = new SplittableRandom(7);
                long n = (512L << 20) / PageAllocator.PAGE_SIZE;
                for (long i = 0; i < n; i++) {
                    long p = allocator.alloc(1);
                    if (rnd.nextBoolean()) {
                        allocator.free(p, 1);
                    }
                }
            }
        } finally {
            allocator.lock().unlock();
        }
    }

    @Benchmark
    public long allocFree() {
        allocator.lock().lock();
        try {
            long p = allocator.alloc(pages);
            allocator.free(p, pages);
            return p;
        } finally {
            allocator.lock().unlock();
        }
    }
}
