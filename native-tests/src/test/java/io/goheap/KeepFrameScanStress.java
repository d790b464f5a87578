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
 * jcstress: a {@code keep} against the concurrent mark's frame scan ({@link LocalFrames}), on the real frames and
 * phase word. The collector turns the write barrier's phase word on, then asks for the frame-scan handshake. The
 * owner thread polls — running the pending step itself if it sees the request — then keeps an address. Whoever
 * has not run the step when both are done runs it afterwards (the arbiter: the owner's next poll, or the collector
 * for a parked owner). The handshake's exactly-once claim is {@code HandshakeClaimStress}'s subject; here a CAS
 * stands for it.
 *
 * <p>r1 = who read the frames: 1 the owner at its poll, 2 a later step. r2 = the scan read the kept address.
 * r3 = the keep recorded it in the barrier. Forbidden: neither (r2 = r3 = 0) — the mark would miss it.
 */
@JCStressTest
@Outcome(id = "1, 0, 1", expect = Expect.ACCEPTABLE, desc = "the owner scanned at its poll; its keep saw the mark on")
@Outcome(id = "2, 1, 0", expect = Expect.ACCEPTABLE, desc = "the keep came before the mark: the later scan read it")
@Outcome(id = "2, 1, 1", expect = Expect.ACCEPTABLE, desc = "the keep saw the mark on, and the later scan read it too")
@Outcome(expect = Expect.FORBIDDEN, desc = "a kept address neither scanned nor recorded")
@State
public class KeepFrameScanStress {
    private static final long ADDRESS = 0x1000;
    private final WriteBarrier barrier = new WriteBarrier();
    private int recorded;
    private final LocalFrames frames = new LocalFrames(barrier, a -> recorded += a == ADDRESS ? 1 : 0);
    /** The handshake: 0 none, 1 pending, 2 claimed. */
    private final AtomicInteger handshake = new AtomicInteger();
    private volatile int scannedBy;
    private int seen;

    private void scan(int by) {
        scannedBy = by;
        frames.scanOnce(1, a -> seen += a == ADDRESS ? 1 : 0);
    }

    @Actor
    public void collector() {
        barrier.marking = true;                          // the phase word, then the handshake
        handshake.set(1);
    }

    @Actor
    public void owner() {
        if (handshake.get() == 1 && handshake.compareAndSet(1, 2)) {
            scan(1);                                     // the step at the owner's poll
        }
        frames.keep(ADDRESS);
    }

    @Arbiter
    public void laterStep(III_Result r) {
        if (handshake.get() != 2) {
            scan(2);
        }
        r.r1 = scannedBy;
        r.r2 = seen;
        r.r3 = recorded;
    }
}
