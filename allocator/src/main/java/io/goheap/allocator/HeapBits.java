package io.goheap.allocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Heap bits (Go 1.22's {@code mbitmap} for small objects): a one-page scan span of objects of at most 512 bytes
 * keeps one bit per 8-byte word of the span — 1 = the word is a pointer slot — in its last {@code 8192 / 64 =
 * 128} bytes, the room {@link SizeClasses#scanObjects} leaves after the last object. An object's bits are
 * written when it is allocated ({@link #write}, by the allocating thread before the address escapes) and read
 * by the marker ({@link #read}). An object of at most 512 bytes covers at most 64 words, so its bits span one or
 * two bitmap words. Only the owner of the span's slot writes a slot's bits; the words shared with neighbouring
 * slots are read-modify-written by the span's owner only (allocation happens in the owning mcache), so plain
 * accesses suffice; the marker reads them with the world stopped.
 */
final class HeapBits {
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;   // always 8-aligned here

    private HeapBits() {
    }

    /** Sets the bits of the slot at {@code address} of span {@code s} to {@code slotBits} (bit w = word w). */
    static void write(MemorySegment memory, long base, MSpan s, long address, long slotBits) {
        long bitmap = s.heapBitsOffset(base);
        long firstWord = (address - s.base) >>> 3;
        int words = (int) (s.elemSize >>> 3);
        int shift = (int) (firstWord & 63);
        long at = bitmap + ((firstWord >>> 6) << 3);
        if (shift + words <= 64) {                       // the common case: one bitmap word
            long mask = (words == 64 ? -1L : (1L << words) - 1) << shift;
            long word = memory.get(WORD, at);
            long updated = (word & ~mask) | (slotBits << shift);
            if (updated != word) {
                memory.set(WORD, at, updated);
            }
            return;
        }
        int low = 64 - shift;                            // bits in the first word, the rest in the next
        long word = memory.get(WORD, at);
        long updated = (word & ((1L << shift) - 1)) | (slotBits << shift);
        if (updated != word) {
            memory.set(WORD, at, updated);
        }
        long highMask = (1L << (words - low)) - 1;
        long next = memory.get(WORD, at + 8);
        long nextUpdated = (next & ~highMask) | ((slotBits >>> low) & highMask);
        if (nextUpdated != next) {
            memory.set(WORD, at + 8, nextUpdated);
        }
    }

    /** The bits of the slot at {@code object} of span {@code s} (bit w = word w of the slot). */
    static long read(MemorySegment memory, long base, MSpan s, long object) {
        long bitmap = s.heapBitsOffset(base);
        long firstWord = (object - s.base) >>> 3;
        int words = (int) (s.elemSize >>> 3);
        int shift = (int) (firstWord & 63);
        long at = bitmap + ((firstWord >>> 6) << 3);
        long bits = memory.get(WORD, at) >>> shift;
        if (shift + words > 64) {
            bits |= memory.get(WORD, at + 8) << (64 - shift);
        }
        return words == 64 ? bits : bits & ((1L << words) - 1);
    }
}
