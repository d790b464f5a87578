package io.goheap;

import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * One {@link Mutator}'s local frames (Go's goroutine stack, as far as the collector sees it): a stack of kept
 * addresses, each a root until the frame that kept it is closed.
 *
 * <h2>Who touches what</h2>
 * {@link #keep}, {@link #height} and {@link #popTo} run on the owner thread only, with its P held and outside any
 * blocking region, between two of its polls. {@link #scanOnce} runs once per concurrent mark, as a handshake step:
 * on the owner thread at its poll, or on the collector's thread while the owner is parked at a safepoint or in a
 * blocking region — never beside a keep or a pop (the handshake's claim, and the Dekker pair of the P, order the
 * owner's last writes before the read). {@link #forEach} runs with the world stopped.
 *
 * <h2>Keep versus the frame scan (the protocol {@code KeepFrameScanStress} checks)</h2>
 * A keep reads the write barrier's phase word ({@link WriteBarrier#marking}) and, when a mark runs, records the
 * address in the barrier before it pushes it. The mark turns the word on before the handshake that scans frames
 * starts, and the keep runs between two polls, so every keep either finished before the owner's step (the scan
 * reads the address) or sees the word on (the barrier has it). Allowed: both (shaded twice). Forbidden: a kept
 * address the scan did not read and the barrier did not record, once the step has run.
 */
final class LocalFrames {
    private final WriteBarrier barrier;
    /** Where a keep records its address while a mark runs (the owner's barrier buffer). */
    private final LongConsumer record;
    private long[] locals = new long[32];
    private int count;
    /** The last mark whose scan read these frames; 0 for none. */
    private long scannedInMark;

    LocalFrames(WriteBarrier barrier, LongConsumer record) {
        this.barrier = barrier;
        this.record = record;
    }

    /** Pushes {@code address}; while a mark runs, records it in the barrier first (the frame may be read already). */
    void keep(long address) {
        if (barrier.marking && address != 0) {
            record.accept(address);
        }
        if (count == locals.length) {
            locals = Arrays.copyOf(locals, locals.length * 2);
        }
        locals[count++] = address;
    }

    int height() {
        return count;
    }

    /** Drops every address kept above {@code height}. */
    void popTo(int height) {
        count = Math.min(count, height);
    }

    /**
     * Reads every non-zero address into {@code shade} unless mark {@code mark} already read these frames; returns
     * the slots read (0 when it had).
     */
    synchronized int scanOnce(long mark, LongConsumer shade) {
        if (scannedInMark == mark) {
            return 0;
        }
        scannedInMark = mark;
        long[] l = locals;
        int n = Math.min(count, l.length);
        for (int i = 0; i < n; i++) {
            if (l[i] != 0) {
                shade.accept(l[i]);
            }
        }
        return n;
    }

    /** The last mark whose scan read these frames, 0 for none (tests). */
    synchronized long scannedInMark() {
        return scannedInMark;
    }

    /** Every non-zero address (world stopped). */
    void forEach(LongConsumer visitor) {
        long[] l = locals;
        for (int i = 0, n = Math.min(count, l.length); i < n; i++) {
            if (l[i] != 0) {
                visitor.accept(l[i]);
            }
        }
    }
}
