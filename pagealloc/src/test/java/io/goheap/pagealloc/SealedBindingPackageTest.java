package io.goheap.pagealloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.goheap.ffi.OsMemory;
import java.nio.charset.StandardCharsets;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On the class path, module exports do not protect io.goheap.ffi, so its jar is sealed: a class of
 * that package from any other jar or directory, as code wanting the package-private raw system calls would
 * write it, is refused by the class loader. The intruder is compiled here at run time by the JDK's javac, next
 * to the running java (a test source in that package would be a split package to the module-aware test
 * compile). Sealing is a property of the jar, so this runs when the binding comes from its jar
 * ({@code ./mvnw verify}, or a user's class path), not from ffi-bindings/target/classes (a reactor build that
 * stops before the package phase).
 */
class SealedBindingPackageTest {

    private static final String INTRUDER = """
            package io.goheap.ffi;

            public final class Intruder {
                public static void unmapAnything(long address) {
                    ((LinuxOsMemory) OsMemory.ffm()).munmap(address, 4096); // past the ownership check
                }
            }
            """;

    @Test
    void noOtherCodeSourceMayAddClassesToTheBindingPackage(@TempDir Path dir) throws Exception {
        Path jar = Path.of(OsMemory.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assumeTrue(jar.toString().endsWith(".jar"), () -> "the binding was loaded from " + jar + ", not its jar");
        assertTrue(OsMemory.class.getPackage().isSealed(), "io.goheap.ffi is not sealed in " + jar);

        Path source = dir.resolve("src/io/goheap/ffi/Intruder.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, INTRUDER);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Path java = Path.of(ProcessHandle.current().info().command().orElseThrow());
        Process javac = new ProcessBuilder(java.resolveSibling("javac").toString(), "-proc:none",
                "-cp", jar.toString(), "-d", classes.toString(), source.toString()).redirectErrorStream(true).start();
        String diagnostics = new String(javac.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(javac.waitFor(60, TimeUnit.SECONDS), "javac did not exit");
        assertEquals(0, javac.exitValue(), diagnostics); // the package-private call compiles ...

        URL[] path = {jar.toUri().toURL(), classes.toUri().toURL()};
        try (URLClassLoader loader = new URLClassLoader(path, ClassLoader.getPlatformClassLoader())) {
            loader.loadClass(OsMemory.class.getName()); // defines the package from the sealed jar
            SecurityException e =
                    assertThrows(SecurityException.class, () -> loader.loadClass("io.goheap.ffi.Intruder"));
            assertTrue(e.getMessage().contains("sealing violation"), e.getMessage()); // ... but never loads
        }
        URL[] intruderFirst = {classes.toUri().toURL(), jar.toUri().toURL()};
        try (URLClassLoader loader = new URLClassLoader(intruderFirst, ClassLoader.getPlatformClassLoader())) {
            loader.loadClass("io.goheap.ffi.Intruder"); // defines the package unsealed, from the directory
            SecurityException e =
                    assertThrows(SecurityException.class, () -> loader.loadClass(OsMemory.class.getName()));
            assertTrue(e.getMessage().contains("sealing violation"), e.getMessage()); // then the binding refuses
        }
    }
}
