package io.goheap;

import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * jcstress: the end of a round of background marking ({@link BackgroundMarkWorkers}). A worker that holds one grey
 * object stops (its mode says it may not mark now): it gives the object to the barrier's queue, then counts
 * itself out of {@code busy}. An idle worker meanwhile asks whether the round is over
 * ({@link BackgroundMarkWorkers#nothingLeft}) and, if not, drains the queue.
 *
 * <p>r1 = 1 when the idle worker found the round over, r2 = what it drained, r3 = what is left queued at the end.
 * The round can never be over here: the object is held or queued throughout, and the rule reads the counts before
 * the queue. Acceptable: not over, the object drained by the idle worker or left queued. Forbidden: over (reading
 * the queue first would allow it: empty before the give, busy 0 after it), or the object lost or duplicated.
 */
@JCStressTest
@Outcome(id = {"0, 1, 0", "0, 0, 1"}, expect = Expect.ACCEPTABLE, desc = "not over; the object drained or still queued")
@Outcome(expect = Expect.FORBIDDEN, desc = "the round ended while a grey object was held or queued, or it was lost")
@State
public class MarkRoundEndStress {
    private final WriteBarrier barrier = new WriteBarrier();
    private final AtomicInteger busy = new AtomicInteger(1);     // the stopping worker, counted in
    private final long[] grey = {1};

    @Actor
    public void stoppingWorker() {
        barrier.giveGrey(grey, 0, 1);                           // give first...
        busy.decrementAndGet();                                 // ...then count out (BackgroundMarkWorkers#work)
    }

    @Actor
    public void idleWorker(III_Result r) {
        if (BackgroundMarkWorkers.nothingLeft(busy, barrier)) {
            r.r1 = 1;
            return;
        }
        long[] sum = new long[1];
        barrier.drainGrey(object -> sum[0] += object);
        r.r2 = (int) sum[0];
    }

    @Arbiter
    public void termination(III_Result r) {
        long[] sum = new long[1];
        barrier.drainGrey(object -> sum[0] += object);
        r.r3 = (int) sum[0];
    }
}
