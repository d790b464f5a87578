package io.goheap.ffi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the kernel's memory numbers from procfs and sysfs: the process's {@link ProcessMemory} from
 * {@code /proc/self/smaps_rollup} and the transparent huge page size.
 *
 * <p>Stateless and thread-safe; every call reads the file afresh. The parsers are separate from the reads so
 * they can be tested on fixed text.
 */
final class KernelMemoryFiles {

    static final Path SMAPS_ROLLUP = Path.of("/proc/self/smaps_rollup");
    static final Path HUGE_PAGE_SIZE = Path.of("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");

    private KernelMemoryFiles() {
    }

    /**
     * The current process's memory.
     *
     * @throws UncheckedIOException when {@code /proc/self/smaps_rollup} cannot be read (kernels before 4.14 lack it)
     */
    static ProcessMemory readProcessMemory() {
        try {
            // procfs reports size 0; readAllBytes reads to EOF regardless.
            return parseSmapsRollup(new String(Files.readAllBytes(SMAPS_ROLLUP), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + SMAPS_ROLLUP + " (needs Linux 4.14+)", e);
        }
    }

    /**
     * Parses smaps_rollup text. {@code Rss} and {@code Anonymous} must be present; {@code LazyFree} counts as 0
     * when absent. Values are in kB in the file and in bytes in the result.
     *
     * @throws IllegalArgumentException when a required field is missing or a value is not a {@code <n> kB} number
     */
    static ProcessMemory parseSmapsRollup(String text) {
        long rss = -1;
        long anonymous = -1;
        long lazyFree = 0;
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon);
            switch (key) {
                case "Rss" -> rss = kilobytesToBytes(line, colon);
                case "Anonymous" -> anonymous = kilobytesToBytes(line, colon);
                case "LazyFree" -> lazyFree = kilobytesToBytes(line, colon);
                default -> {
                    // other fields (Pss, Swap, ...) are not reported
                }
            }
        }
        if (rss < 0 || anonymous < 0) {
            throw new IllegalArgumentException("smaps_rollup text lacks Rss or Anonymous: " + text);
        }
        return new ProcessMemory(rss, anonymous, lazyFree);
    }

    private static long kilobytesToBytes(String line, int colon) {
        String value = line.substring(colon + 1).trim();
        if (!value.endsWith(" kB")) {
            throw new IllegalArgumentException("smaps_rollup line is not '<name>: <n> kB': " + line);
        }
        try {
            return Math.multiplyExact(Long.parseLong(value.substring(0, value.length() - 3).trim()), 1024L);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("smaps_rollup line has no valid kB count: " + line, e);
        }
    }

    /** The transparent huge page size in bytes, or 0 when the file is missing or does not hold a power of two. */
    static long readHugePageSize(Path file) {
        try {
            return parseHugePageSize(Files.readString(file, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return 0; // missing (no THP support) or unreadable (a container masking /sys): unknown
        }
    }

    /** {@code hpage_pmd_size} text to bytes: 0 unless it is one positive power of two. */
    static long parseHugePageSize(String text) {
        try {
            long size = Long.parseLong(text.trim());
            return size > 0 && Long.bitCount(size) == 1 ? size : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
