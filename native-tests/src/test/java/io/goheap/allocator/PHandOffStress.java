package io.goheap.allocator;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * jcstress: the P hand-off (see {@link P}). Two threads each try to take one P — idle, or held by a thread that
 * has terminated (a never-started thread stands in: neither is alive) — and, if they get it, bump a plain counter
 * standing for the P's mcache, then release it. Holding the P must exclude the other thread, and a release must
 * publish everything its holder did to the next holder.
 *
 * <p>r1, r2 = the counter each thread read while holding the P, or -1 when it could not take it. Forbidden:
 * both read 0 (both held the P at once, or the second holder missed the first one's write), and both refused
 * (one of them must have found the P idle or its holder dead).
 */
public class PHandOffStress {
    private static final Thread NEVER_STARTED = new Thread(() -> { });

    static int holdAndBump(P p, int[] mcache) {
        if (!p.tryAcquireOrTakeOver(Thread.currentThread())) {
            return -1;
        }
        int seen = mcache[0];
        mcache[0] = seen + 1;
        p.release();
        return seen;
    }

    @JCStressTest
    @Outcome(id = {"0, 1", "1, 0"}, expect = Expect.ACCEPTABLE, desc = "one after the other, the second saw the first")
    @Outcome(id = {"0, -1", "-1, 0"}, expect = Expect.ACCEPTABLE, desc = "one held the P while the other tried")
    @Outcome(id = "0, 0", expect = Expect.FORBIDDEN, desc = "both held the P at once or a hand-off lost a write")
    @Outcome(id = "-1, -1", expect = Expect.FORBIDDEN, desc = "an idle P refused to both")
    @State
    public static class Idle {
        private final P p = new P(0, null, null, false);
        private final int[] mcache = new int[1];

        @Actor
        public void one(II_Result r) {
            r.r1 = holdAndBump(p, mcache);
        }

        @Actor
        public void two(II_Result r) {
            r.r2 = holdAndBump(p, mcache);
        }
    }

    @JCStressTest
    @Outcome(id = {"0, 1", "1, 0"}, expect = Expect.ACCEPTABLE, desc = "one took over, released, the other took it")
    @Outcome(id = {"0, -1", "-1, 0"}, expect = Expect.ACCEPTABLE, desc = "one took over while the other tried")
    @Outcome(id = "0, 0", expect = Expect.FORBIDDEN, desc = "both took the dead thread's P at once")
    @Outcome(id = "-1, -1", expect = Expect.FORBIDDEN, desc = "a dead thread's P refused to both")
    @State
    public static class TakeOver {
        private final P p = new P(0, null, null, false);
        private final int[] mcache = new int[1];

        public TakeOver() {
            if (!p.tryAcquire(NEVER_STARTED)) {
                throw new AssertionError("fresh P not idle");
            }
        }

        @Actor
        public void one(II_Result r) {
            r.r1 = holdAndBump(p, mcache);
        }

        @Actor
        public void two(II_Result r) {
            r.r2 = holdAndBump(p, mcache);
        }
    }
}
