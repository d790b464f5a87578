package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The pacer's arithmetic against Go's (mgcpacer.go and the expectations of Go's mgcpacer_test.go and
 * debug/garbage_test.go), and the pacer in a simulated steady state, as Go's TestGcPacer drives its own: a
 * program allocating at a fixed rate per CPU beside a mark scanning at a fixed rate with 25% of the CPUs.
 */
class GcPacerTest {
    private static final long MIB = 1L << 20;

    /** Go's TestSetGCPercent: a 100 MiB live heap has a goal of 200 MiB at GOGC=100, 150 MiB at 50. */
    @Test
    void theGoalIsGoGogcGoal() {
        assertEquals(200 * MIB, GcPacer.goal(100 * MIB, 100));
        assertEquals(150 * MIB, GcPacer.goal(100 * MIB, 50));
        assertEquals(4 * MIB, GcPacer.goal(0, 100), "Go's heap minimum: 4 MiB x GOGC/100");
        assertEquals(2 * MIB, GcPacer.goal(MIB / 2, 50));
        assertEquals(Long.MAX_VALUE, GcPacer.goal(100 * MIB, -1));
        GcPacer p = new GcPacer(100, Long.MAX_VALUE);
        p.commit(100 * MIB, 10 * MIB, 0, null);
        assertEquals(200 * MIB, p.goal());
        assertEquals(100, p.setGcPercent(50), "returns the previous value");
        assertEquals(150 * MIB, p.goal(), "re-paced at once, with no cycle");
        assertTrue(p.trigger() >= 100 * MIB && p.trigger() <= p.goal());
    }

    /** Go's commit: the goal less the runway consMark x (1 - 0.25) / 0.25 x scan work, between 0.7 and 0.95. */
    @Test
    void theTriggerIsTheGoalLessTheRunway() {
        long live = 100 * MIB;
        long goal = 200 * MIB;
        long scan = 50 * MIB;
        // runway 0.1 x 3 x 50 MiB = 15 MiB
        assertEquals(185 * MIB, GcPacer.runwayTrigger(live, goal, 0.1, scan));
        // runway 150 MiB: earlier than 0.7 of the way, so at 0.7
        assertEquals(170 * MIB, GcPacer.runwayTrigger(live, goal, 1.0, scan));
        // runway 1.5 MiB: later than the latest, max(0.95 of the way, goal - 4 MiB) = 196 MiB
        assertEquals(196 * MIB, GcPacer.runwayTrigger(live, goal, 0.01, scan));
        // a small heap: 0.95 of the way (goal - 4 MiB would be earlier)
        assertEquals((long) (4 * MIB * 0.95), GcPacer.runwayTrigger(0, 4 * MIB, 0.0001, MIB));
        assertEquals(goal, GcPacer.runwayTrigger(goal + 1, goal, 0.1, scan), "live past the goal: at the goal");
        assertEquals(Long.MAX_VALUE, GcPacer.runwayTrigger(live, Long.MAX_VALUE, 0.1, scan));
    }

    /**
     * Go's cons/mark: a mark that scanned S with the background's 25% alone while the program allocated A with
     * the other 75% measures a runway of exactly A — the next mark, started A before the goal, ends at it.
     */
    @Test
    void consMarkGivesARunwayOfWhatTheMarkAllocated() {
        long allocated = 60 * MIB;
        long scan = 40 * MIB;
        double cm = GcPacer.consMark(allocated, scan, 1_000_000_000L, 0, 0, 4);
        assertEquals(60.0 * 0.25 / (40 * 0.75), cm, 1e-12);
        long goal = 400 * MIB;
        assertEquals(goal - allocated, GcPacer.runwayTrigger(200 * MIB, goal, cm, scan), MIB / 1024.0);
        // assists used 25% more of the CPUs: u = 0.5, so the same allocation means a faster program
        assertEquals(60.0 * 0.5 / (40 * 0.5), GcPacer.consMark(allocated, scan, 1_000_000_000L,
                1_000_000_000L, 0, 4), 1e-12);
        // idle marking counts for the collector (Go's idleUtilization), not against the program
        assertEquals(60.0 * 0.5 / (40 * 0.75), GcPacer.consMark(allocated, scan, 1_000_000_000L, 0,
                1_000_000_000L, 4), 1e-12);
        assertTrue(Double.isNaN(GcPacer.consMark(0, scan, 1, 0, 0, 4)), "nothing allocated: no sample");
        assertTrue(Double.isNaN(GcPacer.consMark(allocated, 0, 1, 0, 0, 4)), "nothing scanned: no sample");
    }

    /** The largest of the last four samples (Go 1.21+), so one low sample does not start the next mark late. */
    @Test
    void consMarkIsTheLargestOfTheLastFour() {
        GcPacer p = new GcPacer(100, Long.MAX_VALUE);
        double[] samples = {0.5, 0.1, 0.1, 0.1, 0.1, 0.2};
        double[] expected = {0.5, 0.5, 0.5, 0.5, 0.1, 0.2};
        for (int i = 0; i < samples.length; i++) {
            p.startMark();
            // allocated x 0.25 / (scan x 0.75) = sample  <=>  allocated = sample x 3 x scan
            long scan = 10 * MIB;
            p.addAllocated((long) (samples[i] * 3 * scan));
            p.endMark(p.heapLive(), scan, 1_000_000, 0, 0, 2);
            assertEquals(expected[i], p.consMark(), 1e-6, "after sample " + i);
            p.commit(0, scan, 0, null);
        }
    }

    /** Go's revise: the scan work still expected over the heap still to allocate before the goal. */
    @Test
    void assistWorkPerByteIsTheWorkLeftOverTheHeapLeft() {
        long expected = 100 * MIB;
        long marked = 100 * MIB;
        long start = 170 * MIB;
        long goal = 200 * MIB;
        long hard = 220 * MIB;
        // nothing done, 30 MiB left to the goal: 100 / 30
        assertEquals(100.0 / 30, GcPacer.assistWorkPerByte(start, 0, goal, expected, start, marked, hard), 1e-9);
        // half done with 10 MiB left: 50 / 10
        assertEquals(5.0, GcPacer.assistWorkPerByte(190 * MIB, 50 * MIB, goal, expected, start, marked, hard), 1e-9);
        // more done than expected: the heap grew 1.7x, so the worst case is 170 MiB of work, and the goal moves out
        // in proportion (170 + 30 x 1.7 = 221 MiB, capped at the hard goal of 220 MiB)
        assertEquals((170.0 - 120) / (220 - 180),
                GcPacer.assistWorkPerByte(180 * MIB, 120 * MIB, goal, expected, start, marked, hard), 1e-9);
        // past the goal with the work on estimate: the rest of the worst case toward the hard goal
        assertEquals((170.0 - 90) / (220 - 205),
                GcPacer.assistWorkPerByte(205 * MIB, 90 * MIB, goal, expected, start, marked, hard), 1e-9);
        // work done: a little is still owed (Go's 1000 bytes), over at least 64 KiB of heap
        assertEquals(1000.0 / (64 << 10),
                GcPacer.assistWorkPerByte(225 * MIB, 500 * MIB, goal, expected, start, marked, hard), 1e-12);
    }

    /** An assist pays first with the background workers' credit (Go's bgScanCredit), and scans only the rest. */
    @Test
    void anAssistTakesTheBackgroundCreditFirst() {
        GcPacer p = new GcPacer(100, Long.MAX_VALUE);
        p.commit(100 * MIB, 100 * MIB, 0, null);
        p.addAllocated(70 * MIB);                                   // at the trigger, 170 MiB
        p.startMark();
        long owedWithoutCredit = p.assistBudget(64 << 10, p.heapLive(), 0);
        assertEquals((long) ((64 << 10) * (100.0 / 30)), owedWithoutCredit);
        p.addBackgroundWork(100 << 10);
        // the work left is now 100 MiB - 100 KiB, and 100 KiB of credit pays most of the payment
        long owed = (long) ((64 << 10) * ((100.0 * MIB - (100 << 10)) / (30 * MIB)));
        assertEquals(owed - (100 << 10), p.assistBudget(64 << 10, p.heapLive(), 0));
        assertTrue(p.assistBudget(1024, p.heapLive(), 0) > 0, "the credit was all taken: the next payment scans");
        p.addBackgroundWork(10 * MIB);
        assertEquals(0, p.assistBudget(64 << 10, p.heapLive(), 0), "credit covers the whole payment");
        p.commit(100 * MIB, 100 * MIB, 0, null);
        p.setGcPercent(-1);
        assertEquals(0, p.assistBudget(64 << 10, 150 * MIB, 0), "GOGC off: nothing paces the threads");
    }

    /**
     * While the memory limit sets the goal, a payment is at least the last mark's whole scan work over the heap
     * left and takes no credit (the margin under the limit first); with GOGC's goal the same credit pays it all.
     */
    @Test
    void underAMemoryLimitAssistsPayTheWholeWorkAndTakeNoCredit() {
        for (boolean limited : new boolean[] {true, false}) {
            Heap.Builder b = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(100).godebug("");
            try (Heap heap = (limited ? b.memoryLimit("64MiB") : b).build(); Mutator m = heap.attach()) {
                long live = m.malloc(40 * MIB);            // manual bytes count in the live heap
                m.gc();
                GcPacer p = heap.collector.pacer;
                assertEquals(limited, p.goal() < GcPacer.goal(p.heapMarked(), 100), "the limit sets the goal");
                p.startMark();
                p.addBackgroundWork(64 * MIB);
                long budget = p.assistBudget(64 << 10, p.heapLive(), 0);
                if (limited) {
                    long distance = Math.max(p.goal() - p.heapLive(), MIB);
                    assertTrue(budget >= (long) ((64 << 10) * ((double) p.lastScanWork() / distance)) - 1,
                            "budget " + budget);
                } else {
                    assertEquals(0, budget, "the background's credit pays the whole payment");
                }
                m.free(live);
            }
        }
    }

    /** Threads taking credit while a worker publishes it take, together, exactly what was published: never more. */
    @Test
    void creditIsNeverTakenTwice() throws Exception {
        for (int round = 0; round < 20; round++) {
            GcPacer p = new GcPacer(100, Long.MAX_VALUE);
            p.startMark();
            long published = 0;
            AtomicLong taken = new AtomicLong();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int want = 700 + 300 * t;
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < 5_000; i++) {
                        long got = p.takeCredit(want);
                        assertTrue(got >= 0 && got <= want, "took " + got + " of " + want);
                        taken.addAndGet(got);
                    }
                });
                threads.add(th);
                th.start();
            }
            go.countDown();
            for (int i = 0; i < 2_000; i++) {
                p.addBackgroundWork(1 + i % 3_000);
                published += 1 + i % 3_000;
            }
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(published, taken.get() + p.takeCredit(Long.MAX_VALUE), "credit taken twice or lost");
        }
    }

    /**
     * Go's TestGcPacer in small: a steady program (256 MiB live, a quarter of it pointer slots, allocating at a
     * fixed rate per CPU) on 2 CPUs beside a mark scanning with 25% of them. After a few cycles the trigger has
     * moved to where the background mark alone ends at the goal: the heap at each mark's end is within 3% under
     * the goal and assists scan under 2% of the work. With a program allocating faster than the background can
     * follow, the trigger stays at 0.7 and the revised assists end every mark at the goal, never past it.
     */
    @Test
    void aSteadyProgramsMarkEndsAtTheGoalWithNoAssist() {
        Sim light = simulate(0.2, 12);
        for (int c = 6; c < 12; c++) {
            assertTrue(light.endHeap[c] <= light.goal[c], "cycle " + c + ": " + light.endHeap[c] + " > " + light.goal[c]);
            assertTrue(light.endHeap[c] >= light.goal[c] * 0.97, "cycle " + c + " ended early: trigger not adapted");
            assertTrue(light.assistWork[c] < 0.02 * light.scanWork, "cycle " + c + " assists " + light.assistWork[c]);
        }
        Sim heavy = simulate(4.0, 12);
        for (int c = 2; c < 12; c++) {
            assertTrue(heavy.endHeap[c] <= heavy.goal[c] + (1 << 20), "cycle " + c + " ran past the goal");
            assertTrue(heavy.assistWork[c] > 0, "the background alone cannot keep up: assists must pay");
        }
    }

    /** One simulated run's per-cycle figures. */
    private record Sim(long[] endHeap, long[] goal, long[] assistWork, long scanWork) {
    }

    /**
     * Simulates {@code cycles} cycles of a program whose allocation rate per CPU is {@code consMark} times the
     * mark's scan rate per CPU, in steps of 10 µs: outside a mark the program has both CPUs; during one, the
     * background has 25% and the program the rest, paying assists (scan work at the scan rate) out of its time.
     */
    private static Sim simulate(double consMark, int cycles) {
        int procs = 2;
        long live = 256 * MIB;
        long scanWork = live / 4;
        double scanRate = 0.5;                      // bytes of scan work per ns per CPU
        double allocRate = consMark * scanRate;     // bytes allocated per ns per CPU
        long step = 10_000;
        GcPacer p = new GcPacer(100, Long.MAX_VALUE);
        p.commit(live, scanWork, 0, null);
        long[] endHeap = new long[cycles];
        long[] goal = new long[cycles];
        long[] assistWork = new long[cycles];
        for (int c = 0; c < cycles; c++) {
            while (p.heapLive() < p.trigger()) {
                p.addAllocated((long) (allocRate * procs * step));
            }
            p.startMark();
            goal[c] = p.goal();
            long done = 0;
            long assists = 0;
            long nanos = 0;
            long assistNanos = 0;
            double owedAlloc = 0;
            while (done < scanWork) {
                long bg = (long) (scanRate * procs * GcPacer.GOAL_UTILIZATION * step);
                p.addBackgroundWork(bg);
                done += bg;
                double programNanos = procs * (1 - GcPacer.GOAL_UTILIZATION) * step;
                owedAlloc += allocRate * programNanos;
                while (owedAlloc >= 64 << 10 && done < scanWork) {
                    long budget = p.assistBudget(64 << 10, p.addAllocated(64 << 10), assists);
                    owedAlloc -= 64 << 10;
                    assists += budget;
                    done += budget;
                    double cost = budget / scanRate;   // the assist's time comes out of the program's allocation
                    owedAlloc -= cost * allocRate;
                    assistNanos += (long) cost;
                }
                nanos += step;
            }
            endHeap[c] = p.heapLive();
            assistWork[c] = assists;
            p.endMark(p.heapLive(), scanWork, nanos, assistNanos, 0, procs);
            p.commit(live, scanWork, 0, null);
        }
        return new Sim(endHeap, goal, assistWork, scanWork);
    }
}
