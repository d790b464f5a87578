package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * jcstress: a safe-holder mark left by a thread that lost its P never vouches for the P's next holder. The old
 * holder left {@code safeHolder} set (it died parked); a new thread takes the P over and will run; a stopper
 * checks whether the P is lent ({@code safeHolder == owner}).
 *
 * <p>r1 = 1 if the taker got the P; r2 = 1 if the stopper counted the P as lent. Forbidden: r1 = 1 and r2 = 1
 * — the new holder runs while the stopper believes the P is stopped.
 */
@JCStressTest
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "the taker runs; the stopper waits for it")
@Outcome(id = "1, 1", expect = Expect.FORBIDDEN, desc = "a stale mark vouched for the new holder")
@Outcome(id = "0, .*", expect = Expect.FORBIDDEN, desc = "the take-over of a dead holder's P failed")
@State
public class StaleSafeHolderStress {
    private static final Thread DEAD = deadThread();
    private static final Thread TAKER = new Thread();
    private final P p = leftBy(DEAD);

    private static Thread deadThread() {
        Thread t = new Thread();                  // no lambda: its body would wait for this class's initialisation
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return t;
    }

    private static P leftBy(Thread dead) {
        P p = new P(0, null, null, false);
        p.tryAcquire(dead);
        p.safeHolder = dead;
        return p;
    }

    @Actor
    public void takeOver(II_Result r) {
        r.r1 = p.tryAcquireOrTakeOver(TAKER) ? 1 : 0;
    }

    @Actor
    public void stopperChecks(II_Result r) {
        p.preempt |= P.STOP;
        Thread owner = p.ownerPlain();
        r.r2 = owner != null && owner != DEAD && p.safeHolder == owner ? 1 : 0;
    }
}
