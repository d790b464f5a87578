package io.goheap.ffi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a child JVM of the same JDK as the test JVM (surefire's fork, the toolchain's JDK) and collects its
 * output. Test support only; stateless.
 */
final class ChildJvm {

    /** The child's exit status and its stdout and stderr interleaved. */
    record Result(int exitCode, String output) {
    }

    private ChildJvm() {
    }

    /** The {@code java} launcher that runs this JVM. */
    static Path javaLauncher() {
        String command = ProcessHandle.current().info().command()
                .orElseThrow(() -> new IllegalStateException("the OS does not tell this process's command"));
        return Path.of(command);
    }

    /** Runs {@code java <arguments>}, waiting at most 60 seconds. */
    static Result run(List<String> arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(javaLauncher().toString());
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes(); // until the child closes it, i.e. exits
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("child JVM did not exit within 60 s: " + command);
        }
        return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }
}
