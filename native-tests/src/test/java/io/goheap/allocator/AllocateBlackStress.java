package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZZZ_Result;

/**
 * jcstress: allocate-black against a concurrent marker, on one word of a collected span's bits (see {@code MCache}
 * and {@code MSpan#tryMark}). The allocating thread sets object 3's allocation bit with a plain store (the owner's
 * fast path) and marks it (allocate-black); the marker marks objects 3 and 5 of the same mark word with its plain
 * check and atomic OR. The allocation and mark halves share one array.
 *
 * <p>r1 = the allocator's mark claimed object 3, r2 = the marker's mark claimed object 3, r3 = object 3's allocation
 * bit survived, r4 = every mark bit (3 and 5) survived. Forbidden: both or neither claiming object 3 (a double or a
 * lost claim), a lost allocation bit, a lost mark bit.
 */
@JCStressTest
@Outcome(id = {"true, false, true, true", "false, true, true, true"}, expect = Expect.ACCEPTABLE,
        desc = "one claim of object 3, every bit kept")
@Outcome(expect = Expect.FORBIDDEN, desc = "a double or lost claim, or a lost bit")
@State
public class AllocateBlackStress {
    /** A small collected span of 128 objects (64-byte class), no memory behind it: bits only. */
    private final MSpan span = new MSpan(1L << 40, 1, SizeClasses.spanClass(SizeClasses.sizeToClass(64), false),
            true, false, 0);

    @Actor
    public void allocateBlack(ZZZZ_Result r) {
        span.allocBits[0] |= 1L << 3;                   // the owner's plain allocation store
        r.r1 = span.tryMark(3, null);                    // then allocate-black
    }

    @Actor
    public void marker(ZZZZ_Result r) {
        r.r2 = span.tryMark(3, null);
        span.tryMark(5, null);
    }

    @Arbiter
    public void check(ZZZZ_Result r) {
        r.r3 = (span.allocBits[0] & (1L << 3)) != 0;
        r.r4 = span.isMarked(3) && span.isMarked(5);
    }
}
