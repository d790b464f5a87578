package io.goheap.jmh;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * glibc's {@code malloc}, {@code calloc} and {@code free} as FFM downcalls — the fastest way a JVM reaches libc
 * (critical downcalls: no thread-state transition, as the calls neither block nor call back). The peers of
 * goheap's {@code mallocUninitialized} (malloc) and {@code malloc} (calloc, which zeroes).
 */
final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MALLOC = handle("malloc", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG));
    private static final MethodHandle CALLOC = handle("calloc", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle FREE = handle("free", FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG));
    private static final MethodHandle MEMSET = handle("memset", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));

    private Libc() {
    }

    private static MethodHandle handle(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), d, Linker.Option.critical(false));
    }

    static long malloc(long size) {
        try {
            return (long) MALLOC.invokeExact(size);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static long calloc(long size) {
        try {
            return (long) CALLOC.invokeExact(1L, size);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void free(long address) {
        try {
            FREE.invokeExact(address);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void memset(long address, int value, long bytes) {
        try {
            long ignored = (long) MEMSET.invokeExact(address, value, bytes);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
