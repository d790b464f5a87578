package io.goheap.jmh;

import java.lang.reflect.Field;

/**
 * {@code sun.misc.Unsafe}, fetched by reflection, for the {@code Unsafe.allocateMemory/freeMemory} peer (plain
 * malloc/free). Not a peer abstraction: benchmarks call {@link #U} directly. Needs
 * {@code --sun-misc-unsafe-memory-access=allow} on JDK 24+ (set in jmh/pom.xml), or the JDK prints a
 * terminal-deprecation warning on first use.
 */
final class UnsafeAccess {
    static final sun.misc.Unsafe U;

    static {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            U = (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UnsafeAccess() {}
}
