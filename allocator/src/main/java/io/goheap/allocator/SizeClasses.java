/*
 * Go's small-object size classes (linux/amd64, Go 1.22-1.24 semantics).
 * Design and table from the Go runtime (BSD-3-Clause, The Go Authors): sizeclasses.go, mksizeclasses.go,
 * msize.go. Independent Java re-implementation; no Go code or comments are reproduced.
 *
 * Invariants (all verified once, at class initialisation; any violation fails class init):
 *  - 68 size classes. Class 0 is the "large object" class (own span); its size, pages, objects, tail
 *    waste and divMagic are all 0. Classes 1..67 are strictly increasing, class 1 = 8 B, class 67 = 32768 B.
 *  - The table is recomputed by Go's generator algorithm and must equal the embedded literal sizes and
 *    page counts exactly.
 *  - Class sizes <= 1024 are multiples of 8 and larger ones multiples of 128, so the two lookup tables
 *    (8-byte buckets up to 1024, 128-byte buckets above) give the exact smallest fitting class.
 *  - Every span wastes at most 1/8 of its bytes at the tail; no span holds more than 1024 objects; every
 *    class of at most 512 B uses a one-page span (the scan-span heap bitmap relies on it).
 *  - divMagic = floor((2^32 - 1) / size) + 1 and, for every offset 0 <= n <= spanBytes,
 *    (n * divMagic) >>> 32 == n / size (proved per class by the bound (divMagic*size - 2^32)*spanBytes < 2^32).
 */
package io.goheap.allocator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Arrays;

/**
 * Go's 68 small-object size classes, their spans and the size-to-class lookup (Go's {@code sizeclasses.go}
 * and {@code msize.go}).
 *
 * <p><b>Table source.</b> The table is <em>computed</em> at class initialisation with Go's generator
 * algorithm ({@code mksizeclasses.go}: candidate sizes stepping by an alignment that grows at powers of
 * two, the smallest page count whose tail waste is at most 1/8 of the span, merging neighbours that have
 * the same page count and objects per span, then growing each class to {@code (spanBytes / objects)}
 * rounded down to a multiple of 128). The result is checked against the sizes and page counts embedded
 * here as literals; a mismatch fails class initialisation. This proves the algorithm is understood while
 * the literal keeps the data reviewable.
 *
 * <p><b>Small versus large.</b> Go 1.22+ ({@code mallocgc}, {@code roundupsize}) sends every request
 * larger than {@link #MAX_SMALL_ALLOC} = 32760 bytes ({@code _MaxSmallSize - mallocHeaderSize}) to the
 * large path, <em>whether or not</em> the object contains pointers. A scan object of more than 512 bytes
 * carries an 8-byte malloc header inside its slot, so 32760 is the largest scan request that still fits
 * the 32768-byte class; Go applies the same cut-off to noscan requests, so 32761..32768-byte requests get
 * their own 4-page span (class 0) even though class 67 is 32768 bytes. {@link #isSmall(long)} encodes this.
 * Class 67 (32768 B) is thus reached by noscan requests of 28673..32760 bytes and by scan requests of
 * 28665..32760 bytes (plus their 8-byte header).
 *
 * <p><b>Hot path.</b> {@link #sizeToClass(long)}, {@link #classSize(int)}, {@link #objectIndex(int, long)},
 * {@link #spanClass(int, boolean)} and friends allocate nothing, do no validation and are at most one
 * predictable branch; arguments outside their documented domain give unspecified results (usually an
 * {@link ArrayIndexOutOfBoundsException}). Use the {@code ...Checked} variant when validating input.
 *
 * <p>Thread-safety: immutable after class initialisation; all methods are pure.
 */
public final class SizeClasses {

    /** Number of size classes, class 0 (large objects) included. */
    public static final int NUM_SIZE_CLASSES = 68;
    /** Size of the largest small size class (class 67). */
    public static final int MAX_SMALL_SIZE = 32768;
    /** Granularity of the size-to-class table for sizes up to {@link #SMALL_SIZE_MAX}. */
    public static final int SMALL_SIZE_DIV = 8;
    /** Upper bound of the 8-byte-granular lookup table. */
    public static final int SMALL_SIZE_MAX = 1024;
    /** Granularity of the size-to-class table above {@link #SMALL_SIZE_MAX}. */
    public static final int LARGE_SIZE_DIV = 128;
    /** log2 of the runtime page size. */
    public static final int PAGE_SHIFT = 13;
    /** Runtime page size (not the OS page size). */
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** Tiny-allocator block size: noscan requests below this size are packed into 16-byte blocks. */
    public static final int TINY_SIZE = 16;
    /** Size class of the tiny-allocator blocks (16 bytes). */
    public static final int TINY_SIZE_CLASS = 2;
    /** Span class of the tiny-allocator blocks: {@code TINY_SIZE_CLASS << 1 | 1} (noscan). */
    public static final int TINY_SPAN_CLASS = (TINY_SIZE_CLASS << 1) | 1;
    /** Number of span classes: every size class in a scan and a noscan flavour. */
    public static final int NUM_SPAN_CLASSES = NUM_SIZE_CLASSES << 1;
    /** Bytes of the per-object type header carried by scan objects larger than 512 bytes. */
    public static final int MALLOC_HEADER_SIZE = 8;
    /** Scan objects strictly larger than this carry a malloc header; smaller ones use in-span heap bits. */
    public static final int MIN_SIZE_FOR_MALLOC_HEADER = 512;
    /**
     * Largest request (before any header) served by a small size class: 32760 =
     * {@link #MAX_SMALL_SIZE} - {@link #MALLOC_HEADER_SIZE}, for scan and noscan objects alike
     * (Go 1.22+). Larger requests, including 32761..32768, are large objects.
     */
    public static final int MAX_SMALL_ALLOC = MAX_SMALL_SIZE - MALLOC_HEADER_SIZE;
    /** Most objects any span holds (class 1, noscan: 8192 / 8). */
    public static final int MAX_OBJS_PER_SPAN = PAGE_SIZE / 8;

    /** Expected bytes per object, class 0..67 (Go 1.22-1.24 table). */
    private static final int[] LITERAL_SIZES = {
        0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
        320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048,
        2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880,
        12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
    };

    /** Expected pages per span, class 0..67. */
    private static final int[] LITERAL_PAGES = {
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1,
        2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5,
        4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
    };

    private static final int[] classToSize;
    private static final int[] classToPages;
    private static final int[] classToObjects;
    private static final int[] classToScanObjects;
    /** Unsigned 32-bit multipliers held in longs, so {@code (offset * magic) >>> 32} is a plain long multiply. */
    private static final long[] classToDivMagic;
    /** {@code sizeToClass8[i]} = smallest class with size >= 8*i, i = 0..128 (index 0 gives class 0). */
    private static final byte[] sizeToClass8;
    /** {@code sizeToClass128[j]} = smallest class with size >= 1024 + 128*j, j = 0..248. */
    private static final byte[] sizeToClass128;

    static {
        int[][] generated = generate();
        int[] sizes = generated[0];
        int[] pages = generated[1];
        if (!Arrays.equals(sizes, LITERAL_SIZES) || !Arrays.equals(pages, LITERAL_PAGES)) {
            throw new IllegalStateException("size-class generator disagrees with the embedded Go table: sizes="
                    + Arrays.toString(sizes) + " pages=" + Arrays.toString(pages));
        }
        classToSize = sizes;
        classToPages = pages;
        classToObjects = new int[NUM_SIZE_CLASSES];
        classToScanObjects = new int[NUM_SIZE_CLASSES];
        classToDivMagic = new long[NUM_SIZE_CLASSES];
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            int size = sizes[c];
            int spanBytes = pages[c] * PAGE_SIZE;
            classToObjects[c] = spanBytes / size;
            // Scan spans of <= 512-byte objects keep one pointer bit per word in the last spanBytes/64 bytes.
            classToScanObjects[c] = size <= MIN_SIZE_FOR_MALLOC_HEADER
                    ? (spanBytes - spanBytes / 64) / size
                    : classToObjects[c];
            classToDivMagic[c] = 0xFFFF_FFFFL / size + 1;
        }
        sizeToClass8 = new byte[SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1];
        int c = 0;
        for (int i = 0; i < sizeToClass8.length; i++) {
            while (sizes[c] < i * SMALL_SIZE_DIV) {
                c++;
            }
            sizeToClass8[i] = (byte) c;
        }
        sizeToClass128 = new byte[(MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1];
        c = 0;
        for (int j = 0; j < sizeToClass128.length; j++) {
            while (sizes[c] < SMALL_SIZE_MAX + j * LARGE_SIZE_DIV) {
                c++;
            }
            sizeToClass128[j] = (byte) c;
        }
        verifyInvariants();
    }

    private SizeClasses() {
        throw new AssertionError("no instances");
    }

    /**
     * Runs Go's size-class generator ({@code mksizeclasses.go}) and returns {@code {sizes, pages}}, each
     * of length {@link #NUM_SIZE_CLASSES} with class 0 all zeros. Throws if the class count is not 68.
     */
    static int[][] generate() {
        int[] sizes = new int[MAX_SMALL_SIZE / SMALL_SIZE_DIV + 1];
        int[] pages = new int[sizes.length];
        int n = 1; // class 0: large objects, size 0
        int step = SMALL_SIZE_DIV;
        for (int size = step; size <= MAX_SMALL_SIZE; size += step) {
            if (Integer.bitCount(size) == 1) {
                // Coarser steps from each power of two on: 16 from 32, size/8 from 128, 256 from 2048.
                if (size >= 2048) {
                    step = 256;
                } else if (size >= 128) {
                    step = size / 8;
                } else if (size >= 32) {
                    step = 16;
                }
            }
            // Fewest pages such that the unusable tail is at most 12.5 % of the span.
            int spanBytes = PAGE_SIZE;
            while (spanBytes % size > spanBytes / 8) {
                spanBytes += PAGE_SIZE;
            }
            int npages = spanBytes / PAGE_SIZE;
            // Same span and same object count as the class before: widen that class instead of adding one.
            if (n > 1 && npages == pages[n - 1] && spanBytes / size == spanBytes / sizes[n - 1]) {
                sizes[n - 1] = size;
                continue;
            }
            sizes[n] = size;
            pages[n] = npages;
            n++;
        }
        // Give each class the largest 128-aligned size that keeps its objects-per-span (e.g. 8448 -> 9472).
        for (int c = 1; c < n; c++) {
            int spanBytes = pages[c] * PAGE_SIZE;
            int grown = (spanBytes / (spanBytes / sizes[c])) & -LARGE_SIZE_DIV;
            if (grown > sizes[c]) {
                sizes[c] = grown;
            }
        }
        if (n != NUM_SIZE_CLASSES) {
            throw new IllegalStateException("size-class generator produced " + n + " classes, expected "
                    + NUM_SIZE_CLASSES);
        }
        return new int[][] {Arrays.copyOf(sizes, n), Arrays.copyOf(pages, n)};
    }

    private static void verifyInvariants() {
        check(classToSize[0] == 0 && classToPages[0] == 0, "class 0 must be the empty large class");
        check(classToSize[1] == SMALL_SIZE_DIV, "class 1 must be 8 bytes");
        check(classToSize[NUM_SIZE_CLASSES - 1] == MAX_SMALL_SIZE, "last class must be MAX_SMALL_SIZE");
        check(classToSize[TINY_SIZE_CLASS] == TINY_SIZE, "tiny class must be 16 bytes");
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            int size = classToSize[c];
            long spanBytes = (long) classToPages[c] * PAGE_SIZE;
            check(size > classToSize[c - 1], "sizes must increase strictly at class " + c);
            check(size % (size <= SMALL_SIZE_MAX ? SMALL_SIZE_DIV : LARGE_SIZE_DIV) == 0,
                    "size not aligned to its lookup granularity at class " + c);
            check(classToObjects[c] >= 1 && classToObjects[c] <= MAX_OBJS_PER_SPAN, "object count at class " + c);
            check(spanBytes % size <= spanBytes / 8, "tail waste above 12.5% at class " + c);
            check(size > MIN_SIZE_FOR_MALLOC_HEADER || classToPages[c] == 1,
                    "classes <= 512 B must use one-page spans (class " + c + ")");
            long err = classToDivMagic[c] * size - (1L << 32); // 0 <= err < size
            check(err >= 0 && err < size && err * spanBytes < (1L << 32), "divMagic inexact at class " + c);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("size-class invariant violated: " + what);
        }
    }

    // ---------------------------------------------------------------- size -> class

    /**
     * Size class for an object of {@code size} bytes (header already included). Hot path, unchecked.
     *
     * @param size 1..{@link #MAX_SMALL_SIZE}; 0 yields class 0; other values give unspecified results
     * @return the smallest class whose size is at least {@code size}
     */
    public static int sizeToClass(long size) {
        if (size <= SMALL_SIZE_MAX - SMALL_SIZE_DIV) {
            return sizeToClass8[(int) ((size + (SMALL_SIZE_DIV - 1)) >>> 3)];
        }
        return sizeToClass128[(int) ((size - SMALL_SIZE_MAX + (LARGE_SIZE_DIV - 1)) >>> 7)];
    }

    /**
     * {@link #sizeToClass(long)} with validation.
     *
     * @throws IllegalArgumentException unless {@code 1 <= size <= MAX_SMALL_SIZE}
     */
    public static int sizeToClassChecked(long size) {
        if (size < 1 || size > MAX_SMALL_SIZE) {
            throw new IllegalArgumentException("size " + size + " outside 1.." + MAX_SMALL_SIZE);
        }
        return sizeToClass(size);
    }

    /**
     * Whether a request of {@code size} bytes (as asked for, before any malloc header) is served by a small
     * size class: {@code size <= 32760} for scan and noscan objects alike (see the class comment). The
     * caller handles {@code size == 0} (zero-size allocations share one address) before asking.
     *
     * @param size a non-negative request size
     */
    public static boolean isSmall(long size) {
        return size <= MAX_SMALL_ALLOC;
    }

    /**
     * Malloc-header bytes a small request carries: 8 for a scan object of more than 512 bytes, else 0.
     *
     * @param size request size, 1..{@link #MAX_SMALL_ALLOC}
     */
    public static int mallocHeaderBytes(long size, boolean noscan) {
        return !noscan && size > MIN_SIZE_FOR_MALLOC_HEADER ? MALLOC_HEADER_SIZE : 0;
    }

    /**
     * Whether objects of this element size keep their pointer bitmap at the end of the span (scan classes
     * of at most 512 bytes) instead of a malloc header.
     */
    public static boolean heapBitsInSpan(long elemSize) {
        return elemSize <= MIN_SIZE_FOR_MALLOC_HEADER;
    }

    /**
     * Size class of a small request, header included ({@code mallocgc}'s small path; the tiny path for
     * noscan requests below 16 bytes is the caller's business).
     *
     * @param size request size, 1..{@link #MAX_SMALL_ALLOC}
     */
    public static int smallAllocClass(long size, boolean noscan) {
        return sizeToClass(size + mallocHeaderBytes(size, noscan));
    }

    /**
     * Usable bytes the allocator gives a request of {@code size} bytes (Go 1.22+ {@code roundupsize}):
     * small requests get their class size minus the malloc header if they carry one (520 scan: 576 - 8 =
     * 568); larger requests round up to a multiple of {@link #PAGE_SIZE} (returning {@code size} unchanged
     * if that overflows). {@code roundUpSize(0, x) == 0}.
     *
     * @param size a non-negative request size
     */
    public static long roundUpSize(long size, boolean noscan) {
        if (size <= MAX_SMALL_ALLOC) {
            int header = mallocHeaderBytes(size, noscan);
            return classToSize[sizeToClass(size + header)] - header;
        }
        long rounded = size + (PAGE_SIZE - 1);
        if (rounded < size) {
            return size;
        }
        return rounded & -(long) PAGE_SIZE;
    }

    // ---------------------------------------------------------------- per-class data

    /** Bytes per object of class {@code c} (0..67); 0 for class 0. */
    public static long classSize(int c) {
        return classToSize[c];
    }

    /** Pages per span of class {@code c} (0..67); 0 for class 0 (large spans are sized per object). */
    public static int classPages(int c) {
        return classToPages[c];
    }

    /** Bytes per span of class {@code c} (0..67): {@code classPages(c) * PAGE_SIZE}. */
    public static long classSpanBytes(int c) {
        return (long) classToPages[c] << PAGE_SHIFT;
    }

    /** Objects per noscan span of class {@code c} (0..67): span bytes / object size; 0 for class 0. */
    public static int classObjects(int c) {
        return classToObjects[c];
    }

    /**
     * Objects per scan span of class {@code c} (0..67). For object sizes of at most 512 bytes the last
     * 1/64 of the span holds the pointer bitmap, so {@code (spanBytes - spanBytes/64) / size} (8 B: 1008);
     * otherwise the same as {@link #classObjects(int)}.
     */
    public static int scanObjects(int c) {
        return classToScanObjects[c];
    }

    /** Object count of a span of span class {@code spc} (0..135): scan or noscan flavour of its size class. */
    public static int spanObjects(int spc) {
        return (spc & 1) != 0 ? classToObjects[spc >>> 1] : classToScanObjects[spc >>> 1];
    }

    /** Go's divMagic for class {@code c}: {@code floor((2^32-1)/size) + 1} as an unsigned 32-bit value; 0 for class 0. */
    public static long classDivMagic(int c) {
        return classToDivMagic[c];
    }

    /**
     * Index of the object containing byte {@code offsetInSpan} of a span of class {@code c}: exactly
     * {@code offsetInSpan / classSize(c)} for {@code 0 <= offsetInSpan <= classSpanBytes(c)}, by one
     * multiply and shift. Class 0 (large span) always yields 0.
     */
    public static long objectIndex(int c, long offsetInSpan) {
        return (offsetInSpan * classToDivMagic[c]) >>> 32;
    }

    /** Bytes at the end of a span of class {@code c} too small for one more object (0 for class 0). */
    public static long tailWaste(int c) {
        return classSpanBytes(c) - (long) classToObjects[c] * classToSize[c];
    }

    /**
     * Worst-case waste of class {@code c} in percent, as in the size-class table: every object is one byte
     * larger than the previous class, plus the tail waste, over the span size. 0 for class 0.
     */
    public static double maxWaste(int c) {
        if (c == 0) {
            return 0.0;
        }
        long wasted = (long) (classToSize[c] - classToSize[c - 1] - 1) * classToObjects[c] + tailWaste(c);
        double fraction = (double) wasted / (double) classSpanBytes(c);
        return 100 * fraction;
    }

    // ---------------------------------------------------------------- span classes

    /** Span class {@code sizeClass << 1 | noscan} (0..135). */
    public static int spanClass(int sizeClass, boolean noscan) {
        return (sizeClass << 1) | (noscan ? 1 : 0);
    }

    /** Size class of a span class. */
    public static int sizeClassOf(int spanClass) {
        return spanClass >>> 1;
    }

    /** Whether a span class holds pointer-free objects. */
    public static boolean isNoscan(int spanClass) {
        return (spanClass & 1) != 0;
    }

    // ---------------------------------------------------------------- table output

    /**
     * Writes the table as CSV: header {@code class,bytes_per_obj,bytes_per_span,objects,tail_waste,max_waste},
     * one row per class 0..67, max waste with two decimals (correctly rounded, ties to even, like Go's
     * {@code %.2f}) and a percent sign, each line ending in {@code '\n'}.
     *
     * @throws UncheckedIOException if {@code out} throws
     */
    public static void writeCsv(Appendable out) {
        try {
            out.append("class,bytes_per_obj,bytes_per_span,objects,tail_waste,max_waste\n");
            for (int c = 0; c < NUM_SIZE_CLASSES; c++) {
                out.append(Integer.toString(c)).append(',')
                        .append(Long.toString(classSize(c))).append(',')
                        .append(Long.toString(classSpanBytes(c))).append(',')
                        .append(Integer.toString(classObjects(c))).append(',')
                        .append(Long.toString(tailWaste(c))).append(',')
                        .append(new BigDecimal(maxWaste(c)).setScale(2, RoundingMode.HALF_EVEN).toPlainString())
                        .append("%\n");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The table as CSV text (see {@link #writeCsv(Appendable)}). */
    public static String csv() {
        StringBuilder sb = new StringBuilder(2048);
        writeCsv(sb);
        return sb.toString();
    }
}
