package io.goheap.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * goheap's modules resolve and run on the module path with exactly the README's flag
 * ({@code --enable-native-access=io.goheap.ffi}): a missing {@code requires} (the collector once used
 * java.management without reading it, so {@code Heap.build()} failed with IllegalAccessError on the module path
 * while every class-path test passed) shows here. The child JVM takes the modules from where this JVM loaded
 * them, and {@link ModulePathHeapMain} from the class path.
 */
class ModulePathTest {

    @Test
    void aHeapCollectsOnTheModulePath() throws Exception {
        String modulePath = String.join(File.pathSeparator, location(io.goheap.Heap.class),
                location(io.goheap.allocator.SizeClasses.class), location(io.goheap.pagealloc.AddressSpace.class),
                location(io.goheap.scavenger.Scavenger.class), location(io.goheap.ffi.OsMemory.class));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process process = new ProcessBuilder(java, "--enable-native-access=io.goheap.ffi", "--module-path", modulePath,
                "--add-modules", "io.goheap.collector", "-cp", location(ModulePathHeapMain.class),
                ModulePathHeapMain.class.getName()).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the child JVM did not exit");
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("module path: ok"), output);
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
