package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Start-up without native access: in a child JVM on the class path with
 * {@code --illegal-native-access=deny} and no {@code --enable-native-access}, every attempt to use the FFM
 * binding throws the same clear {@link NativeAccessException} naming both flags, not
 * ExceptionInInitializerError and then NoClassDefFoundError. A control run with the class-path flag works.
 */
class NativeAccessRefusedTest {

    @Test
    void everyAttemptWithoutNativeAccessThrowsTheSameClearException() throws Exception {
        ChildJvm.Result result = runProbe(List.of("--illegal-native-access=deny"));
        assertEquals(0, result.exitCode(), result.output());
        List<String> attempts = attemptLines(result.output());
        assertEquals(4, attempts.size(), result.output());
        String expected = NativeAccessException.class.getName()
                + " | goheap's FFM binding needs native access, which this JVM refuses to the unnamed module"
                + " (class path): ";
        for (int i = 0; i < 3; i++) {
            String line = attempts.get(i);
            String prefix = "attempt " + (i + 1) + ": ";
            assertTrue(line.startsWith(prefix + expected), line);
            int reason = line.indexOf(" (class path): ") + " (class path): ".length();
            assertTrue(line.indexOf(". Start java with ") > reason, line); // the JVM's own reason sits in between
            assertTrue(line.endsWith(". Start java with --enable-native-access=io.goheap.ffi when goheap is on"
                    + " the module path, or with --enable-native-access=ALL-UNNAMED when it is on the class path."),
                    line);
            assertEquals(attempts.get(0).substring(prefix.length()), line.substring(prefix.length()),
                    "every attempt says the same");
        }
        // the JNR binding's JNI stub is refused too, and says so the same way (before: UnsatisfiedLinkError)
        String jnr = attempts.get(3);
        assertTrue(jnr.startsWith("attempt 4: " + NativeAccessException.class.getName()
                + " | goheap's JNR binding needs native access"), jnr);
        assertTrue(jnr.endsWith("--enable-native-access=ALL-UNNAMED when it is on the class path."), jnr);
    }

    @Test
    void withTheClassPathFlagTheSameProbeReserves() throws Exception {
        ChildJvm.Result result = runProbe(
                List.of("--illegal-native-access=deny", NativeAccessException.CLASS_PATH_FLAG));
        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of("attempt 1: reserved", "attempt 2: reserved", "attempt 3: reserved", "attempt 4: reserved"),
                attemptLines(result.output()));
    }

    private static ChildJvm.Result runProbe(List<String> flags) throws Exception {
        List<String> arguments = new java.util.ArrayList<>(flags);
        arguments.addAll(List.of("-cp", System.getProperty("java.class.path"), NativeAccessProbe.class.getName()));
        return ChildJvm.run(arguments);
    }

    private static List<String> attemptLines(String output) {
        return output.lines().filter(line -> line.startsWith("attempt ")).toList();
    }
}
