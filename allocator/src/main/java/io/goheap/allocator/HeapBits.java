package io.goheap.allocator;

/**
 * Heap bits (Go 1.22's {@code mbitmap} for small objects): a one-page scan span of objects of at most 512 bytes
 * keeps one bit per 8-byte word of the span — 1 = the word is a pointer slot — in its {@link MSpan#typeInfo}
 * (16 words for a page). Go keeps them in the span's last 128 bytes; here they live on the Java heap, out of reach
 * of any store into the heap's memory, so a stray store past an object's end can change data but never what the
 * marker takes for a pointer (the span's last 128 bytes, which {@link SizeClasses#scanObjects} still leaves free,
 * hold nothing). An object's bits are written when it is allocated ({@link #write}, by the allocating thread before
 * the address escapes) and read by the marker ({@link #read}). An object of at most 512 bytes covers at most 64
 * words, so its bits span one or two bitmap words. Only the owner of the span's slot writes a slot's bits; the
 * words shared with neighbouring slots are read-modify-written by the span's owner only (allocation happens in the
 * owning mcache), so plain accesses suffice; a concurrent marker reads an object's bits only after the object's
 * address reached it through a store or a handshake, which orders the bits' writes before.
 */
final class HeapBits {
    private HeapBits() {
    }

    /** Sets the bits of the slot at {@code address} of span {@code s} to {@code slotBits} (bit w = word w). */
    static void write(MSpan s, long address, long slotBits) {
        long[] bitmap = s.typeInfo;
        long firstWord = (address - s.base) >>> 3;
        int words = (int) (s.elemSize >>> 3);
        int shift = (int) (firstWord & 63);
        int at = (int) (firstWord >>> 6);
        if (shift + words <= 64) {                       // the common case: one bitmap word
            long mask = (words == 64 ? -1L : (1L << words) - 1) << shift;
            long word = bitmap[at];
            long updated = (word & ~mask) | (slotBits << shift);
            if (updated != word) {
                bitmap[at] = updated;
            }
            return;
        }
        int low = 64 - shift;                            // bits in the first word, the rest in the next
        long word = bitmap[at];
        long updated = (word & ((1L << shift) - 1)) | (slotBits << shift);
        if (updated != word) {
            bitmap[at] = updated;
        }
        long highMask = (1L << (words - low)) - 1;
        long next = bitmap[at + 1];
        long nextUpdated = (next & ~highMask) | ((slotBits >>> low) & highMask);
        if (nextUpdated != next) {
            bitmap[at + 1] = nextUpdated;
        }
    }

    /** The bits of the slot at {@code object} of span {@code s} (bit w = word w of the slot). */
    static long read(MSpan s, long object) {
        long[] bitmap = s.typeInfo;
        long firstWord = (object - s.base) >>> 3;
        int words = (int) (s.elemSize >>> 3);
        int shift = (int) (firstWord & 63);
        int at = (int) (firstWord >>> 6);
        long bits = bitmap[at] >>> shift;
        if (shift + words > 64) {
            bits |= bitmap[at + 1] << (64 - shift);
        }
        return words == 64 ? bits : bits & ((1L << words) - 1);
    }
}
