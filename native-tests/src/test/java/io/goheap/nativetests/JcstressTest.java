package io.goheap.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Runs goheap's jcstress tests (the safepoint handshake's Dekker pair and the stale safe-holder mark, in package
 * io.goheap.allocator of this module's tests) in a child JVM: a short mode in the default build
 * ({@code -Dgoheap.jcstress.mode=sanity}), jcstress's own {@code quick} or {@code default} in the soak profile.
 * Fails when jcstress reports a forbidden outcome or an error.
 */
class JcstressTest {

    @Test
    void safepointProtocolsHaveNoForbiddenOutcomes() throws Exception {
        String mode = System.getProperty("goheap.jcstress.mode", "sanity");
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        Path results = Files.createTempDirectory("jcstress");
        List<String> command = new ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "org.openjdk.jcstress.Main",
                "-t", "io\\.goheap\\.(allocator|[A-Z])", "-m", mode, "-r", results.toString(), "-sc", "false", "-v"));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).directory(results.toFile()).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = child.waitFor();
        for (String test : List.of("SafepointHandshakeStress", "StaleSafeHolderStress", "LargeFreeClaimStress",
                "RemoteFreeMergeStress", "PHandOffStress", "PageCacheIndexStress", "AllocateBlackStress",
                "BarrierHandoffStress", "HandshakeClaimStress", "MarkRoundEndStress", "KeepFrameScanStress",
                "PCreationStress")) {
            assertTrue(out.contains(test), test + " ran:\n" + tail(out));
        }
        assertFalse(out.contains("FAILED") || out.contains("ERROR"), tail(out));
        assertEquals(0, exit, tail(out));
        deleteRecursively(results.toFile());
    }

    private static String tail(String s) {
        return s.length() <= 6000 ? s : s.substring(s.length() - 6000);
    }

    private static void deleteRecursively(File f) {
        File[] children = f.listFiles();
        if (children != null) {
            for (File c : children) {
                deleteRecursively(c);
            }
        }
        f.delete();
    }
}
