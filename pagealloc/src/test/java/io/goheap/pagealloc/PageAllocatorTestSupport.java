// Invariants: test-only helpers; every PageAllocator they build or inspect is touched under its own lock, on the test thread.
package io.goheap.pagealloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/** Builders in the style of Go's page allocator tests (chunk index -> bit ranges). */
final class PageAllocatorTestSupport {
    /** Go's first heap arena address; the radix tree is aligned to it. */
    static final long BASE = 0xc0_0000_0000L;
    /** 16 TiB: room for Go's "big jump" (0x100000 chunks = 4 TiB) cases. */
    static final long LIMIT = BASE + (16L << 40);
    static final long PAGE = PageAllocator.PAGE_SIZE;
    static final int CHUNK = PageAllocator.CHUNK_PAGES;

    private PageAllocatorTestSupport() {}

    /** Chunk index -> flat (index, length) pairs. */
    static final class Desc {
        final TreeMap<Integer, int[]> chunks = new TreeMap<>();

        Desc c(int chunk, int... ranges) {
            if (ranges.length % 2 != 0) {
                throw new IllegalArgumentException("ranges come in (index, length) pairs");
            }
            chunks.put(chunk, ranges);
            return this;
        }
    }

    static Desc desc() {
        return new Desc();
    }

    /** A 512-bit bitmap with the given (index, length) ranges set. */
    static long[] bits(int... ranges) {
        long[] b = new long[PallocBits.WORDS];
        for (int k = 0; k < ranges.length; k += 2) {
            if (ranges[k + 1] > 0) {
                PallocBits.setRange(b, 0, ranges[k], ranges[k + 1]);
            }
        }
        return b;
    }

    static long[] inverted(long[] b) {
        long[] out = new long[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = ~b[i];
        }
        return out;
    }

    static long pageBase(int chunk, int page) {
        return BASE + (long) chunk * PageAllocator.CHUNK_BYTES + (long) page * PAGE;
    }

    /**
     * Like Go's NewPageAlloc: grows every chunk of {@code alloc}, clears the scavenged bits, sets
     * those of {@code scav} (may be null), then marks the alloc ranges in use (which drops their
     * scavenged bits).
     */
    static PageAllocator newPageAlloc(Desc alloc, Desc scav) {
        PageAllocator pa = new PageAllocator(BASE, LIMIT);
        locked(pa, () -> {
            for (Map.Entry<Integer, int[]> e : alloc.chunks.entrySet()) {
                pa.grow(pageBase(e.getKey(), 0), PageAllocator.CHUNK_BYTES);
            }
            for (Map.Entry<Integer, int[]> e : alloc.chunks.entrySet()) {
                int[] s = scav == null ? null : scav.chunks.get(e.getKey());
                pa.setChunkBits(e.getKey(), bits(e.getValue()), s == null ? new long[PallocBits.WORDS] : bits(s));
            }
            return null;
        });
        pa.verify();
        return pa;
    }

    static <T> T locked(PageAllocator pa, Supplier<T> body) {
        pa.lock().lock();
        try {
            return body.get();
        } finally {
            pa.lock().unlock();
        }
    }

    static void locked(PageAllocator pa, Runnable body) {
        pa.lock().lock();
        try {
            body.run();
        } finally {
            pa.lock().unlock();
        }
    }

    /** Both allocators have the same grown chunks with identical alloc and scavenged bitmaps. */
    static void assertSameBitmaps(PageAllocator want, PageAllocator got) {
        locked(got, () -> locked(want, () -> {
            assertEquals(render(want.grownRanges()), render(got.grownRanges()), "grown ranges");
            for (long[] r : want.grownRanges()) {
                for (long a = r[0]; a < r[1]; a += PageAllocator.CHUNK_BYTES) {
                    int c = (int) ((a - want.base()) / PageAllocator.CHUNK_BYTES);
                    assertArrayEquals(want.allocBits(c), got.allocBits(c), () -> "alloc bits of chunk " + c
                            + "\n want " + hex(want.allocBits(c)) + "\n  got " + hex(got.allocBits(c)));
                    assertArrayEquals(want.scavengedBits(c), got.scavengedBits(c), () -> "scavenged bits of chunk " + c
                            + "\n want " + hex(want.scavengedBits(c)) + "\n  got " + hex(got.scavengedBits(c)));
                }
            }
        }));
    }

    static String render(java.util.List<long[]> ranges) {
        StringBuilder sb = new StringBuilder();
        for (long[] r : ranges) {
            sb.append(String.format("[0x%x, 0x%x) ", r[0], r[1]));
        }
        return sb.toString();
    }

    static String hex(long[] words) {
        StringBuilder sb = new StringBuilder();
        for (int i = words.length - 1; i >= 0; i--) {
            sb.append(String.format("%016x ", words[i]));
        }
        return sb.toString();
    }

    static void assertThrowsWithValue(Class<? extends Throwable> type, String value, Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            if (!type.isInstance(t)) {
                fail("expected " + type.getSimpleName() + " but got " + t, t);
            }
            if (t.getMessage() == null || !t.getMessage().contains(value)) {
                fail("message of " + t + " does not name " + value);
            }
            return;
        }
        fail("expected " + type.getSimpleName() + " naming " + value);
    }
}
