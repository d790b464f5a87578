package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The failure message format and errno texts. */
class OsMemoryExceptionTest {

    @Test
    void messageNamesCallArgumentsErrnoAndItsText() {
        OsMemoryException e = new OsMemoryException("madvise", "0x7f0000000000, 65536, MADV_DONTNEED", 22);
        assertEquals("madvise(0x7f0000000000, 65536, MADV_DONTNEED) failed: errno 22 (Invalid argument)",
                e.getMessage());
        assertEquals("madvise", e.call());
        assertEquals(22, e.errno());
    }

    @Test
    void errnoOutsideTheTableIsStillReported() {
        OsMemoryException e = new OsMemoryException("munmap", "0x1000, 4096", 133);
        assertEquals("munmap(0x1000, 4096) failed: errno 133 (unknown error)", e.getMessage());
    }

    @Test
    void commonErrnosHaveGlibcTexts() {
        assertEquals("Cannot allocate memory", Errno.describe(12));
        assertEquals("Resource temporarily unavailable", Errno.describe(11));
        assertEquals("Operation not permitted", Errno.describe(1));
    }

    @Test
    void nullCallIsRejected() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> new OsMemoryException(null, "", 1));
        assertEquals("call", e.getMessage());
    }
}
