package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * jcstress: a remote free races with the owner's merge of remote frees (the remote-free protocol of
 * {@code MCentral}). The free must end up either merged into the allocation bits or still pending — bit set and
 * counted — never lost, never merged twice.
 *
 * <p>r1 = 1 if the remote free was accepted; r2 = objects the owner merged; r3 = 1 if, afterwards, the object is
 * accounted for: merged (allocation bit clear, nothing pending) or pending (remote bit set, pending count 1).
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = Expect.ACCEPTABLE, desc = "the owner merged the free")
@Outcome(id = "1, 0, 1", expect = Expect.ACCEPTABLE, desc = "the free waits for the owner's next merge")
@Outcome(id = ".*, .*, 0", expect = Expect.FORBIDDEN, desc = "the free was lost or merged inconsistently")
@Outcome(id = "0, .*, .*", expect = Expect.FORBIDDEN, desc = "a first free was refused")
@State
public class RemoteFreeMergeStress {
    private final MSpan span = newSpan();

    private static MSpan newSpan() {
        // a 16-byte-object span over no memory: only its bitmaps are used; two objects allocated by the owner
        MSpan s = new MSpan(1L << 40, 1, SizeClasses.spanClass(2, true), false, false, 0);
        s.nextFreeFast();
        s.nextFreeFast();
        return s;
    }

    @Actor
    public void remoteFree(III_Result r) {
        r.r1 = span.recordRemoteFree(1) != -1 ? 1 : 0;
    }

    @Actor
    public void ownerMerges(III_Result r) {
        r.r2 = span.mergeRemoteFrees(false, null);
    }

    @Arbiter
    public void check(III_Result r) {
        long pending = span.remote() & MSpan.R_PENDING_MASK;
        boolean merged = !span.isAllocated(1) && !span.isRemoteFreed(1) && pending == 0 && span.allocCount == 1;
        boolean waiting = span.isAllocated(1) && span.isRemoteFreed(1) && pending == 1 && span.allocCount == 2;
        r.r3 = (merged || waiting) && span.isAllocated(0) ? 1 : 0;
    }
}
