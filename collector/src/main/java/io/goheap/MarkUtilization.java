package io.goheap;

/**
 * How much CPU the background mark workers of a concurrent mark take (Go's {@code gcBackgroundUtilization} and
 * its split in {@code gcControllerState.startCycle}): 25% of GOMAXPROCS in all, as whole <em>dedicated</em>
 * workers that mark without pause, plus, when rounding to whole workers would miss that goal by more than 30%
 * (GOMAXPROCS ≤ 3 or 6), a <em>fractional</em> worker that marks a fraction of its time. Idle marking — on Ps no
 * running thread uses — comes on top (see {@link BackgroundMarkWorkers}).
 *
 * <p>{@code fractionalGoal} is per P, as Go's {@code fractionalUtilizationGoal}: goheap runs one fractional worker
 * thread, which marks for {@code fractionalGoal × procs} of its wall time (at most one CPU).
 *
 * @param procs          GOMAXPROCS
 * @param dedicated      workers that mark all the time
 * @param fractionalGoal the fraction of each P's time the fractional worker takes (0: none)
 */
record MarkUtilization(int procs, int dedicated, double fractionalGoal) {
    /** Go's: background marking takes a quarter of GOMAXPROCS. */
    static final double BACKGROUND_UTILIZATION = 0.25;
    /** Go's: whole dedicated workers may miss the goal by this much before a fractional worker makes up for it. */
    static final double MAX_UTILIZATION_ERROR = 0.3;

    MarkUtilization {
        if (procs < 1 || dedicated < 0 || dedicated > procs || fractionalGoal < 0 || fractionalGoal > 1) {
            throw new IllegalArgumentException("invalid mark utilization: procs " + procs + ", dedicated "
                    + dedicated + ", fractional " + fractionalGoal);
        }
    }

    /** The split for a concurrent mark with {@code procs} Ps. */
    static MarkUtilization of(int procs) {
        double goal = procs * BACKGROUND_UTILIZATION;
        int dedicated = (int) (goal + 0.5);
        double error = dedicated / goal - 1;
        if (error < -MAX_UTILIZATION_ERROR || error > MAX_UTILIZATION_ERROR) {
            if (dedicated > goal) {
                dedicated--;                       // rounding up overshot: the rest is a fractional worker's
            }
            return new MarkUtilization(procs, dedicated, (goal - dedicated) / procs);
        }
        return new MarkUtilization(procs, dedicated, 0);
    }

    /** The fractional worker's share of one CPU (its goal over all Ps). */
    double fractionalCpus() {
        return fractionalGoal * procs;
    }

    /** Whether a fractional worker runs. */
    boolean hasFractional() {
        return fractionalGoal > 0;
    }
}
