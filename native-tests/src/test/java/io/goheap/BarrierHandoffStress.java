package io.goheap;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

/**
 * jcstress: the write barrier's hand-off of grey objects ({@link WriteBarrier}): a Mutator (or an assist) queues
 * two grey objects while the marker drains the queue. A buffer travels whole: the marker sees both objects or
 * neither, never a count without its entries.
 *
 * <p>r1 = the sum of what the marker drained, r2 = the sum of what is left queued for termination. Acceptable: all
 * drained (3, 0) or all left (0, 3). Forbidden: anything lost, duplicated or torn.
 */
@JCStressTest
@Outcome(id = {"3, 0", "0, 3"}, expect = Expect.ACCEPTABLE, desc = "the buffer reached the marker whole, or waits whole")
@Outcome(expect = Expect.FORBIDDEN, desc = "a grey object lost, duplicated or seen without its buffer's count")
@State
public class BarrierHandoffStress {
    private final WriteBarrier barrier = new WriteBarrier();
    private final long[] grey = {1, 2};

    @Actor
    public void mutator() {
        barrier.giveGrey(grey, 0, 2);
    }

    @Actor
    public void marker(JJ_Result r) {
        long[] sum = new long[1];
        barrier.drainGrey(object -> sum[0] += object);
        r.r1 = sum[0];
    }

    @Arbiter
    public void termination(JJ_Result r) {
        long[] sum = new long[1];
        barrier.drainGrey(object -> sum[0] += object);
        r.r2 = sum[0];
    }
}
