package io.goheap;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongConsumer;

/**
 * The global root slots ({@link Root}) of one heap: chunks of 1024 slots that never move, so a root's index stays
 * valid while the table grows. Slots are read and written with volatile semantics from any thread; the marker
 * reads them with the world stopped. Slot allocation and release are under this table's monitor (rare); a freed
 * slot holds 0 until reused.
 */
final class RootTable {
    private static final int CHUNK_SHIFT = 10;
    private static final int CHUNK = 1 << CHUNK_SHIFT;

    private volatile AtomicLongArray[] chunks = new AtomicLongArray[0];
    private int[] free = new int[16];
    private int freeCount;
    private int used;

    synchronized int allocate() {
        if (freeCount > 0) {
            return free[--freeCount];
        }
        int index = used++;
        if ((index >>> CHUNK_SHIFT) >= chunks.length) {
            AtomicLongArray[] grown = java.util.Arrays.copyOf(chunks, chunks.length + 1);
            grown[chunks.length] = new AtomicLongArray(CHUNK);
            chunks = grown;
        }
        return index;
    }

    synchronized void release(int index) {
        set(index, 0);
        if (freeCount == free.length) {
            free = java.util.Arrays.copyOf(free, free.length * 2);
        }
        free[freeCount++] = index;
    }

    long get(int index) {
        return chunks[index >>> CHUNK_SHIFT].get(index & (CHUNK - 1));
    }

    void set(int index, long value) {
        chunks[index >>> CHUNK_SHIFT].set(index & (CHUNK - 1), value);
    }

    /** Every non-zero slot's value. */
    void forEach(LongConsumer visitor) {
        AtomicLongArray[] cs = chunks;
        for (AtomicLongArray c : cs) {
            for (int i = 0; i < CHUNK; i++) {
                long v = c.get(i);
                if (v != 0) {
                    visitor.accept(v);
                }
            }
        }
    }
}
