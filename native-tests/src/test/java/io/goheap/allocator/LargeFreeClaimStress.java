package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

/**
 * jcstress: two threads free the same large object at once (a double free racing with itself, possibly into a P's
 * retained spans, see {@code MCache}). Exactly one free may succeed: the claim of the allocation bit is atomic.
 *
 * <p>r1, r2 = whether each free claimed the object. Forbidden: both (the object would be freed twice, its span
 * retained or released twice) and neither (a free of a live object refused).
 */
@JCStressTest
@Outcome(id = {"true, false", "false, true"}, expect = Expect.ACCEPTABLE, desc = "one free wins, the other is a double free")
@Outcome(id = "true, true", expect = Expect.FORBIDDEN, desc = "both frees succeeded")
@Outcome(id = "false, false", expect = Expect.FORBIDDEN, desc = "the free of a live object was refused")
@State
public class LargeFreeClaimStress {
    private final MSpan span = new MSpan(1L << 40, 5, true, false, false, 0);   // no memory behind it: never touched

    @Actor
    public void freeOne(ZZ_Result r) {
        r.r1 = span.claimLargeFree();
    }

    @Actor
    public void freeTwo(ZZ_Result r) {
        r.r2 = span.claimLargeFree();
    }
}
