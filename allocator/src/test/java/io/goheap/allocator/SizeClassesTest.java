package io.goheap.allocator;

import static io.goheap.allocator.SizeClasses.*;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SizeClassesTest {

    private static final String CSV_RESOURCE = "sizeclasses.csv";

    /** Class sizes from the reference digest §2. */
    private static final long[] DIGEST_SIZES = {
        0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
        320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048,
        2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880,
        12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
    };

    private static byte[] resourceCsv() throws IOException {
        try (InputStream in = SizeClassesTest.class.getResourceAsStream(CSV_RESOURCE)) {
            assertNotNull(in, "test resource " + CSV_RESOURCE + " missing");
            return in.readAllBytes();
        }
    }

    // ---------------------------------------------------------------- table output

    @Test
    void writeCsvEqualsReferenceByteForByte() throws IOException {
        StringBuilder sb = new StringBuilder();
        writeCsv(sb);
        byte[] expected = resourceCsv();
        byte[] actual = sb.toString().getBytes(StandardCharsets.US_ASCII);
        assertEquals(new String(expected, StandardCharsets.US_ASCII), sb.toString());
        assertArrayEquals(expected, actual);
        assertEquals(sb.toString(), csv());
    }

    /**
     * The CSV resource (a copy of Go's generated table, kept in the repository) agrees with the class sizes of the
     * reference digest, so a damaged copy cannot make {@link #writeCsvEqualsReferenceByteForByte} pass.
     */
    @Test
    void resourceSizesEqualDigestSizes() throws IOException {
        String[] lines = new String(resourceCsv(), StandardCharsets.US_ASCII).split("\n");
        assertEquals("class,bytes_per_obj,bytes_per_span,objects,tail_waste,max_waste", lines[0]);
        assertEquals(DIGEST_SIZES.length + 1, lines.length, "one header line and one line per class");
        for (int c = 0; c < DIGEST_SIZES.length; c++) {
            String[] cells = lines[c + 1].split(",");
            assertEquals(c, Integer.parseInt(cells[0]), "line " + (c + 2));
            assertEquals(DIGEST_SIZES[c], Long.parseLong(cells[1]), "class " + c);
        }
    }

    @Test
    void writeCsvWrapsIoFailures() {
        Appendable failing = new Appendable() {
            @Override public Appendable append(CharSequence csq) throws IOException { throw new IOException("x"); }
            @Override public Appendable append(CharSequence csq, int s, int e) throws IOException { throw new IOException("x"); }
            @Override public Appendable append(char ch) throws IOException { throw new IOException("x"); }
        };
        assertThrows(java.io.UncheckedIOException.class, () -> writeCsv(failing));
    }

    // ---------------------------------------------------------------- constants and table shape

    @Test
    void constants() {
        assertEquals(68, NUM_SIZE_CLASSES);
        assertEquals(32768, MAX_SMALL_SIZE);
        assertEquals(8, SMALL_SIZE_DIV);
        assertEquals(1024, SMALL_SIZE_MAX);
        assertEquals(128, LARGE_SIZE_DIV);
        assertEquals(13, PAGE_SHIFT);
        assertEquals(8192, PAGE_SIZE);
        assertEquals(16, TINY_SIZE);
        assertEquals(2, TINY_SIZE_CLASS);
        assertEquals(5, TINY_SPAN_CLASS);
        assertEquals(136, NUM_SPAN_CLASSES);
        assertEquals(8, MALLOC_HEADER_SIZE);
        assertEquals(512, MIN_SIZE_FOR_MALLOC_HEADER);
        assertEquals(32760, MAX_SMALL_ALLOC);
        assertEquals(1024, MAX_OBJS_PER_SPAN);
        assertEquals(TINY_SIZE, classSize(TINY_SIZE_CLASS));
    }

    @Test
    void notInstantiable() throws ReflectiveOperationException {
        assertTrue(Modifier.isFinal(SizeClasses.class.getModifiers()));
        Constructor<?>[] ctors = SizeClasses.class.getDeclaredConstructors();
        assertEquals(1, ctors.length);
        assertTrue(Modifier.isPrivate(ctors[0].getModifiers()));
        ctors[0].setAccessible(true);
        assertThrows(InvocationTargetException.class, ctors[0]::newInstance);
    }

    @Test
    void classSizesMatchDigest() {
        for (int c = 0; c < NUM_SIZE_CLASSES; c++) {
            assertEquals(DIGEST_SIZES[c], classSize(c), "class " + c);
        }
    }

    @Test
    void classPagesMatchDigest() {
        Map<Integer, Integer> multiPage = Map.ofEntries(
                Map.entry(35, 2), Map.entry(36, 1), Map.entry(37, 2), Map.entry(38, 1), Map.entry(39, 2),
                Map.entry(40, 1), Map.entry(41, 3), Map.entry(42, 2), Map.entry(43, 3), Map.entry(44, 1),
                Map.entry(45, 3), Map.entry(46, 2), Map.entry(47, 3), Map.entry(48, 4), Map.entry(49, 5),
                Map.entry(50, 6), Map.entry(51, 1), Map.entry(52, 7), Map.entry(53, 6), Map.entry(54, 5),
                Map.entry(55, 4), Map.entry(56, 3), Map.entry(57, 5), Map.entry(58, 7), Map.entry(59, 2),
                Map.entry(60, 9), Map.entry(61, 7), Map.entry(62, 5), Map.entry(63, 8), Map.entry(64, 3),
                Map.entry(65, 10), Map.entry(66, 7), Map.entry(67, 4));
        assertEquals(0, classPages(0));
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            int expected = c <= 34 ? 1 : multiPage.get(c);
            assertEquals(expected, classPages(c), "class " + c);
            assertEquals((long) expected * PAGE_SIZE, classSpanBytes(c));
        }
    }

    @Test
    void generatorReproducesTable() {
        int[][] generated = SizeClasses.generate();
        assertEquals(NUM_SIZE_CLASSES, generated[0].length);
        for (int c = 0; c < NUM_SIZE_CLASSES; c++) {
            assertEquals(classSize(c), generated[0][c], "size of class " + c);
            assertEquals(classPages(c), generated[1][c], "pages of class " + c);
        }
    }

    @Test
    void spanGeometry() {
        assertEquals(0, classObjects(0));
        assertEquals(0, tailWaste(0));
        assertEquals(0.0, maxWaste(0));
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            long span = classSpanBytes(c);
            assertEquals(span / classSize(c), classObjects(c), "objects of class " + c);
            assertEquals(span % classSize(c), tailWaste(c), "tail waste of class " + c);
            assertTrue(tailWaste(c) <= span / 8, "tail waste of class " + c);
            assertTrue(classObjects(c) <= MAX_OBJS_PER_SPAN);
            assertTrue(classSize(c) > classSize(c - 1));
            if (classSize(c) <= 1280) {
                assertEquals(1, classPages(c), "small classes use one page: " + c);
            }
        }
        assertEquals(87.5, maxWaste(1));
        assertEquals(100 * (4095.0 / 32768), maxWaste(67)); // 12.4969..., printed as 12.50%
    }

    // ---------------------------------------------------------------- size -> class

    @Test
    void sizeToClassIsSmallestFittingClassForEverySize() {
        int c = 1;
        for (int size = 1; size <= MAX_SMALL_SIZE; size++) {
            while (classSize(c) < size) {
                c++;
            }
            assertEquals(c, sizeToClass(size), "size " + size);
            assertEquals(c, sizeToClassChecked(size), "size " + size);
        }
        assertEquals(0, sizeToClass(0));
        assertEquals(1, sizeToClass(8));
        assertEquals(2, sizeToClass(9));
        assertEquals(32, sizeToClass(1016 + 1));
        assertEquals(33, sizeToClass(1025));
        assertEquals(67, sizeToClass(32768));
    }

    @Test
    void sizeToClassCheckedRejectsOutOfDomain() {
        assertThrows(IllegalArgumentException.class, () -> sizeToClassChecked(0));
        assertThrows(IllegalArgumentException.class, () -> sizeToClassChecked(-1));
        assertThrows(IllegalArgumentException.class, () -> sizeToClassChecked(MAX_SMALL_SIZE + 1));
        assertThrows(IllegalArgumentException.class, () -> sizeToClassChecked(Long.MAX_VALUE));
    }

    @Test
    void smallLargeBoundaryIs32760() {
        assertTrue(isSmall(1));
        assertTrue(isSmall(32760));
        assertFalse(isSmall(32761));
        assertFalse(isSmall(32768));
        assertFalse(isSmall(32769));
        assertEquals(0, mallocHeaderBytes(512, false));
        assertEquals(8, mallocHeaderBytes(513, false));
        assertEquals(0, mallocHeaderBytes(513, true));
        assertTrue(heapBitsInSpan(512));
        assertFalse(heapBitsInSpan(576));
        assertEquals(27, smallAllocClass(520, false)); // 528 -> 576
        assertEquals(27, smallAllocClass(520, true));  // 520 -> 576
        assertEquals(67, smallAllocClass(32760, false));
        assertEquals(67, smallAllocClass(32760, true));
        assertEquals(67, smallAllocClass(28665, false)); // 28673 > 28672
        assertEquals(66, smallAllocClass(28665, true));
    }

    // ---------------------------------------------------------------- roundupsize

    @Test
    void roundUpSizeCases() {
        assertEquals(568, roundUpSize(520, false)); // 520 + 8 = 528 -> 576, minus the header
        assertEquals(576, roundUpSize(520, true));
        assertEquals(8, roundUpSize(5, true));       // append([]byte(nil), "hello"...) -> cap 8
        assertEquals(8, roundUpSize(5, false));
        assertEquals(80, roundUpSize(80, true));     // []int cap 10 = 80 B is an exact class
        assertEquals(0, roundUpSize(0, true));
        assertEquals(0, roundUpSize(0, false));
        assertEquals(512, roundUpSize(512, false));  // no header at exactly 512
        assertEquals(568, roundUpSize(513, false));
        assertEquals(1024, roundUpSize(1017, true));
        assertEquals(1152, roundUpSize(1025, true));
        assertEquals(1016, roundUpSize(1016, false)); // 1024 class minus header
        assertEquals(32760, roundUpSize(32760, false));
        assertEquals(32768, roundUpSize(32760, true));
        assertEquals(32768, roundUpSize(32761, true)); // large: 4 pages, a page multiple
        assertEquals(32768, roundUpSize(32761, false));
        assertEquals(32768, roundUpSize(32768, true)); // large object, 4 pages
        assertEquals(40960, roundUpSize(32769, false));
        assertEquals(81920, roundUpSize(81920, true));
        assertEquals(Long.MAX_VALUE, roundUpSize(Long.MAX_VALUE, true)); // overflow: unchanged
    }

    @Test
    void roundUpSizeIsClassSizeMinusHeaderForEverySmallSize() {
        for (int size = 1; size <= MAX_SMALL_ALLOC; size++) {
            for (boolean noscan : new boolean[] {false, true}) {
                int header = mallocHeaderBytes(size, noscan);
                long usable = roundUpSize(size, noscan);
                assertTrue(usable >= size);
                assertEquals(classSize(sizeToClass(size + header)) - header, usable, "size " + size);
            }
        }
    }

    // ---------------------------------------------------------------- object index via divMagic

    @Test
    void divMagicValues() {
        assertEquals(0, classDivMagic(0));
        assertEquals(1L << 29, classDivMagic(1));
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            assertEquals(0xFFFF_FFFFL / classSize(c) + 1, classDivMagic(c));
            assertTrue(classDivMagic(c) <= 0xFFFF_FFFFL);
        }
    }

    @Test
    void objectIndexIsExactForEveryOffsetOfEverySpan() {
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            long size = classSize(c);
            long span = classSpanBytes(c);
            for (long off = 0; off <= span; off++) {
                if (objectIndex(c, off) != off / size) {
                    fail("class " + c + " offset " + off + ": " + objectIndex(c, off) + " != " + off / size);
                }
            }
        }
        for (long off = 0; off <= 1 << 20; off += 4096) {
            assertEquals(0, objectIndex(0, off), "large spans hold one object");
        }
    }

    // ---------------------------------------------------------------- scan spans

    @Test
    void scanObjectCountsMatchDigest() {
        Map<Long, Integer> expected = Map.ofEntries(
                Map.entry(8L, 1008), Map.entry(16L, 504), Map.entry(24L, 336), Map.entry(32L, 252),
                Map.entry(48L, 168), Map.entry(64L, 126), Map.entry(80L, 100), Map.entry(96L, 84),
                Map.entry(112L, 72), Map.entry(128L, 63), Map.entry(144L, 56), Map.entry(160L, 50),
                Map.entry(176L, 45), Map.entry(192L, 42), Map.entry(208L, 38), Map.entry(224L, 36),
                Map.entry(240L, 33), Map.entry(256L, 31), Map.entry(288L, 28), Map.entry(320L, 25),
                Map.entry(352L, 22), Map.entry(384L, 21), Map.entry(416L, 19), Map.entry(448L, 18),
                Map.entry(480L, 16), Map.entry(512L, 15));
        assertEquals(0, scanObjects(0));
        for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
            Integer want = expected.get(classSize(c));
            if (want != null) {
                assertEquals(want, scanObjects(c), "scan objects of " + classSize(c) + " B");
            } else {
                assertEquals(classObjects(c), scanObjects(c), "class " + c + " has a malloc header, no span bits");
            }
            assertEquals(scanObjects(c), spanObjects(spanClass(c, false)));
            assertEquals(classObjects(c), spanObjects(spanClass(c, true)));
        }
        assertEquals(26, expected.size());
    }

    // ---------------------------------------------------------------- span classes

    @Test
    void spanClassRoundTrips() {
        boolean[] seen = new boolean[NUM_SPAN_CLASSES];
        for (int c = 0; c < NUM_SIZE_CLASSES; c++) {
            for (boolean noscan : new boolean[] {false, true}) {
                int spc = spanClass(c, noscan);
                assertTrue(spc >= 0 && spc < NUM_SPAN_CLASSES);
                assertFalse(seen[spc]);
                seen[spc] = true;
                assertEquals(c, sizeClassOf(spc));
                assertEquals(noscan, isNoscan(spc));
            }
        }
        assertEquals(TINY_SPAN_CLASS, spanClass(TINY_SIZE_CLASS, true));
        assertEquals(0, spanClass(0, false));
        assertEquals(1, spanClass(0, true));
        assertEquals(135, spanClass(67, true));
    }
}
