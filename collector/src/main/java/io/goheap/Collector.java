package io.goheap;

import io.goheap.allocator.GcHooks;
import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One heap's collector (Go's {@code mgc}): Go's concurrent mark-sweep cycle (and, with
 * {@code GODEBUG=gcstoptheworld=1}, the stop-the-world cycle it grew from, kept as the oracle), started by the
 * {@link GcPacer} (Go's {@code mgcpacer}: goal, trigger, assists, sweep pace, the memory limit's goal) or by
 * {@link Heap#gc()}, and recorded in {@link GcStats} (the GC fields of {@link MemStats}) and {@code gctrace}.
 *
 * <h2>A concurrent cycle (the default)</h2>
 * <ol>
 *   <li><b>Sweep termination</b>, world running: the previous cycle's spans are swept (by this thread, the
 *       background sweeper and allocation).</li>
 *   <li><b>Mark setup</b>, by handshakes, not a stop of the world (Go's forEachP: each P's holder runs the
 *       step at its next poll, between two of its operations; this thread runs it for idle, dead-held and lent
 *       Ps): (1) every P's cache prepared (stale spans swept: see the allocator's {@code MSweep}), then what is
 *       left on the mcentrals swept, so no mark bit of the last cycle remains; (2) the write barrier
 *       ({@link WriteBarrier}) turned on, then a second handshake that records each P's cached manual spans
 *       ({@code ManualRoots}) and guarantees every P stores through the barrier from then on; (3) only then
 *       allocate-black and scanning (assists) on — an object scanned or allocated black while some P still stored
 *       without the barrier could lose a pointer moved into it — and the global roots shaded, once.</li>
 *   <li><b>Concurrent mark</b>, world running: this thread first reads every thread's local frames, once, by a
 *       handshake (each thread shades its own frames at its poll; this thread does it for one parked in a
 *       blocking region, and drops the Mutators of threads that died), then scans the manual roots and what
 *       finalizable objects point to, and drains grey objects and the barrier's full buffers with the background
 *       mark workers ({@link BackgroundMarkWorkers}: 25% of GOMAXPROCS
 *       as Go's, plus idle Ps; {@link Marker#markConcurrently}). Mutators allocate (black), store (through
 *       the barrier) and free. A round ends when no worker or assist holds work; then the <em>ragged barrier</em>
 *       (a handshake) takes every Mutator's partial barrier buffer, and if that or the buffers filled meanwhile
 *       greyed anything, another round runs (Go's {@code gcMarkDone} loop; at most {@link #MAX_MARK_ROUNDS}).</li>
 *   <li><b>Mark termination</b>, world stopped (the second pause): barrier and allocate-black off; every Mutator's
 *       partial buffer (what it stored or kept since the ragged barrier), the root records and the queue shaded
 *       and drained — little, whatever the heap holds; roots and frames read once more as a safety net (their
 *       objects are already marked, so it costs their slot count, not what they reach); finalizers, bad-pointer
 *       confirmation, {@code gccheckmark}; sweepgen advanced. No mcache is flushed in the pause: each P's cached
 *       collected spans go stale and the P sweeps them when it resumes (Go's lazy mcache flush); this thread does
 *       it for idle Ps once the world runs again. A forced cycle ({@link Heap#gc()}) prepares every P in the pause
 *       instead, since it returns with everything swept.</li>
 *   <li><b>Sweep</b>, world running, as in the stop-the-world cycle below.</li>
 * </ol>
 * Soundness is the snapshot-at-the-beginning argument of Go's hybrid barrier (see {@link WriteBarrier}):
 * every holder (heap slot, root, frame) is read once after the barrier is on everywhere, and every pointer put
 * into any holder while it is on is recorded; an object allocated during the mark is black. {@code gccheckmark=1}
 * checks it every cycle with a stop-the-world re-mark.
 *
 * <h2>The stop-the-world cycle ({@code GODEBUG=gcstoptheworld=1})</h2>
 * Under {@link #cycleLock}: stop the world (every P stopped at a safepoint, lent, idle or the caller's own);
 * flush every mcache; finish the previous cycle's sweeping, so every mark bit is clear; mark from the roots —
 * global {@link Root}s, every open {@link Mutator}'s local frames, and every manual object that holds pointers;
 * advance sweepgen, so each span waits to be swept with this cycle's marks; restart the world. Then the spans
 * are swept by the {@link BackgroundSweeper}, by allocation (whoever takes a span sweeps it first) or, for
 * {@link Heap#gc()}, at once by the caller (Go's {@code GC()} returns with everything swept). A cycle that finds
 * an invalid pointer clears its marks, restarts the world and throws {@link InvalidPointerException}: nothing
 * is freed on a partial mark.
 *
 * <h2>Pacing</h2>
 * Mutators that allocate collected objects report what they allocated, every 64 KiB, to {@link #allocated}: it
 * adds it to the pacer's heapLive, sweeps in proportion, asks the {@link CycleRunner} for a background cycle at
 * the trigger, makes the thread assist while a mark runs, and runs a cycle on the thread itself at the goal with
 * no cycle running, or waits for the running one at the hard goal. The arithmetic is {@link GcPacer}'s; at each
 * cycle's end {@link #endCycle} commits the live heap and scan work to it.
 *
 * <h2>Threads</h2>
 * A cycle runs on the thread that asks for it. A Mutator's thread waiting for {@link #cycleLock} does so inside a
 * blocking region, so a cycle in progress can stop it. The pacer's state is written under {@link #cycleLock} and
 * read by any thread (see {@link GcPacer}); statistics are {@link GcStats}'s, under its own monitor, never held
 * across a stop; {@link Heap#readMemStats} stops the world itself (under the cycle lock, after any cycle in
 * progress), as Go's does.
 */
final class Collector {
    private static final java.util.function.LongFunction<String> GLOBAL_ROOT =
            p -> String.format("a global root (holding 0x%x)", p);

    final Heap heap;
    final GcHooks hooks;
    final RootTable roots = new RootTable();
    /** The open Mutators, by owner thread (a thread has at most one per heap). */
    final ConcurrentHashMap<Thread, Mutator> mutators = new ConcurrentHashMap<>();
    final Specials specials = new Specials(this);
    /** Who hears of each cycle's end (JMX, JFR); called on the cycle's thread after its statistics are recorded. */
    final GcObservers observers = new GcObservers();
    /** Fair: a thread that asks for a cycle (a finalizer calling gc()) is not starved by threads looping gc(). */
    private final ReentrantLock cycleLock = new ReentrantLock(true);
    private final boolean gctrace;
    private final boolean reportInvalid;
    private final boolean checkmark;
    /** GODEBUG gcstoptheworld=1: every cycle marks with the world stopped (the oracle of the concurrent cycle). */
    private final boolean stopTheWorldCycles;
    /** The write barrier's phase word and buffers. */
    final WriteBarrier barrier = new WriteBarrier();
    /** Runs the cycles the pacer starts (concurrent mode), off the allocating threads. */
    final CycleRunner cycleRunner;
    /** Goal, trigger, heapLive, assists, sweep pace, the memory limit's goal. */
    final GcPacer pacer;
    /** NumGC, the pause rings, GCCPUFraction. */
    final GcStats stats;
    /** A failure of a background cycle (an invalid pointer), thrown to the next mutator the pacer sees. */
    private volatile RuntimeException backgroundFailure;
    /**
     * The bad slots the last background concurrent cycle left unconfirmed, as (value, slot) pairs; under cycleLock.
     * A background cycle reports a slot only when the cycle before it found the same value there too: a slot found
     * in garbage (which the snapshot rule may scan once) is not found again, since garbage is not reachable when the
     * next mark starts, while a reachable bad slot is found every cycle.
     */
    private long[] unconfirmedBadSlots = new long[0];
    /** Bytes of pointer slots the last concurrent mark's termination scanned with the world stopped (tests). */
    volatile long terminationScanBytes;
    /** Tests only: runs on the cycle's thread when a concurrent mark has read every thread's frames. */
    volatile Runnable framesScannedForTests;
    /** Pointers the ragged barrier took from Mutators' partial buffers since the last concurrent mark began (tests). */
    volatile long raggedPointers;
    /** The last concurrent mark's background workers (their shares and times), for tests. */
    volatile BackgroundMarkWorkers lastMarkWorkers;
    /** Tests only: runs on the cycle's thread when a concurrent mark starts, before it scans anything. */
    volatile Runnable concurrentMarkStartForTests;
    /** Tests only: runs between the mark and the checkmark pass (to break the heap the way a missed barrier would). */
    volatile Runnable beforeCheckmarkForTests;
    private final PrintStream trace;
    /** GODEBUG gcpacertrace=1: the pacer's lines (see {@link GcTrace#pacerStart}), on {@link #trace}. */
    private final boolean pacerTrace;
    final BackgroundSweeper sweeper;
    /** The helpers of a parallel mark (see {@link MarkWorkers}). */
    final MarkWorkers markWorkers;
    /** Rounds of background marking a concurrent mark runs at most before termination takes what is left. */
    static final int MAX_MARK_ROUNDS = 8;
    /** Heaps with at least this many bytes in use are marked with the helper threads. */
    static final long PARALLEL_MARK_BYTES = 8L << 20;

    Collector(Heap heap, GcHooks hooks, int gcPercent, boolean gctrace, boolean reportInvalid, boolean checkmark,
              boolean stopTheWorldCycles, boolean pacerTrace, PrintStream trace) {
        this(heap, hooks, gcPercent, gctrace, reportInvalid, checkmark, stopTheWorldCycles, trace, false,
                GcSettings.NO_LIMIT, null, pacerTrace);
    }

    Collector(Heap heap, GcHooks hooks, int gcPercent, boolean gctrace, boolean reportInvalid, boolean checkmark,
              boolean stopTheWorldCycles, PrintStream trace, boolean scavtrace, long memoryLimit,
              MemoryLimitExit limitExit, boolean pacerTrace) {
        this.pacerTrace = pacerTrace;
        if (pacerTrace) {
            hooks.onSweepDone(this::traceSweepDone);
        }
        this.checkmark = checkmark;
        this.stopTheWorldCycles = stopTheWorldCycles;
        this.cycleRunner = new CycleRunner();
        this.heap = heap;
        this.hooks = hooks;
        this.pacer = new GcPacer(gcPercent, memoryLimit);
        this.stats = new GcStats(heap.maxProcs());
        this.gctrace = gctrace;
        this.reportInvalid = reportInvalid;
        this.trace = trace;
        this.limitExit = limitExit;
        this.cpuLimiter = new GcCpuLimiter(heap.maxProcs(), System.nanoTime());
        io.goheap.scavenger.Scavenger scavenger = heap.allocator.scavenger();
        this.scavengerPacer = new ScavengerPacer(scavenger,
                scavenger.mode() == io.goheap.ffi.OsMemory.DecommitMode.HARD ? cycleLock : null, scavtrace, trace);
        this.pressure = new MemoryPressure();
        this.sweeper = new BackgroundSweeper(hooks, cycleLock);
        this.markWorkers = new MarkWorkers(heap.maxProcs());
    }

    // ------------------------------------------------------------------ memory limit

    /** The opt-in exit from a death spiral, or null. */
    private final MemoryLimitExit limitExit;
    final GcCpuLimiter cpuLimiter;
    final ScavengerPacer scavengerPacer;
    final MemoryPressure pressure;

    /** Go's debug.SetMemoryLimit: a negative value only reads; else sets it and re-paces. Returns the previous. */
    long setMemoryLimit(long limit) {
        if (limit < 0) {
            return pacer.memoryLimit();
        }
        lockCycle(Mutator.current(heap));
        try {
            long previous = pacer.memoryLimit();
            if (previous == limit) {
                return previous;
            }
            io.goheap.allocator.AllocStats s = heap.allocator.readMemStats();
            long lastGoal = pacer.goal();
            pacer.setMemoryLimit(limit, s);
            long goal = pacer.goal();
            scavengerPacer.afterCycle(s.heapInuse(), goal, lastGoal == Long.MAX_VALUE ? goal : lastGoal, limit,
                    pacer.nonHeapBytes());
            pressure.check(this);
            return previous;
        } finally {
            cycleLock.unlock();
        }
    }

    long memoryLimit() {
        return pacer.memoryLimit();
    }

    /**
     * Allocation above the memory limit (Go's allocation-time scavenging): when the heap's retained memory plus
     * what is outside the heap exceeds the limit, releases the excess at once, forced. Not while the CPU limiter is
     * on (as Go), and with hard decommit only when no cycle runs (a concurrent mark may read freed pages).
     */
    private void scavengeAboveLimit(long limit) {
        io.goheap.scavenger.Scavenger scavenger = scavengerPacer.scavenger;
        long excess = scavenger.retainedBytes() + pacer.nonHeapBytes() - limit;
        if (excess <= 0 || cpuLimiter.limiting()) {
            return;
        }
        boolean hard = scavenger.mode() == io.goheap.ffi.OsMemory.DecommitMode.HARD;
        if (hard && !cycleLock.tryLock()) {
            return;
        }
        long t0 = System.nanoTime();
        try {
            scavenger.release(excess);
            cpuLimiter.addGcWork(System.nanoTime() - t0);    // the limiter counts it as the collector's (Go's)
        } catch (IllegalStateException e) {
            throw heap.allocator.closedOr(e);
        } finally {
            if (hard) {
                cycleLock.unlock();
            }
        }
    }

    /**
     * The death-spiral exit (opt-in, beyond Go): when the CPU limiter has been saturated for the configured time
     * and the live heap alone fills what the limit leaves for it, the allocation fails (or the handler decides).
     */
    void checkMemoryLimitExit() {
        MemoryLimitExit exit = limitExit;
        long room = pacer.limitExitRoom();
        if (exit == null || room == Long.MAX_VALUE) {
            return;
        }
        if (heap.isClosed()) {
            throw new IllegalStateException("heap is closed");   // a closed heap says so, and asks no decider
        }
        long saturated = cpuLimiter.saturatedNanos(System.nanoTime());
        long live = pacer.heapMarked();
        // saturated now (even for a zero duration: the exit is for a limiter that cannot keep up), for long enough
        if (cpuLimiter.saturated() && saturated >= exit.afterNanos() && live >= room) {
            MemoryLimitExceededException e = new MemoryLimitExceededException(live, pacer.memoryLimit(), room,
                    saturated);
            if (exit.shouldFail(e)) {
                throw e;
            }
        }
    }

    /** The cycle thread's CPU time when the current cycle started (runCycle); under cycleLock. */
    private long cycleThreadCpuStart;

    int gcPercent() {
        return pacer.gcPercent();
    }

    /** The cycle in which the GC CPU limiter last turned on (Go's /gc/limiter/last-enabled:gc-cycle), 0 if never. */
    long limiterLastEnabledCycle() {
        return limiterLastEnabledCycle;
    }

    private volatile long limiterLastEnabledCycle;

    /** The live heap the last cycle found (Go's heapMarked). */
    long liveHeap() {
        return pacer.heapMarked();
    }

    // ------------------------------------------------------------------ roots

    Root newRoot() {
        return new Root(this, roots.allocate());
    }

    void freeRoot(int index) {
        roots.release(index);
    }

    // ------------------------------------------------------------------ pacer

    int setGCPercent(int percent) {
        lockCycle(Mutator.current(heap));
        try {
            return pacer.setGcPercent(percent);
        } finally {
            cycleLock.unlock();
        }
    }

    /** Called by a Mutator every {@link GcPacer#TRIGGER_CHECK_BYTES} of collected allocation: collects if the goal is reached. */
    void allocated(Mutator caller, long bytes) {
        RuntimeException failure = backgroundFailure;
        if (failure != null) {
            backgroundFailure = null;
            throw surfaced(failure);       // a background cycle found an invalid pointer: the program must hear it
        }
        long live = pacer.addAllocated(bytes);
        sweepProportionally(live);
        long now = System.nanoTime();
        if (!barrier.marking && cpuLimiter.due(now)) {
            cpuLimiter.account(now, 0);            // program time since the last account: the bucket drains
            pressure.check(this);
        }
        long limit = pacer.memoryLimit();
        if (limit != Long.MAX_VALUE) {
            scavengeAboveLimit(limit);
            if (cpuLimiter.limiting()) {
                // Go's CPU limiter: no assists and no cycle run on this thread; the pacer's cycles run in the
                // background. Go then lets the heap grow without a bound; here an allocating thread still waits for
                // a cycle at twice the hard goal, so the overshoot is bounded.
                if (!barrier.marking && live >= pacer.trigger()) {
                    cycleRunner.request(this::backgroundCycle);
                }
                long goal = pacer.goal();
                if (live >= GcPacer.LIMITED_OVERSHOOT * pacer.hardGoal(goal) && goal != Long.MAX_VALUE) {
                    collect(false, caller);
                }
                return;
            }
        }
        if (stopTheWorldCycles) {
            if (live >= pacer.goal()) {
                collect(false, caller);
            }
            return;
        }
        long goal = pacer.goal();
        if (barrier.scanning && goal != Long.MAX_VALUE) {
            // Go's assists: the scan work still expected over the heap still to allocate, less the background
            // workers' credit (GcPacer; with GOGC off only gc() marks, and nothing paces the allocating threads)
            long budget = pacer.assistBudget(bytes, live, barrier.scannedByMutators.get());
            if (caller != null && budget > 0) {
                caller.assist(budget);
            }
            if (live >= pacer.hardGoal(goal)) {
                // past the hard goal (Go's 1.1 × goal): help the mark to its end, then wait for the cycle
                while (caller != null && barrier.scanning && caller.assist(HARD_GOAL_ASSIST_BYTES)) {
                    // each round finds work the marker shared; none means its end is near
                }
                collect(false, caller);
            }
        } else if (barrier.marking) {
            // the mark is being set up (handshakes; no assist may scan yet), or GOGC is off and a gc() marks:
            // allocation goes on beside it, but not past the hard goal
            if (goal != Long.MAX_VALUE && live >= pacer.hardGoal(goal)) {
                collect(false, caller);
            }
        } else if (live >= goal) {
            collect(false, caller);        // at the goal with no cycle running: run one here
        } else if (live >= pacer.trigger()) {
            cycleRunner.request(this::backgroundCycle);   // the mark runs beside this thread
        }
    }

    /** Scan work per round of a Mutator past the hard goal helping the mark to its end. */
    private static final long HARD_GOAL_ASSIST_BYTES = 1L << 20;

    /**
     * A background cycle's failure as the mutator that hears of it throws it: the same type and message, this
     * thread's stack, the cycle's own exception as the cause.
     */
    private static RuntimeException surfaced(RuntimeException e) {
        RuntimeException r = e instanceof InvalidPointerException ip
                ? new InvalidPointerException(ip, "found by a background collection")
                : new IllegalStateException(e.getMessage() + " (found by a background collection)");
        r.initCause(e);
        return r;
    }

    /** A cycle the pacer asked for, on the cycle runner's thread (it holds no P). */
    private void backgroundCycle() {
        cycleLock.lock();
        try {
            if (heap.isClosed() || pacer.heapLive() < pacer.trigger()) {
                return;                    // a cycle ran meanwhile
            }
            runCycle(false);
        } catch (RuntimeException e) {
            if (!heap.isClosed()) {
                backgroundFailure = e;     // an invalid pointer or a gccheckmark failure: the program hears it
            }
        } finally {
            cycleLock.unlock();
        }
    }

    /** Tests only: a cycle as the pacer runs one (not forced: caches are prepared lazily), on the calling thread. */
    void runPacedCycleForTests() {
        cycleLock.lock();
        try {
            runCycle(false);
        } finally {
            cycleLock.unlock();
        }
    }

    /**
     * Go's proportional sweep ({@code deductSweepCredit}): an allocating thread sweeps until the pages swept since
     * the cycle keep pace with its allocation, so every span is swept by the time the heap reaches the next goal,
     * however far the background sweeper lags — dead spans would otherwise count as a heap above its goal.
     * Called with the caller's P held, so no cycle can start during a sweep.
     */
    private void sweepProportionally(long live) {
        long target = pacer.sweepTarget(live);
        while (hooks.pagesSwept() < target && hooks.sweepOne()) {
            // each sweepOne adds its span's pages
        }
    }

    // ------------------------------------------------------------------ a cycle

    /**
     * Marks from every root — global roots, live Mutators' local frames, manual objects that hold pointers, what
     * finalizable objects point to — and drains. Returns the bytes of all manual objects. World stopped.
     */
    private long markFromRoots(Marker marker) {
        markRootsAndFrames(marker);
        long manualBytes = hooks.forEachManualScanObject(marker::scanRootObject);
        specials.scanFinalizable(marker);
        marker.drain();
        return manualBytes;
    }

    /**
     * Shades what global roots and every live Mutator's local frames hold. World stopped. Counts the bytes of root
     * and frame slots it read into {@link #rootScanBytes} and {@link #frameScanBytes} (gcpacertrace's globals and
     * stack scan work).
     */
    private void markRootsAndFrames(Marker marker) {
        long[] n = new long[2];
        roots.forEach(p -> {
            n[0]++;
            marker.markRoot(p, GLOBAL_ROOT);
        });
        for (Mutator m : mutators.values()) {
            if (!m.ownerAlive()) {
                mutators.remove(m.owner(), m);        // its thread died holding it: its frame roots nothing now
                continue;
            }
            m.forEachLocal(p -> {
                n[1]++;
                marker.markRoot(p, q -> "a local frame of " + m.ownerName());
            });
        }
        rootScanBytes += 8 * n[0];
        frameScanBytes += 8 * n[1];
    }

    /** Bytes of global root and local frame slots the current cycle read; under cycleLock. */
    private long rootScanBytes;
    private long frameScanBytes;

    /** gcpacertrace's sweep line, run by the sweeper that finishes a cycle's sweep. */
    private void traceSweepDone() {
        long live = pacer.heapLive();
        trace.println(GcTrace.pacerSweepDone(live, live - pacer.sweepBasis(), hooks.pagesSwept(),
                pacer.sweepPagesPerByte()));
    }

    /**
     * Runs a cycle; {@code forced} for {@link Heap#gc()} (counted in NumForcedGC, and run even with GOGC off).
     * {@code caller} is the Mutator of the calling thread, or null for a thread without one.
     */
    void collect(boolean forced, Mutator caller) {
        lockCycle(caller);
        try {
            if (!forced && pacer.heapLive() < pacer.goal()) {
                return;                      // another thread's cycle got there first
            }
            runCycle(forced);
        } catch (IllegalStateException e) {
            throw heap.allocator.closedOr(e);                     // the heap closed under the cycle
        } finally {
            cycleLock.unlock();
        }
    }

    private void lockCycle(Mutator caller) {
        if (cycleLock.tryLock()) {
            return;
        }
        if (caller == null || caller.inBlockingRegion()) {
            cycleLock.lock();                  // no P, or already lent: a cycle in progress does not wait for us
            return;
        }
        boolean locked = false;
        try (var region = caller.blocking()) {   // let the cycle in progress stop this thread
            cycleLock.lock();
            locked = true;
        } catch (RuntimeException | Error e) {
            if (locked) {
                cycleLock.unlock();              // leaving the region failed (the heap closed): no cycle now
            }
            throw e;
        }
    }

    private void runCycle(boolean forced) {
        cycleThreadCpuStart = THREADS.getCurrentThreadCpuTime();   // for the GC CPU limiter (see endCycle)
        if (stopTheWorldCycles) {
            runStopTheWorldCycle(forced);
        } else {
            runConcurrentCycle(forced);
        }
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** A concurrent cycle (see the class comment); the caller holds {@link #cycleLock}. */
    private void runConcurrentCycle(boolean forced) {
        long startWall = System.currentTimeMillis();
        long t0 = System.nanoTime();
        int procs = heap.maxProcs();
        long goalOfCycle = pacer.goal();
        hooks.finishSweep();                          // sweep termination's work, while mutators run
        // ---- mark setup: handshakes with each P, no stop of the world (see the class comment)
        long tStop1 = System.nanoTime();
        long heap0;
        long liveAtSetup;
        io.goheap.allocator.ManualRoots manual;
        Marker marker = Marker.concurrent(hooks, reportInvalid);
        MarkUtilization utilization = MarkUtilization.of(procs);
        BackgroundMarkWorkers workers;
        boolean setUp = false;
        try {
            hooks.prepareCachesByHandshake();         // no P keeps a span the last cycle marked...
            traceSafepointWait("mark setup handshake (caches swept)");
            hooks.finishSweep();                      // ...and none waits on an mcentral: every mark bit is clear
            heap0 = gctrace ? heap.allocator.readMemStats().heapAlloc() : pacer.heapLive();
            liveAtSetup = pacer.heapLive();
            barrier.marking = true;                   // the write barrier on, seen by every P when the next returns
            manual = hooks.snapshotManualRootsByHandshake();
            traceSafepointWait("mark setup handshake (barrier on)");
            marker.deferBadPointers(true);
            workers = new BackgroundMarkWorkers(hooks, barrier, markWorkers, utilization, Thread.currentThread(),
                    heap::isClosed, () -> pacer.heapLive() >= goalOfCycle, pacer::addBackgroundWork);
            pacer.startMark();                        // the assists' revise starts from here
            marker.shareWithAssists(workers);
            hooks.setAllocateBlack(true);             // only now: a black object never gets an unbarriered store
            barrier.scanning = true;                  // assists may scan from now on
            roots.forEach(p -> {
                rootScanBytes += 8;
                if (marker.shadeRootConcurrently(p)) {
                    barrier.addRootSuspect(p);        // reported at termination if still bad and still a root
                }
            });
            setUp = true;
        } finally {
            if (!setUp) {
                abandonSetup();
            }
        }
        long tRun = System.nanoTime();
        long expectedScan = pacer.lastScanWork();
        if (pacerTrace) {
            double ratio = goalOfCycle == Long.MAX_VALUE ? 0 : (double) expectedScan / Math.max(1, goalOfCycle - liveAtSetup);
            trace.println(GcTrace.pacerStart(ratio, expectedScan, liveAtSetup, goalOfCycle, utilization.dedicated(),
                    utilization.fractionalGoal()));
        }
        // ---- concurrent mark
        Throwable failed = null;
        try {
            Runnable hook = concurrentMarkStartForTests;
            if (hook != null) {
                hook.run();
            }
            raggedPointers = 0;
            long mark = ++marksStarted;
            // the mark's first job, on this thread while the other workers drain: every thread's frames (a
            // handshake), the manual roots, what finalizable objects point to
            Runnable scanManualRoots = () -> {
                scanFramesByHandshake(mark);
                manual.forEachObject(marker::scanRootObject);
                specials.scanFinalizable(marker);
            };
            // Rounds (Go's gcMarkDone loop): after a round, buffers the mutators filled meanwhile make another; with
            // none, the ragged barrier takes every Mutator's partial buffer, and what it greys makes another. At
            // most MAX_MARK_ROUNDS: termination takes whatever is left, so the bound costs pause, never soundness.
            for (int round = 0; round < MAX_MARK_ROUNDS; round++) {
                marker.markConcurrently(workers, round == 0 ? scanManualRoots : null);
                if (!barrier.hasFull() && !raggedFlush(marker)) {
                    break;
                }
            }
            lastMarkWorkers = workers;
        } catch (Throwable e) {
            failed = e;
        }
        // ---- mark termination: the second pause
        long tStop2 = System.nanoTime();
        long workersCpu = workers.cpuNanos();         // the workers' CPU time, not their wall
        long idleCpu = workers.idleCpuNanos();
        long markCpu = workersCpu - idleCpu;
        hooks.stopTheWorld();
        traceSafepointWait("mark termination stop");
        long liveAtEnd = pacer.heapLive();
        long heap1 = heap0 + (liveAtEnd - liveAtSetup);
        long assistNanos = 0;
        long live;
        long scanWork;
        long tMarked;
        try {
            barrier.marking = false;
            barrier.scanning = false;
            long black = hooks.setAllocateBlack(false);
            if (failed == null) {
                try {
                    // the last buffers and root records (see WriteBarrier)
                    for (Mutator m : mutators.values()) {
                        m.flushBarrier(marker::shadeFromBarrier);
                        if (!m.ownerAlive()) {
                            mutators.remove(m.owner(), m);   // its thread died holding it: its frames root nothing now
                        }
                    }
                    barrier.takeRootRecords(marker::shadeFromBarrier);
                    marker.addSuspectsFrom(barrier);
                    barrier.drainGrey(marker::enqueueGrey);
                    // Roots and frames are read once more, world stopped. Each holds only objects the concurrent
                    // frame scan, the root read or the barrier already shaded, so this normally reads mark bits and
                    // greys nothing: its cost is the number of root and frame slots, not what they reach. It stays
                    // as a safety net because gccheckmark runs of CollectorModelTest on a heavily loaded machine
                    // found an object held only in a frame that the concurrent protocol left unmarked.
                    long rootWork = rootScanBytes;
                    long frameWork = frameScanBytes;
                    markRootsAndFrames(marker);
                    rootScanBytes = rootWork;         // a check, not scan work: gcpacertrace counts each slot once
                    frameScanBytes = frameWork;
                    long scannedBefore = marker.scannedBytes();
                    marker.drainLocal();              // what the last buffers (and that read) greyed
                    terminationScanBytes = marker.scannedBytes() - scannedBefore;
                    reportBadRoots(marker, barrier.takeRootSuspects());
                    java.lang.foreign.MemorySegment memory = heap.segment();
                    long base = heap.base();
                    long[] stillBad = marker.stillBadSuspects(
                            slot -> memory.get(java.lang.foreign.ValueLayout.JAVA_LONG, slot - base));
                    marker.drainLocal();              // a suspect that proved good was shaded: scan it
                    marker.deferBadPointers(false);
                    specials.afterMark(hooks, marker);
                    // Is a still-bad slot reachable? gc() answers at once with the stop-the-world checkmark pass
                    // (which reports the first reachable one); a background cycle reports a slot the cycle before
                    // it left unconfirmed too, and leaves the others to the next cycle (see unconfirmedBadSlots).
                    boolean verifyReachable = checkmark || forced && stillBad.length > 0;
                    if (!forced && !checkmark) {
                        long[] repeated = repeatedBadSlot(stillBad);
                        unconfirmedBadSlots = stillBad;
                        if (repeated != null) {
                            pendingReport = repeated;
                        }
                    } else {
                        unconfirmedBadSlots = new long[0];
                    }
                    if (verifyReachable) {
                        Runnable hook = beforeCheckmarkForTests;
                        if (hook != null) {
                            hook.run();
                        }
                        markFromRoots(new Marker(hooks, reportInvalid, true));   // throws on a missed object
                    }
                } catch (Throwable e) {
                    failed = e;
                }
            }
            tMarked = System.nanoTime();
            if (failed != null) {
                pendingReport = null;                 // the failure says more
            }
            dropBarrierBuffers();                     // after a failed mark what they recorded is moot
            long markedByMutators = barrier.markedByMutators.getAndSet(0);
            assistNanos = barrier.assistNanos.getAndSet(0);
            if (failed == null) {
                hooks.startSweepCycle();              // cached spans go stale: each P sweeps its own as it resumes
                if (forced) {
                    hooks.prepareCaches();            // gc() returns with everything swept
                }
            } else {
                hooks.clearAllMarks();                // nothing may survive on a partial mark's bits
            }
            live = marker.markedBytes() + markedByMutators + black + manual.manualBytes();
            scanWork = Math.max(1L << 20, marker.scannedBytes() + barrier.scannedByMutators.getAndSet(0));
        } finally {
            hooks.startTheWorld();
        }
        long tEnd = System.nanoTime();
        if (failed == null) {
            pacer.endMark(liveAtEnd, scanWork, tStop2 - tRun, assistNanos, workers.idleNanos(), procs);
            hooks.prepareIdleCaches();                // idle Ps' stale spans, here rather than in the next setup pause
        }
        rethrow(failed);
        // the pause: the stop at termination, plus the longest handshake action a thread ran at its poll
        long handshakePause = hooks.takeLongestHandshakeNanos();
        long pause = (tEnd - tStop2) + handshakePause;
        hooks.pauses().record(tEnd - tStop2);         // (each handshake step was recorded as it ran)
        long gcCpu = (tRun - tStop1) + (tEnd - tStop2) * procs + workersCpu + assistNanos;
        if (pacerTrace) {
            double used = (double) (markCpu + assistNanos) / Math.max(1, (tStop2 - tRun) * procs);
            trace.println(GcTrace.pacerEnd(used, (int) (MarkUtilization.BACKGROUND_UTILIZATION * 100), scanWork,
                    frameScanBytes, rootScanBytes,
                    expectedScan, liveAtSetup, liveAtEnd, goalOfCycle));
        }
        rootScanBytes = 0;
        frameScanBytes = 0;
        endCycle(forced, startWall, t0, tEnd, pause, gcCpu, live, scanWork);
        if (gctrace) {
            trace.println(GcTrace.line(stats.numGC(), t0 - stats.startNanos(), stats.cpuFraction(), tRun - tStop1, tRun - tStop1,
                    tStop2 - tRun, assistNanos, markCpu, idleCpu, tEnd - tStop2, procs, heap0, heap1, live,
                    goalOfCycle, forced));
        }
        observers.cycleEnded(new GcCycleSummary(heap.name(), stats.numGC(), forced, false, startWall, t0, tEnd, tStop1 - t0,
                tRun - tStop1, tStop2 - tRun, tEnd - tStop2, pause, heap0, live, goalOfCycle, pacer.goal(),
                assistNanos, markCpu, idleCpu, gcCpu));
        long[] report = pendingReport;
        pendingReport = null;
        if (report != null && reportInvalid) {
            // the cycle completed (a value that hits no object marks nothing); the program hears of the slot now
            throw new InvalidPointerException(report[0], report[1], String.format(
                    "the pointer slot at 0x%x (found by two consecutive concurrent marks)", report[1]), false);
        }
    }

    /**
     * Mark termination, world stopped: of the values a concurrent read of a root or frame found hitting no object,
     * those that still hit none and still sit in a global root or a live Mutator's frame are reported (the first
     * found throws when invalidptr is on). Reads the roots and frames only when there is a suspect.
     */
    private void reportBadRoots(Marker marker, Set<Long> suspects) {
        suspects.removeIf(p -> !marker.isBad(p));
        if (suspects.isEmpty()) {
            return;
        }
        roots.forEach(p -> {
            if (suspects.contains(p)) {
                marker.markRoot(p, GLOBAL_ROOT);
            }
        });
        for (Mutator m : mutators.values()) {
            m.forEachLocal(p -> {
                if (suspects.contains(p)) {
                    marker.markRoot(p, q -> "a local frame of " + m.ownerName());
                }
            });
        }
    }

    /**
     * GODEBUG gcstoptrace=1: after each stop of the world and handshake of a cycle, a line on the trace stream with
     * how long it waited and the thread it waited for longest (see {@link GcTrace#safepointWait}).
     */
    volatile boolean stopTrace;

    private void traceSafepointWait(String what) {
        if (stopTrace) {
            trace.println(GcTrace.safepointWait(what, hooks.lastSafepointWait()));
        }
    }

    /** Concurrent marks started (each frame scan's number: see {@link Mutator#scanFrames}); under cycleLock. */
    private long marksStarted;

    /**
     * The frame scan of a concurrent mark (Go's stack scan in {@code markroot}): a handshake whose step shades the
     * local frames of the Mutators of the thread holding the P — on that thread at its poll, or here while it is
     * parked in a blocking region or at a safepoint. Frames are read once per mark: every {@code keep} from now on
     * records its address in the barrier (see {@link WriteBarrier}). A Mutator whose thread died is dropped here,
     * its frames with it (they root nothing), its barrier buffer shaded. Runs while the mark runs.
     */
    private void scanFramesByHandshake(long mark) {
        long[] slots = new long[1];
        hooks.handshakeHolders(holder -> {
            Mutator m = holder != null ? mutators.get(holder) : null;
            if (m != null) {
                long n = m.scanFrames(mark);
                synchronized (slots) {
                    slots[0] += n;
                }
            }
        });
        traceSafepointWait("frame scan handshake");
        for (Mutator m : mutators.values()) {
            if (!m.ownerAlive()) {
                dropDeadMutator(m);
            }
        }
        Runnable hook = framesScannedForTests;
        if (hook != null) {
            hook.run();
        }
        synchronized (slots) {
            frameScanBytes += 8 * slots[0];
        }
    }

    /**
     * Forgets a Mutator whose thread terminated holding it (its frames root nothing from now on); a concurrent
     * mark gets the pointers its barrier recorded, which the dead thread can no longer flush.
     */
    private void dropDeadMutator(Mutator m) {
        if (mutators.remove(m.owner(), m) && barrier.marking) {
            WriteBarrier.Buffer b = m.takeBarrierBuffer();
            if (b != null) {
                barrier.recordBuffer(b);
            }
        }
    }

    /**
     * The ragged barrier (Go's flush of every P's write-barrier buffer in {@code gcMarkDone}): a handshake in which
     * each Mutator's partial buffer is taken — an O(1) step for its thread — then shaded here into {@code marker}.
     * Returns whether that greyed anything (or buffers were queued meanwhile): then another round of marking runs
     * before the stop, which would otherwise shade and drain it all with the world stopped.
     */
    private boolean raggedFlush(Marker marker) {
        java.util.concurrent.ConcurrentLinkedQueue<WriteBarrier.Buffer> taken =
                new java.util.concurrent.ConcurrentLinkedQueue<>();
        hooks.handshakeHolders(holder -> {
            Mutator m = holder != null ? mutators.get(holder) : null;
            if (m != null) {
                WriteBarrier.Buffer b = m.takeBarrierBuffer();
                if (b != null) {
                    taken.add(b);
                }
            }
        });
        traceSafepointWait("ragged barrier handshake");
        for (WriteBarrier.Buffer b : taken) {
            raggedPointers += b.count;
            barrier.collect(b, marker::shadeFromBarrier);
            barrier.recycle(b);
        }
        barrier.takeRootRecords(marker::shadeFromBarrier);   // every root set before the handshake recorded
        return marker.hasWork() || barrier.hasFull();
    }

    /**
     * A mark setup that failed part way (the heap closing under it): phase word and allocate-black off, and, if the
     * heap is still open, every mark a barrier flush set cleared with the world stopped.
     */
    private void abandonSetup() {
        barrier.marking = false;
        barrier.scanning = false;
        if (heap.isClosed()) {
            hooks.setAllocateBlack(false);
            return;
        }
        hooks.stopTheWorld();
        try {
            hooks.setAllocateBlack(false);
            dropBarrierBuffers();
            hooks.clearAllMarks();
        } finally {
            hooks.startTheWorld();
        }
    }

    /** Drops every Mutator's barrier buffer and the barrier's queues (a mark ended or abandoned). World stopped. */
    private void dropBarrierBuffers() {
        for (Mutator m : mutators.values()) {
            m.flushBarrier(p -> { });
        }
        barrier.discardAll();
    }

    /** Throws what a cycle caught (after it restarted the world), if anything: only unchecked throwables occur. */
    private static void rethrow(Throwable failed) {
        if (failed instanceof RuntimeException r) {
            throw r;
        }
        if (failed instanceof Error e) {
            throw e;
        }
    }

    /** A bad slot of the last background cycle's mark: reported after the cycle ends. Under cycleLock. */
    private long[] pendingReport;

    /** The first (value, slot) of {@code stillBad} the previous background cycle left unconfirmed too, or null. */
    private long[] repeatedBadSlot(long[] stillBad) {
        long[] previous = unconfirmedBadSlots;
        for (int i = 0; i < stillBad.length; i += 2) {
            for (int j = 0; j < previous.length; j += 2) {
                if (stillBad[i] == previous[j] && stillBad[i + 1] == previous[j + 1]) {
                    return new long[] {stillBad[i], stillBad[i + 1]};
                }
            }
        }
        return null;
    }

    /**
     * After a successful cycle: the pacer's new goal and trigger, the sweep pacer, sweeping for a forced cycle,
     * and the statistics. {@code pause} is the cycle's stop-the-world time, {@code gcCpu} its CPU time, {@code
     * scanWork} the bytes of pointer slots its mark scanned (0: keep the pacer's estimate).
     */
    private void endCycle(boolean forced, long startWall, long t0, long tEnd, long pause, long gcCpu, long live,
                          long scanWork) {
        long lastGoal = pacer.goal();
        long memoryLimit = pacer.memoryLimit();
        pacer.commit(live, scanWork, hooks.pagesToSweep(),
                memoryLimit == Long.MAX_VALUE ? null : heap.allocator.readMemStats());
        long nextGC = pacer.goal();
        if (forced) {
            hooks.finishSweep();           // as Go's GC(): everything swept when it returns
        } else {
            sweeper.wake();                // the rest by the background sweeper and by allocation
        }
        stats.recordCycle(forced, pause, TimeUnit.MILLISECONDS.toNanos(startWall) + (tEnd - t0), gcCpu);
        long enabledBefore = cpuLimiter.enabledCount();
        // the limiter counts the whole cycle as the collector's: the CPU its thread used from start to now (sweep
        // termination and this bookkeeping included, which gcCpu leaves out) and every other P standing still in
        // the pauses. CPU time, not wall time: on a loaded machine a preempted cycle would otherwise count as GC.
        long cycleCpu = THREADS.getCurrentThreadCpuTime() - cycleThreadCpuStart;
        cpuLimiter.account(System.nanoTime(), Math.max(gcCpu, cycleCpu + pause * (heap.maxProcs() - 1)));
        if (cpuLimiter.enabledCount() != enabledBefore || cpuLimiter.limiting()) {
            limiterLastEnabledCycle = stats.numGC() + 1;      // as Go: the cycle after the one that turned it on
        }
        // the background scavenger's goal (Go's gcPaceScavenger) and its trace line
        long inUse = hooks.heapInUseBytes();
        scavengerPacer.afterCycle(inUse, nextGC, lastGoal, memoryLimit, pacer.nonHeapBytes());
        io.goheap.scavenger.Scavenger scavenger = scavengerPacer.scavenger;
        long retained = scavenger.retainedBytes();
        scavengerPacer.trace(inUse, retained, heap.allocator.scavengedBytes(), false);
        pressure.check(this);
    }

    /** A stop-the-world cycle ({@code GODEBUG=gcstoptheworld=1}); the caller holds {@link #cycleLock}. */
    private void runStopTheWorldCycle(boolean forced) {
        long startWall = System.currentTimeMillis();
        long t0 = System.nanoTime();
        int procs = heap.maxProcs();
        long heap0 = pacer.heapLive();               // replaced below for gctrace by the exact figure
        long goalOfCycle = pacer.goal();
        hooks.stopTheWorld();
        traceSafepointWait("stop the world");
        long tStopped = System.nanoTime();
        long live;
        long scanned;
        Throwable failed = null;
        long tMarked;
        try {
            hooks.flushCaches();
            hooks.finishSweep();
            if (gctrace) {
                // Go's heap0 is every byte allocated and not yet found dead; heapLive leaves out manual objects
                // allocated since the last cycle, so the trace reads the allocator's exact HeapAlloc here
                heap0 = heap.allocator.readMemStats().heapAlloc();
            }
            // a heap of a few MiB marks faster on one thread than it takes to hand work to helpers
            Marker marker = new Marker(hooks, reportInvalid, false,
                    hooks.heapInUseBytes() >= PARALLEL_MARK_BYTES ? markWorkers : null);
            long manualBytes = 0;
            try {
                manualBytes = markFromRoots(marker);
                specials.afterMark(hooks, marker);
                if (checkmark) {
                    Runnable hook = beforeCheckmarkForTests;
                    if (hook != null) {
                        hook.run();
                    }
                    markFromRoots(new Marker(hooks, reportInvalid, true));   // throws on a missed object
                }
            } catch (Throwable e) {
                // An invalid pointer, or the Java heap running out for the work stack: objects marked but not
                // scanned would let the next cycle skip their children, so no mark of this cycle may stay.
                failed = e;
                hooks.clearAllMarks();
            }
            tMarked = System.nanoTime();
            if (failed == null) {
                hooks.startSweepCycle();
            }
            live = marker.markedBytes() + manualBytes;
            scanned = marker.scannedBytes();
        } finally {
            hooks.startTheWorld();
        }
        long tEnd = System.nanoTime();
        hooks.pauses().record(tEnd - t0);
        rethrow(failed);
        long pause = tEnd - t0;
        endCycle(forced, startWall, t0, tEnd, pause, pause * procs, live, 0);
        // gctrace's heap at mark end is heap0: the world stayed stopped from the start to the end of the mark
        if (gctrace) {
            trace.println(GcTrace.line(stats.numGC(), t0 - stats.startNanos(), stats.cpuFraction(), tStopped - t0, tMarked - tStopped,
                    tEnd - tMarked, procs, heap0, heap0, live, goalOfCycle, forced));
        }
        observers.cycleEnded(new GcCycleSummary(heap.name(), stats.numGC(), forced, true, startWall, t0, tEnd, tStopped - t0, 0,
                tMarked - tStopped, tEnd - tMarked, pause, heap0, live, goalOfCycle, pacer.goal(), 0, pause * procs, 0,
                pause * procs));
    }

    /**
     * The allocator's statistics read with the world stopped, as Go's {@code ReadMemStats} does: allocation and
     * free through a P's caches (its allocating span, its stashed spans, its retained large spans) take no lock,
     * so only a stop makes mallocs and frees of every P one consistent cut — read while they run, an object
     * allocated, freed and allocated again between the read of the frees and of the mallocs counted twice
     * (HeapAlloc above HeapInuse, found by a hostile test). Waits for a cycle in progress, like any stop; a
     * thread with an open Mutator that neither allocates, polls nor blocks delays it, as it delays a collection.
     */
    io.goheap.allocator.AllocStats readAllocStatsStopped(Mutator caller) {
        lockCycle(caller);
        try {
            hooks.stopTheWorld();
            try {
                return heap.allocator.readMemStats();
            } finally {
                hooks.startTheWorld();
            }
        } catch (IllegalStateException e) {
            throw heap.allocator.closedOr(e);
        } finally {
            cycleLock.unlock();
        }
    }

    /**
     * Returns free memory to the OS under the cycle lock: no concurrent mark may be reading a freed object's pages
     * while they are released (with hard decommit they become inaccessible).
     */
    long freeOSMemory(Mutator caller) {
        io.goheap.scavenger.Scavenger scavenger = scavengerPacer.scavenger;
        long before = scavenger.releasedBytes();           // eager and background, from the call's start
        collect(true, caller);                 // Go's FreeOSMemory: a full collection first
        lockCycle(caller);
        try {
            heap.allocator.freeOSMemory();
            // the background scavenger may have released part of it meanwhile: count what left during the call
            long released = scavenger.releasedBytes() - before;
            scavengerPacer.trace(hooks.heapInUseBytes(), scavenger.retainedBytes(), heap.allocator.scavengedBytes(),
                    true);
            return released;
        } finally {
            cycleLock.unlock();
        }
    }

    /** The cycle counters (see {@link GcStats#counts()}: never waits for a thread). */
    GcStats.Counts cycleCounts() {
        return stats.counts();
    }

    /** The heap goal (Go's /gc/heap/goal:bytes). */
    long nextGC() {
        return pacer.goal();
    }

    /** The collector's fields of MemStats. */
    void fill(MemStats m) {
        stats.fill(m, pacer.goal());
    }
}
