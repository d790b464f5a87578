package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory.DecommitMode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Choosing a binding: {@code -Dgoheap.ffi}, a new independent object per factory call, and a clear error when
 * jnr-ffi is missing.
 */
class OsMemorySelectionTest {

    private static final long PAGE = 4096;

    private String saved;

    @BeforeEach
    void saveProperty() {
        saved = System.getProperty(OsMemory.BINDING_PROPERTY);
    }

    @AfterEach
    void restoreProperty() {
        if (saved == null) {
            System.clearProperty(OsMemory.BINDING_PROPERTY);
        } else {
            System.setProperty(OsMemory.BINDING_PROPERTY, saved);
        }
    }

    @Test
    void systemDefaultsToFfm() {
        System.clearProperty(OsMemory.BINDING_PROPERTY);
        OsMemory os = OsMemory.system();
        assertInstanceOf(FfmOsMemory.class, os);
        assertEquals("ffm", os.name());
    }

    @Test
    void systemHonoursTheProperty() {
        System.setProperty(OsMemory.BINDING_PROPERTY, "jnr");
        assertInstanceOf(JnrOsMemory.class, OsMemory.system());
        assertEquals("jnr", OsMemory.system().name());
        System.setProperty(OsMemory.BINDING_PROPERTY, "ffm");
        assertInstanceOf(FfmOsMemory.class, OsMemory.system());
        assertEquals("ffm", OsMemory.system().name());
    }

    @Test
    void systemRejectsAnUnknownBinding() {
        System.setProperty(OsMemory.BINDING_PROPERTY, "jna");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, OsMemory::system);
        assertEquals("unknown goheap.ffi=jna; expected ffm or jnr", e.getMessage());
    }

    static Stream<Arguments> factories() {
        return Stream.of(
                Arguments.of("ffm", (Supplier<OsMemory>) OsMemory::ffm),
                Arguments.of("jnr", (Supplier<OsMemory>) OsMemory::jnr),
                Arguments.of("system", (Supplier<OsMemory>) OsMemory::system));
    }

    /**
     * Every factory call gives a new object with a registry of its own: what one reserved, another cannot
     * commit, decommit, release, advise or see as a segment.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void everyFactoryCallGivesAnIndependentBinding(String factory, Supplier<OsMemory> create) throws IOException {
        OsMemory first = create.get();
        OsMemory second = create.get();
        assertNotSame(first, second);
        assertSame(first.getClass(), second.getClass());
        assertEquals(first.name(), second.name());
        assertEquals(first.pageSize(), second.pageSize());
        assertEquals(first.hugePageSize(), second.hugePageSize());

        long base = first.reserve(2 * PAGE);
        try {
            assertEquals(1, ((LinuxOsMemory) first).reservationCount());
            assertEquals(0, ((LinuxOsMemory) second).reservationCount());
            assertThrows(IllegalArgumentException.class, () -> second.commit(base, PAGE));
            assertThrows(IllegalArgumentException.class, () -> second.decommit(base, PAGE, DecommitMode.HARD));
            assertThrows(IllegalArgumentException.class, () -> second.release(base, PAGE));
            assertThrows(IllegalArgumentException.class, () -> second.adviseHugePages(base, PAGE, true));
            assertThrows(IllegalArgumentException.class, () -> second.segment(base, PAGE, Arena.global()));
            assertThrows(IllegalArgumentException.class, () -> create.get().commit(base, PAGE));
            assertEquals("---p", OsMemoryTest.permissionsAt(base));
            first.commit(base, 2 * PAGE); // the owner still may
            assertEquals("rw-p", OsMemoryTest.permissionsAt(base));
        } finally {
            first.release(base, 2 * PAGE);
        }
        assertEquals(0, ((LinuxOsMemory) first).reservationCount());
    }

    @Test
    void jnrWithoutJnrFfiOnTheClassPathFailsClearly() throws Exception {
        // Load this module's classes afresh under a loader that sees only them and the JDK, not jnr-ffi.
        URL classes = OsMemory.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader withoutJnr = new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            Class<?> isolated = withoutJnr.loadClass(OsMemory.class.getName());
            assertThrows(ClassNotFoundException.class, () -> withoutJnr.loadClass("jnr.ffi.LibraryLoader"));
            Method jnr = isolated.getMethod("jnr");
            InvocationTargetException thrown = assertThrows(InvocationTargetException.class, () -> jnr.invoke(null));
            IllegalStateException e = assertInstanceOf(IllegalStateException.class, thrown.getCause());
            assertTrue(e.getMessage().contains("needs jnr-ffi"), e.getMessage());
            assertTrue(e.getMessage().contains("on the class path"), e.getMessage());
            // The FFM binding of the same isolated copy still works.
            Object ffm = isolated.getMethod("ffm").invoke(null);
            assertEquals("ffm", isolated.getMethod("name").invoke(ffm));
        }
    }
}
