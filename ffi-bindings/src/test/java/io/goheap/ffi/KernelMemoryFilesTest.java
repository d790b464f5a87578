package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parsing of smaps_rollup and hpage_pmd_size on fixed text. */
class KernelMemoryFilesTest {

    private static final String ROLLUP = """
            558f191eb000-7ffd1c091000 ---p 00000000 00:00 0                          [rollup]
            Rss:                1612 kB
            Pss:                 470 kB
            Anonymous:           112 kB
            LazyFree:             64 kB
            AnonHugePages:         0 kB
            Swap:                  0 kB
            """;

    @Test
    void smapsRollupFieldsAreConvertedFromKilobytesToBytes() {
        assertEquals(new ProcessMemory(1612 * 1024, 112 * 1024, 64 * 1024), KernelMemoryFiles.parseSmapsRollup(ROLLUP));
    }

    @Test
    void missingLazyFreeCountsAsZero() {
        String older = ROLLUP.replace("LazyFree:             64 kB\n", "");
        assertEquals(new ProcessMemory(1612 * 1024, 112 * 1024, 0), KernelMemoryFiles.parseSmapsRollup(older));
    }

    @Test
    void missingRssOrMalformedValuesAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> KernelMemoryFiles.parseSmapsRollup(ROLLUP.replace("Rss:", "Xss:")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelMemoryFiles.parseSmapsRollup(ROLLUP.replace("112 kB", "lots kB")));
        assertTrue(e.getMessage().contains("Anonymous:           lots kB"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> KernelMemoryFiles.parseSmapsRollup(ROLLUP.replace("1612 kB", "1612 MB")));
    }

    @Test
    void theLiveFileParses() {
        ProcessMemory memory = KernelMemoryFiles.readProcessMemory();
        assertTrue(memory.rss() > 0 && memory.anonymous() > 0, memory.toString());
    }

    @Test
    void hugePageSizeIsAPowerOfTwoOrZero() {
        assertEquals(2L << 20, KernelMemoryFiles.parseHugePageSize("2097152\n"));
        assertEquals(1L << 30, KernelMemoryFiles.parseHugePageSize("1073741824"));
        assertEquals(0, KernelMemoryFiles.parseHugePageSize("3000000"));
        assertEquals(0, KernelMemoryFiles.parseHugePageSize("0"));
        assertEquals(0, KernelMemoryFiles.parseHugePageSize("-2097152"));
        assertEquals(0, KernelMemoryFiles.parseHugePageSize("two megabytes"));
        assertEquals(0, KernelMemoryFiles.parseHugePageSize(""));
    }

    @Test
    void missingHugePageFileMeansZero(@TempDir Path dir) throws IOException {
        assertEquals(0, KernelMemoryFiles.readHugePageSize(dir.resolve("hpage_pmd_size")));
        Path present = Files.writeString(dir.resolve("present"), "2097152\n");
        assertEquals(2L << 20, KernelMemoryFiles.readHugePageSize(present));
    }
}
