package io.goheap.ffi;

/**
 * The JVM refuses native access to goheap's binding module, so the FFM binding cannot link its downcalls, e.g.
 * under {@code --illegal-native-access=deny} without {@code --enable-native-access}. The message names the flag
 * that fixes it: {@value #MODULE_PATH_FLAG} on the module path, {@value #CLASS_PATH_FLAG} on the class path.
 *
 * <p>Immutable. Thrown by {@link OsMemory#ffm()} (and {@link OsMemory#system()} when it picks FFM) on every call,
 * a fresh instance each time with the same message and, as cause, the JVM's original refusal (an
 * {@link IllegalCallerException}); the refusal is remembered, so a later call neither retries the linking nor
 * fails with {@link NoClassDefFoundError}. An {@link IllegalStateException}: the JVM's configuration, not the
 * caller's arguments, is wrong.
 */
public final class NativeAccessException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** The flag that grants native access to the binding module on the module path. */
    public static final String MODULE_PATH_FLAG = "--enable-native-access=io.goheap.ffi";

    /** The flag that grants native access to the code on the class path (the unnamed module). */
    public static final String CLASS_PATH_FLAG = "--enable-native-access=ALL-UNNAMED";

    /**
     * @param module the module that needs native access (the binding's, named or unnamed)
     * @param cause  the JVM's refusal
     */
    NativeAccessException(Module module, Throwable cause) {
        super(message("FFM", module, cause), cause);
    }

    /** The JNR binding could not load libc (jnr-ffi loads its JNI stub, which native access also governs). */
    NativeAccessException(String binding, Module module, Throwable cause) {
        super(message(binding, module, cause), cause);
    }

    private static String message(String binding, Module module, Throwable cause) {
        String where = module.isNamed() ? "module " + module.getName() + " (module path)"
                : "the unnamed module (class path)";
        String why = cause.getMessage() == null ? cause.getClass().getName() : cause.getMessage().lines().findFirst().orElse("");
        return "goheap's " + binding + " binding needs native access, which this JVM refuses to " + where + ": "
                + why + ". Start java with " + MODULE_PATH_FLAG + " when goheap is on the module path,"
                + " or with " + CLASS_PATH_FLAG + " when it is on the class path.";
    }
}
