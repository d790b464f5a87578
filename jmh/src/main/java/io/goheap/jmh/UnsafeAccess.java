package io.goheap.jmh;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;

/**
 * {@code sun.misc.Unsafe.allocateMemory / putByte / freeMemory} for the malloc/free peer. Not a peer abstraction:
 * three static methods that the benchmarks call directly.
 *
 * <p>The Unsafe instance is fetched by reflection and its methods are called through {@code static final}
 * method handles bound to it, which C2 inlines into direct calls of the same intrinsics (no measurable cost);
 * naming the type statically would make javac print its "internal proprietary API" warning on every build, and
 * that warning cannot be suppressed. Needs {@code --sun-misc-unsafe-memory-access=allow} on JDK 24+ (set in
 * jmh/pom.xml), or the JDK prints a terminal-deprecation warning on first use.
 */
final class UnsafeAccess {
    private static final MethodHandle ALLOCATE;
    private static final MethodHandle PUT_BYTE;
    private static final MethodHandle FREE;

    static {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field f = unsafeClass.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            ALLOCATE = lookup.findVirtual(unsafeClass, "allocateMemory", MethodType.methodType(long.class, long.class))
                    .bindTo(unsafe);
            PUT_BYTE = lookup.findVirtual(unsafeClass, "putByte",
                    MethodType.methodType(void.class, long.class, byte.class)).bindTo(unsafe);
            FREE = lookup.findVirtual(unsafeClass, "freeMemory", MethodType.methodType(void.class, long.class))
                    .bindTo(unsafe);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UnsafeAccess() {}

    /** {@code Unsafe.allocateMemory}: malloc, not zeroed. */
    static long allocateMemory(long bytes) {
        try {
            return (long) ALLOCATE.invokeExact(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void putByte(long address, byte value) {
        try {
            PUT_BYTE.invokeExact(address, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code Unsafe.freeMemory}: free. */
    static void freeMemory(long address) {
        try {
            FREE.invokeExact(address);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }
}
