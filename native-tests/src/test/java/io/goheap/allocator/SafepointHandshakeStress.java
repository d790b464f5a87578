package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * jcstress: the Dekker pair of the safepoint protocol ({@link P}, {@link Procs}), on the real P fields. A holder
 * that was safe (parked or in a blocking region) leaves: it writes {@code safeHolder = null}, then reads the
 * preempt word. A stopper arrives: it sets STOP, then reads whether the P is lent ({@code safeHolder == owner}).
 *
 * <p>r1 = the preempt word the holder saw (1 = STOP); r2 = 1 if the stopper counted the P as lent.
 * Forbidden: r1 = 0 and r2 = 1 — the holder goes on running while the stopper believes its P stopped (both would
 * touch the mcache). Every other outcome is allowed: the holder parks again (r1 = 1) or the stopper waits (r2 = 0).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "both saw each other: the holder parks again, the P stays lent")
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "the holder saw STOP and parks; the stopper waits for its ack")
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "the holder runs; the stopper waits for its next poll")
@Outcome(id = "0, 1", expect = Expect.FORBIDDEN, desc = "the holder runs while the stopper counts its P as stopped")
@State
public class SafepointHandshakeStress {
    private static final Thread HOLDER = new Thread();
    private final P p = lentBy(HOLDER);

    private static P lentBy(Thread holder) {
        P p = new P(0, null, null, false);
        p.tryAcquire(holder);
        p.safeHolder = holder;
        return p;
    }

    @Actor
    public void holderLeavesSafe(II_Result r) {
        p.safeHolder = null;
        r.r1 = p.preempt & P.STOP;
    }

    @Actor
    public void stopperArrives(II_Result r) {
        p.preempt |= P.STOP;
        Thread owner = p.ownerPlain();
        r.r2 = p.safeHolder == owner ? 1 : 0;
    }
}
