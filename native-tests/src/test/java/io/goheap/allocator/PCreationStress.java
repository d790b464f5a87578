package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * jcstress: a P made on demand while a stop of the world is claimed (see {@link Procs}, "A P made while Ps are
 * enumerated"). The heap's only P is held by a running thread; one thread finds none idle and makes a P
 * ({@link Procs#create}); another claims the stop ({@link Procs#tryClaimStop}) and then reads the list of Ps, as
 * the stopper does before it counts Ps stopped.
 *
 * <p>r1 = 1 if the creator kept its new P (it will run on it); r2 = the number of Ps the stopper enumerates.
 * Forbidden: r1 = 1 and r2 = 1 — the creator runs on a P the stopper never waits for, so a collection would run
 * beside it. Every other combination is safe: a stopper that sees the new P waits for its holder (or takes it idle),
 * and a creator that sees the claim gives its P back untouched.
 */
@JCStressTest
@Outcome(id = "1, 2", expect = Expect.ACCEPTABLE, desc = "the creator runs; the stopper sees its P and will wait")
@Outcome(id = "0, 2", expect = Expect.ACCEPTABLE, desc = "the creator saw the claim and gave back a P the stopper sees")
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE_INTERESTING, desc = "the creator saw the claim; the stopper enumerated first")
@Outcome(id = "1, 1", expect = Expect.FORBIDDEN, desc = "the creator runs on a P the stopper missed")
@State
public class PCreationStress {
    private static final Thread BUSY = new Thread();          // (alive or not: the creator calls create directly)
    private static final Thread CREATOR = new Thread();
    private static final Thread STOPPER = new Thread();
    private final Procs procs = holdingOnlyP();

    private static Procs holdingOnlyP() {
        Procs procs = new Procs(() -> null, 1, new StallReports(1_000_000_000L, null));
        procs.get(0).tryAcquire(BUSY);
        return procs;
    }

    @Actor
    public void create(II_Result r) {
        r.r1 = procs.create(CREATOR) != null ? 1 : 0;
    }

    @Actor
    public void claimThenEnumerate(II_Result r) {
        if (!procs.tryClaimStop(STOPPER)) {
            throw new IllegalStateException("one stopper only");
        }
        r.r2 = procs.count();
    }
}
