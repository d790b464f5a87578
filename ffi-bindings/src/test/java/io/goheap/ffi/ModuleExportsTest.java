package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * On the module path, {@code io.goheap.ffi} is exported only to goheap's own modules, checked on the
 * compiled descriptor with the JDK's own reader: {@code java --module-path <classes> --describe-module}. The
 * descriptor is compiled into this module's output directory (target/classes, where {@link OsMemory} was loaded
 * from) by the compile phase's second compiler execution, before any test runs.
 */
class ModuleExportsTest {

    @Test
    void theBindingPackageIsExportedOnlyToGoheapModules() throws Exception {
        Path classes = Path.of(OsMemory.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isRegularFile(classes.resolve("module-info.class")),
                "no compiled module descriptor in " + classes);
        ChildJvm.Result result = ChildJvm.run(
                List.of("--module-path", classes.toString(), "--describe-module", "io.goheap.ffi"));
        assertEquals(0, result.exitCode(), result.output());
        List<String> lines = result.output().lines().map(String::strip).toList();
        assertTrue(lines.get(0).startsWith("io.goheap.ffi@") || lines.get(0).startsWith("io.goheap.ffi "),
                result.output());
        List<String> exports = lines.stream().filter(line -> line.contains("exports")).toList();
        assertEquals(1, exports.size(), result.output());
        String qualified = "qualified exports io.goheap.ffi to ";
        assertTrue(exports.get(0).startsWith(qualified), result.output());
        // the launcher prints the targets in hash-set order
        List<String> targets = List.of(exports.get(0).substring(qualified.length()).split(" ")).stream()
                .sorted().toList();
        assertEquals(List.of("io.goheap.allocator", "io.goheap.collector", "io.goheap.pagealloc",
                "io.goheap.scavenger"), targets, result.output());
        assertTrue(lines.stream().noneMatch(line -> line.startsWith("exports ")), result.output());
        assertTrue(lines.stream().noneMatch(line -> line.startsWith("opens ")), result.output());
    }
}
