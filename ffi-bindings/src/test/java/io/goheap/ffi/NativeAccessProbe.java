package io.goheap.ffi;

/**
 * Main class for {@link NativeAccessRefusedTest}'s child JVM (not a test): asks for the FFM binding and reserves
 * a page through it, twice, then through {@link OsMemory#system()}, then through the JNR binding, and prints one line per attempt:
 * {@code attempt <n>: <exception class> | <message>}, or {@code attempt <n>: reserved} when it worked. Releases
 * what it reserved.
 */
public final class NativeAccessProbe {

    private NativeAccessProbe() {
    }

    public static void main(String[] args) {
        for (int attempt = 1; attempt <= 4; attempt++) {
            try {
                OsMemory os = attempt < 3 ? OsMemory.ffm() : attempt == 3 ? OsMemory.system() : OsMemory.jnr();
                long base = os.reserve(4096);
                os.release(base, 4096);
                System.out.println("attempt " + attempt + ": reserved");
            } catch (Throwable t) {
                System.out.println("attempt " + attempt + ": " + t.getClass().getName() + " | " + t.getMessage());
            }
        }
    }
}
