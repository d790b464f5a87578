package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Choosing a binding: {@code -Dgoheap.ffi}, and a clear error when jnr-ffi is missing. */
class OsMemorySelectionTest {

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
        assertSame(OsMemory.ffm(), OsMemory.system());
        assertEquals("ffm", OsMemory.system().name());
    }

    @Test
    void systemHonoursTheProperty() {
        System.setProperty(OsMemory.BINDING_PROPERTY, "jnr");
        assertSame(OsMemory.jnr(), OsMemory.system());
        assertEquals("jnr", OsMemory.system().name());
        System.setProperty(OsMemory.BINDING_PROPERTY, "ffm");
        assertSame(OsMemory.ffm(), OsMemory.system());
    }

    @Test
    void systemRejectsAnUnknownBinding() {
        System.setProperty(OsMemory.BINDING_PROPERTY, "jna");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, OsMemory::system);
        assertEquals("unknown goheap.ffi=jna; expected ffm or jnr", e.getMessage());
    }

    @Test
    void jnrIsASingleton() {
        assertSame(OsMemory.jnr(), OsMemory.jnr());
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
