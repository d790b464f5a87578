package io.goheap.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LruCacheDemoTest {

    /** A short run with a small capacity, so that it evicts within the second: no mismatch, every object freed. */
    @Test
    void shortRunEvictsVerifiesAndFreesEverything() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int status = LruCacheDemo.run(new LruCacheDemo.Config(1, 2, 4L << 20, 200_000, 70, false), out);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        assertTrue(text.contains(" 0 mismatches"), text);
        assertTrue(text.contains("HeapInuse"), text);
        assertTrue(text.matches("(?s).*after freeing all .* objects 0\\s*"), text);
        assertTrue(!text.contains(" 0 evictions"), "expected evictions with a 4 MiB cache:\n" + text);
    }

    /**
     * The collected flavour: evicted values are only dropped; the collector reclaims them while the cache runs
     * (cycles start by themselves), every value read verifies, and after the table is dropped one gc() leaves no
     * object.
     */
    @Test
    void collectedValuesAreReclaimedByTheCollector() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int status = LruCacheDemo.run(new LruCacheDemo.Config(2, 2, 4L << 20, 200_000, 70, true), out);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        assertTrue(text.contains(" 0 mismatches"), text);
        assertTrue(!text.contains(" 0 evictions"), text);
        assertTrue(text.matches("(?s).*after dropping all .* objects 0\\s.*"), text);
        java.util.regex.Matcher cycles = java.util.regex.Pattern.compile("collections: (\\d+) \\((\\d+) forced\\)").matcher(text);
        assertTrue(cycles.find(), text);
        assertTrue(Integer.parseInt(cycles.group(1)) > Integer.parseInt(cycles.group(2)), "paced cycles ran:\n" + text);
    }
}
