package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * jcstress: a handshake for a lent P ({@link Procs#handshake}), on the real P fields. The P's holder sits in a
 * blocking region with a handshake pending. It leaves: writes {@code safeHolder = null}, reads the preempt word,
 * and — if no STOP — claims the pending action at its poll. The handshaker, finding the P lent, sets STOP on this P
 * alone, checks it is still lent, and claims the action to run it on the holder's behalf.
 *
 * <p>r1: the holder 2 = saw STOP (parks until the handshaker is done), 1 = ran the action, 0 = found it claimed.
 * r2: the handshaker 1 = ran the action while the P was lent, 0 = did not. Forbidden: both ran it (1, 1); the
 * handshaker ran it while the holder went on (0, 1) — both would use the P's mcache; nobody ran it (0, 0).
 */
@JCStressTest
@Outcome(id = "2, 1", expect = Expect.ACCEPTABLE, desc = "the holder parks; the handshaker runs the action for it")
@Outcome(id = "2, 0", expect = Expect.ACCEPTABLE, desc = "the holder parks; the handshaker saw it leaving (retries later)")
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "the holder ran the action at its poll")
@Outcome(id = "1, 1", expect = Expect.FORBIDDEN, desc = "the action ran twice")
@Outcome(id = "0, 1", expect = Expect.FORBIDDEN, desc = "the handshaker used the P while its holder ran")
@Outcome(id = "0, 0", expect = Expect.FORBIDDEN, desc = "nobody ran the action")
@State
public class HandshakeClaimStress {
    private static final Thread HOLDER = new Thread();
    private final P p = pending();

    private static P pending() {
        P p = new P(0, null, null, false);
        p.tryAcquire(HOLDER);
        p.safeHolder = HOLDER;                           // inside a blocking region
        p.handshakeState = P.HS_PENDING;
        p.request(P.HANDSHAKE);
        return p;
    }

    @Actor
    public void holderLeavesItsRegion(II_Result r) {
        p.safeHolder = null;
        if ((p.preempt & P.STOP) != 0) {
            r.r1 = 2;                                    // Procs.leaveSafe parks here until STOP is withdrawn
        } else {
            r.r1 = p.claimHandshake() ? 1 : 0;
        }
    }

    @Actor
    public void handshakerFindsItLent(II_Result r) {
        p.request(P.STOP);
        Thread owner = p.ownerPlain();
        r.r2 = p.safeHolder == owner && p.claimHandshake() ? 1 : 0;
    }
}
