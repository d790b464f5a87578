package io.goheap.allocator;

import java.lang.foreign.ValueLayout;

/**
 * Debug modes for rooting mistakes, applied where the sweeper frees collected objects ({@link MCentral}):
 * <ul>
 *   <li>{@code GODEBUG=clobberfree=1} (Go's): the memory of every collected object the sweeper frees is filled with
 *       {@link #CLOBBER} first, so a use of a freed object through an address kept without a root reads nonsense
 *       instead of its old data;</li>
 *   <li>quarantine ({@code GODEBUG=gcquarantine=N}): an object the sweeper would free stays allocated, clobbered
 *       (whether or not clobberfree is on) and out of reuse, for {@code N} more cycles; {@link #quarantinedObject}
 *       says so for any address inside it, which the collector's checks turn into an exception on the first load,
 *       store, root or free that uses it. Then it is freed as usual.</li>
 * </ul>
 *
 * <h2>Invariants and who touches what</h2>
 * {@link MSpan#quarantine} (cycles left per object; null until the span first quarantines one) is written only by
 * the sweeper of the span, which holds its mcentral's lock and owns the span (uncached); a quarantined object's
 * allocation bit stays set, so no allocation can take its slot, the marker treats pointers to it as to any
 * allocated object, and it is counted live until freed. It is kept from one cycle to the next by setting its mark
 * bit before {@link MSpan#sweepMarks}; the sweeper alone does that, after marking ended. Readers
 * ({@link #quarantinedObject}) read the counts racily: an object entering or leaving quarantine while a check runs
 * may be seen either way. An object a marker found reachable while quarantined (reached through memory written
 * without a Mutator, which no check sees) leaves quarantine, clobbered; the sweep counts it in
 * {@link MHeap#quarantineReached} for the collector to report.
 *
 * <p>Forbidden: a quarantined slot handed out by an allocation; a quarantined object freed before its cycles are
 * up; a mark bit set by this class surviving into the next mark (sweepMarks clears every mark after reading them).
 */
final class Quarantine {
    /** Go's clobberfree pattern, in every word. */
    static final long CLOBBER = 0xdeadbeefdeadbeefL;

    private Quarantine() {
    }

    /**
     * Before a collected small span is swept: clobbers what is about to be freed, and keeps (marks) what is to stay
     * in quarantine. The caller holds the span's mcentral lock, owns the span and has merged its remote frees.
     */
    static void beforeSweep(MHeap heap, MSpan s) {
        int cycles = heap.quarantineCycles;
        long[] bits = s.allocBits;
        int words = s.words;
        for (int w = 0; w < words; w++) {
            long allocated = bits[w];
            long marked = bits[words + w];
            for (long m = allocated; m != 0; m &= m - 1) {
                int idx = (w << 6) + Long.numberOfTrailingZeros(m);
                long bit = 1L << idx;
                byte[] q = s.quarantine;
                int left = q == null ? 0 : q[idx];
                if ((marked & bit) != 0) {
                    if (left > 0) {
                        q[idx] = 0;                       // reached while quarantined: it lives on, clobbered
                        heap.quarantineReached.incrementAndGet();
                    }
                    continue;
                }
                if (left == 0 && cycles > 0) {            // newly dead: into quarantine
                    if (q == null) {
                        s.quarantine = q = new byte[s.nelems];
                    }
                    q[idx] = (byte) Math.min(cycles, Byte.MAX_VALUE);
                    clobber(heap, s.base + idx * s.elemSize, s.elemSize);
                    bits[words + w] |= bit;               // kept this cycle
                } else if (left > 1) {
                    q[idx] = (byte) (left - 1);
                    bits[words + w] |= bit;
                } else {
                    if (left == 1) {
                        q[idx] = 0;                       // its cycles are up: freed now
                    } else if (heap.clobberFree) {
                        clobber(heap, s.base + idx * s.elemSize, s.elemSize);
                    }
                }
            }
        }
    }

    /**
     * Before a collected large span is swept: whether to keep it (quarantined) rather than release it; clobbers
     * it when it enters quarantine or, with clobberfree, when it is released. Same caller duties as above.
     */
    static boolean keepLarge(MHeap heap, MSpan s, boolean marked) {
        byte[] q = s.quarantine;
        int left = q == null ? 0 : q[0];
        if (marked) {
            if (left > 0) {
                q[0] = 0;
                heap.quarantineReached.incrementAndGet();
            }
            return true;
        }
        if (left == 0 && heap.quarantineCycles > 0) {
            if (q == null) {
                s.quarantine = q = new byte[1];
            }
            q[0] = (byte) Math.min(heap.quarantineCycles, Byte.MAX_VALUE);
            clobber(heap, s.base, s.elemSize);
            return true;
        }
        if (left > 1) {
            q[0] = (byte) (left - 1);
            return true;
        }
        if (left == 1) {
            q[0] = 0;
        } else if (heap.clobberFree) {
            clobber(heap, s.base, s.elemSize);
        }
        return false;
    }

    /**
     * The start of the quarantined object containing {@code address}, or 0 when it is in none. Racy, read-only.
     */
    static long quarantinedObject(MHeap heap, long address) {
        MSpan s = heap.findSpan(address);
        if (s == null || !s.collected) {
            return 0;
        }
        byte[] q = s.quarantine;
        if (q == null) {
            return 0;
        }
        int idx = s.isLarge() ? 0 : s.objectIndex(address - s.base);
        return q[idx] > 0 && s.isAllocatedRacy(idx) ? s.objectAddress(idx) : 0;
    }

    private static void clobber(MHeap heap, long address, long bytes) {
        java.lang.foreign.MemorySegment m = heap.memory();
        long base = heap.base();
        for (long i = address - base, end = i + bytes; i < end; i += 8) {
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, i, CLOBBER);
        }
    }
}
