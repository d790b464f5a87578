package io.goheap.allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Go's AllocStats invariants (reference §7.3), checkable on any snapshot. */
final class AllocStatsInvariants {
    private AllocStatsInvariants() {
    }

    static void check(AllocStats m) {
        assertEquals(m.sys(), m.heapSys() + m.stackSys() + m.mSpanSys() + m.mCacheSys() + m.buckHashSys()
                + m.gcSys() + m.otherSys(), "Sys = sum of *Sys");
        assertEquals(m.heapSys(), m.heapInuse() + m.heapIdle(), "HeapSys = HeapInuse + HeapIdle");
        assertTrue(m.heapIdle() >= m.heapReleased(), "HeapIdle >= HeapReleased: " + m.heapIdle() + " < " + m.heapReleased());
        assertEquals(m.heapObjects(), m.mallocs() - m.frees(), "HeapObjects = Mallocs - Frees");
        assertEquals(m.alloc(), m.heapAlloc(), "Alloc = HeapAlloc");
        assertTrue(m.totalAlloc() >= m.heapAlloc(), "TotalAlloc >= HeapAlloc");
        assertTrue(m.heapObjects() >= 0 && m.heapAlloc() >= 0);
        assertTrue(m.heapAlloc() <= m.heapInuse(), "HeapAlloc <= HeapInuse: " + m.compact());
        assertTrue(m.mSpanSys() >= m.mSpanInuse() && m.mCacheSys() >= m.mCacheInuse() && m.stackSys() >= m.stackInuse());
        assertEquals(61, m.bySize().size(), "BySize has Go's 61 entries");
        long mallocs = 0;
        long frees = 0;
        for (int c = 0; c < 61; c++) {
            AllocStats.BySize b = m.bySize().get(c);
            assertEquals(SizeClasses.classSize(c), b.size());
            assertTrue(b.frees() <= b.mallocs(), "class " + c + ": frees " + b.frees() + " > mallocs " + b.mallocs());
            mallocs += b.mallocs();
            frees += b.frees();
        }
        assertTrue(mallocs <= m.mallocs() && frees <= m.frees());
        assertEquals(0, m.lookups());
    }
}
