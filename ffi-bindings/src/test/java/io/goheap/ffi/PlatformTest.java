package io.goheap.ffi;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The linux/amd64 gate. */
class PlatformTest {

    @Test
    void thisMachineIsSupported() {
        assertDoesNotThrow(() -> Platform.requireSupported());
    }

    @Test
    void linuxOnAmd64IsSupportedUnderBothArchitectureSpellings() {
        assertTrue(Platform.isSupported("Linux", "amd64"));
        assertTrue(Platform.isSupported("Linux", "x86_64"));
    }

    @Test
    void otherPlatformsAreRefusedWithANamedMessage() {
        assertFalse(Platform.isSupported("Linux", "aarch64"));
        assertFalse(Platform.isSupported("Windows 11", "amd64"));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Platform.requireSupported("Mac OS X", "aarch64"));
        assertEquals("goheap needs linux/amd64; this is Mac OS X/aarch64", e.getMessage());
    }
}
