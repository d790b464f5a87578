package io.goheap.scavenger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.AddressSpace;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * On the module path, the layers below the allocator export their packages only to the goheap modules above
 * them, checked on the compiled descriptors with {@code java --module-path ... --describe-module}.
 * The module path is where this test JVM loaded the three modules from (their target/classes or jars; both
 * hold the descriptor the compile phase's second compiler execution wrote).
 */
class ModuleExportsTest {

    @Test
    void pageallocIsExportedOnlyToTheModulesAboveIt() throws Exception {
        assertEquals(List.of("io.goheap.allocator", "io.goheap.collector", "io.goheap.scavenger"),
                qualifiedExportTargets("io.goheap.pagealloc", "io.goheap.pagealloc"));
    }

    @Test
    void scavengerIsExportedOnlyToTheModulesAboveIt() throws Exception {
        assertEquals(List.of("io.goheap.allocator", "io.goheap.collector"),
                qualifiedExportTargets("io.goheap.scavenger", "io.goheap.scavenger"));
    }

    /** The sorted targets of the module's one export, which must be qualified and of {@code pkg}. */
    private static List<String> qualifiedExportTargets(String module, String pkg) throws Exception {
        String modulePath = String.join(File.pathSeparator, location(OsMemory.class), location(AddressSpace.class),
                location(Scavenger.class));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process process = new ProcessBuilder(java, "--module-path", modulePath, "--describe-module", module)
                .redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "java --describe-module did not exit");
        assertEquals(0, process.exitValue(), output);
        List<String> lines = output.lines().map(String::strip).toList();
        assertTrue(lines.get(0).startsWith(module + "@") || lines.get(0).startsWith(module + " "), output);
        List<String> exports = lines.stream().filter(line -> line.contains("exports")).toList();
        String qualified = "qualified exports " + pkg + " to ";
        assertEquals(1, exports.size(), output);
        assertTrue(exports.get(0).startsWith(qualified), output);
        assertTrue(lines.stream().noneMatch(line -> line.startsWith("exports ") || line.startsWith("opens ")), output);
        return List.of(exports.get(0).substring(qualified.length()).split(" ")).stream().sorted().toList();
    }

    private static String location(Class<?> type) throws Exception {
        Path path = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(path) ? Files.isRegularFile(path.resolve("module-info.class"))
                : path.toString().endsWith(".jar"), "no module descriptor at " + path);
        return path.toString();
    }
}
