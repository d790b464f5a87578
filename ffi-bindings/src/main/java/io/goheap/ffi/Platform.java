package io.goheap.ffi;

import java.util.Locale;

/**
 * The one platform goheap runs on: Linux on amd64. The bindings hard-code Linux's mmap/madvise constants and
 * the amd64 calling convention (a pointer travels in the same register as a {@code long}), so they refuse to
 * start anywhere else rather than misbehave.
 *
 * <p>Stateless and thread-safe.
 */
public final class Platform {

    private Platform() {
    }

    /**
     * Checks the running JVM's {@code os.name} and {@code os.arch}.
     *
     * @throws UnsupportedOperationException {@code "goheap needs linux/amd64; this is <os>/<arch>"} elsewhere
     */
    public static void requireSupported() {
        requireSupported(System.getProperty("os.name", "unknown"), System.getProperty("os.arch", "unknown"));
    }

    /** {@link #requireSupported()} for the given property values; separate so tests can ask about other platforms. */
    static void requireSupported(String osName, String osArch) {
        if (!isSupported(osName, osArch)) {
            throw new UnsupportedOperationException("goheap needs linux/amd64; this is " + osName + "/" + osArch);
        }
    }

    /** Whether {@code os.name}/{@code os.arch} values name Linux on amd64 (which Java also spells x86_64). */
    static boolean isSupported(String osName, String osArch) {
        String arch = osArch.toLowerCase(Locale.ROOT);
        return osName.toLowerCase(Locale.ROOT).equals("linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    }
}
