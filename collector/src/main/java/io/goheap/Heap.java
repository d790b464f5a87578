package io.goheap;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Objects;

/**
 * An off-heap heap with Go's memory runtime: Go's size classes, per-P caches over spans carved from 64 MiB
 * arenas in one reserved address range, explicit checked {@link #free}, pages returned to the OS, and Go's
 * {@link MemStats}. Addresses are absolute {@code long}s inside the reserved range; read and write them through
 * {@link #segment()} at offset {@code address - base()}.
 *
 * <h2>Two ways in</h2>
 * <ul>
 *   <li>The methods of this class may be called from any thread. Each call borrows one of the heap's Ps (Go's
 *       processors: a CAS to take one, a release store to give it back).</li>
 *   <li>{@link #attach()} returns a {@link Mutator} that keeps a P until it is closed: the hot path, with no
 *       lock, no Java allocation and no volatile write per small allocation or local free. While it is open,
 *       that P is not available to other threads (as a goroutine holds its P).</li>
 * </ul>
 *
 * <h2>Errors</h2>
 * Sizes must be in [1, reservation]: otherwise {@link IllegalArgumentException}; an object that cannot fit the
 * reservation's free space (or the largest object, 2^31 − 1 pages) is an {@link OutOfMemoryError} naming the
 * size, and the heap stays usable. {@code free} of an address outside the heap, or inside an object rather than
 * at its start, throws {@link IllegalArgumentException}; of an address where no object is allocated — a double
 * free, or an address never handed out — {@link IllegalStateException} ("double free or never allocated": once a
 * slot is free the heap cannot tell the two apart). In every case the heap is left as it was. Any use after
 * {@link #close()} throws {@link IllegalStateException} "heap is closed" — also for threads that were waiting
 * for a P when the heap closed, and for an allocation that overlapped the close (no address of a closed heap is
 * ever returned); any access through {@link #segment()} then throws the JDK's {@link IllegalStateException}
 * ("Already closed"). {@link Builder#build()} throws {@link IllegalStateException} when the OS refuses the
 * reservation (naming the system call and errno) or the JVM refuses goheap native access (naming the exact
 * {@code --enable-native-access} flag for the module path and for the class path).
 *
 * <p>What is not caught: two threads freeing the same object at the same moment race in the caller's code, as
 * with {@code malloc}. The second free is reported whenever it can tell, but one that races with the owner's own
 * free of that object can go unnoticed, and if the slot is reused before the racing free is merged, it frees the
 * new object. Frees of an object by one thread at a time, in any order across threads, are always checked.
 *
 * <h2>Lifetime</h2>
 * Close a heap when done: {@link #close()} unmaps its whole reservation. A heap that becomes unreachable without
 * being closed is closed by a cleaner thread, so dropped heaps do not exhaust the process's address space (each
 * holds 256 GiB of it by default); keep the {@code Heap} reachable for as long as its segment or its addresses
 * are used — afterwards every access through the segment throws.
 *
 * <p>Thread-safety: every method may be called from any thread. This class is the public face of the allocator
 * module's heap (exported to this module only); it adds nothing to the allocation path.
 */
public final class Heap implements AutoCloseable {
    /** One daemon thread closes the heaps dropped without {@link #close()} (see the class comment). */
    private static final Cleaner CLOSER = Cleaner.create(runnable -> {
        Thread t = new Thread(runnable, "goheap-closer");
        t.setDaemon(true);
        return t;
    });

    /** Numbers the default names, heap-1, heap-2, ... */
    private static final java.util.concurrent.atomic.AtomicLong UNNAMED = new java.util.concurrent.atomic.AtomicLong();

    final io.goheap.allocator.Heap allocator;
    final Collector collector;
    /** Collections whose callers bound their wait ({@link #gc(java.time.Duration)}). */
    final BoundedCollection boundedGc;
    private final String name;
    private final Cleaner.Cleanable closing;
    /** Drops an address's finalizer and cleanups before {@link #free} frees it (one object for every free). */
    private final java.util.function.LongConsumer forgetSpecials;
    /** GODEBUG checkptr / gcquarantine: checks before every pointer access (see {@link PointerChecks}); or null. */
    final PointerChecks pointerChecks;

    private Heap(io.goheap.allocator.Heap allocator, GcSettings settings, MemoryLimitExit limitExit,
                 System.Logger traceLogger, String name, boolean jmx) {
        this.allocator = allocator;
        this.name = name;
        this.collector = new Collector(this, allocator.gcHooks(), settings.gcPercent(), settings.gctrace(),
                settings.invalidptr(), settings.gccheckmark(), settings.gcstoptheworld(),
                traceLogger == null ? System.err : TraceOutput.toLogger(traceLogger),
                settings.scavtrace(), settings.memoryLimit(), limitExit, settings.gcpacertrace());
        this.pointerChecks = PointerChecks.of(allocator.gcHooks(), settings.checkptr(),
                settings.gcquarantine() > 0);
        this.forgetSpecials = collector.specials::forget;
        if (settings.checkptr()) {
            allocator.gcHooks().recordTypeIds();         // so checks can name the type of small objects
        }
        allocator.gcHooks().setSweepDebug(settings.gcquarantine(), settings.clobberfree());
        this.boundedGc = new BoundedCollection();
        this.collector.stopTrace = settings.gcstoptrace();
        BoundedCollection bounded = boundedGc;
        Specials.FinalizerThread finalizerThread = collector.specials.thread;
        BackgroundSweeper sweeper = collector.sweeper;
        MarkWorkers markWorkers = collector.markWorkers;
        CycleRunner cycleRunner = collector.cycleRunner;
        io.goheap.scavenger.BackgroundScavenger scavenger = collector.scavengerPacer.background;
        MemoryPressure pressure = collector.pressure;
        HeapManagement management = null;
        if (jmx) {
            try {
                management = HeapManagement.register(this);
            } catch (RuntimeException e) {
                stopAll(scavenger, pressure, cycleRunner, bounded, markWorkers, sweeper, allocator, finalizerThread);
                throw e;
            }
        }
        HeapManagement registered = management;
        this.closing = CLOSER.register(this, () -> {
            if (registered != null) {
                registered.unregister();
            }
            stopAll(scavenger, pressure, cycleRunner, bounded, markWorkers, sweeper, allocator, finalizerThread);
        });
    }

    /** Stops the heap's threads and unmaps it (the close protocol's order). */
    private static void stopAll(io.goheap.scavenger.BackgroundScavenger scavenger, MemoryPressure pressure,
                                CycleRunner cycleRunner, BoundedCollection bounded, MarkWorkers markWorkers, BackgroundSweeper sweeper,
                                io.goheap.allocator.Heap allocator, Specials.FinalizerThread finalizerThread) {
        scavenger.stop();               // its releases run under the close protocol; this ends the thread
        pressure.close();
        cycleRunner.shutdown();
        bounded.shutdown();
        markWorkers.shutdown();
        sweeper.stop();
        allocator.close();
        finalizerThread.stop();
    }

    /**
     * The heap's name (see {@link Builder#name}): it names its JMX beans ({@code io.goheap:type=Heap,name=<name>}
     * and {@code io.goheap:type=GarbageCollector,name=<name>}) and its JFR events.
     *
     * @return the heap's name
     */
    public String name() {
        return name;
    }

    /** {@return a heap with the defaults: 256 GiB of reserved address space (no memory until used), GOMAXPROCS Ps} */
    public static Heap create() {
        return builder().build();
    }

    /** {@return a builder with every setting at its default} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Allocates {@code size} bytes of pointer-free memory, zeroed, and returns its address.
     *
     * @param size bytes to allocate, in [1, reservation]
     * @return the object's address
     */
    public long malloc(long size) {
        return allocator.malloc(size);
    }

    /**
     * Allocates {@code size} bytes of pointer-free manual memory <em>without zeroing it</em>: the contents are
     * whatever the memory last held — a freed object's bytes, possibly another thread's data — so use it only
     * for buffers you fill completely before reading (as C's {@code malloc}; {@link #malloc(long)} is
     * {@code calloc}). Never holds pointers the collector would scan. Free it with {@link #free}.
     *
     * @param size bytes to allocate, in [1, reservation]
     * @return the object's address
     */
    public long mallocUninitialized(long size) {
        return allocator.mallocUninitialized(size);
    }

    /**
     * Allocates a <em>manual</em> object of {@code type}, zeroed: it lives until {@link #free}d, is never swept,
     * and while it lives its pointer slots are roots (as Go scans its manually managed stacks). Use a Mutator
     * ({@link Mutator#allocate}) for collected objects.
     *
     * @param type the object's type
     * @return the object's address
     */
    public long malloc(HeapType type) {
        Objects.requireNonNull(type, "type");
        return allocator.allocateTyped(type.size(), type.length(), type.gcType, false);
    }

    /**
     * A new global root slot, empty (Go's globals): what it holds, and everything reachable from that, survives
     * collections. Close it to drop it.
     *
     * @return an empty root
     */
    public Root newRoot() {
        allocator.ensureUsable();
        return collector.newRoot();
    }

    /**
     * A root owned by a Java object: it holds {@code address} until {@code owner} becomes unreachable on the Java
     * heap (then a {@link Cleaner} drops it) or it is closed — for off-heap objects whose lifetime follows a Java
     * object's (a handle, a session). The root keeps its heap reachable while the owner lives, so an owner that
     * only the heap reaches (the heap itself is refused) is never collected.
     *
     * @param owner the Java object whose lifetime the root follows
     * @param address what the root holds first (0: nothing)
     * @return the root
     */
    public Root rootFor(Object owner, long address) {
        Objects.requireNonNull(owner, "owner");
        if (owner == this) {
            throw new IllegalArgumentException("rootFor(heap, ...): the heap can never become unreachable while it"
                    + " owns a root (the root keeps its heap alive); close the Root instead");
        }
        Root r = newRoot();
        r.set(address);
        r.dropWith(CLOSER.register(owner, r::release));
        return r;
    }

    /** {@return a new {@link Pinner}} */
    public Pinner newPinner() {
        allocator.ensureUsable();
        return new Pinner(this);
    }

    /**
     * Runs a full collection and waits for it and its sweeping to finish (Go's {@code runtime.GC()}); also with
     * GOGC off. From a thread that holds a Mutator, call {@link Mutator#gc()} instead (or this: both work).
     *
     * @throws InvalidPointerException when a pointer slot or root holds an address where no object is allocated
     */
    public void gc() {
        allocator.ensureUsable();
        collector.collect(true, Mutator.current(this));
    }

    /**
     * As {@link #gc()}, waiting at most {@code timeout} for the collection and its sweep. A collection waits for
     * every thread that holds a Mutator to reach a safepoint; one that blocks or computes without polling (see
     * {@link Mutator}) delays it, and this call then returns {@code false} when the timeout elapses: the collection
     * goes on in the background and ends once that thread polls (the log names the thread, see
     * {@link Builder#stallReportThreshold}), and the heap stays usable meanwhile. A thread that holds a Mutator
     * lends its P while it waits (as inside {@link Mutator#blocking()}).
     *
     * @param timeout how long to wait at most
     * @return true when the collection finished within {@code timeout}; false when the timeout elapsed first or the
     *         thread was interrupted while waiting (its interrupt status set again)
     * @throws InvalidPointerException  as {@link #gc()}, when the collection finished in time and found one
     * @throws IllegalArgumentException when {@code timeout} is negative
     */
    public boolean gc(java.time.Duration timeout) {
        allocator.ensureUsable();
        Mutator caller = Mutator.current(this);
        if (caller != null && !caller.inBlockingRegion()) {
            return caller.gc(timeout);
        }
        return boundedGc.run(collector, timeout, caller);
    }

    /**
     * Sets GOGC (Go's {@code debug.SetGCPercent}); negative turns automatic collection off. Returns the previous.
     *
     * @param percent the new GOGC; negative turns automatic collection off
     * @return the previous GOGC (-1 when it was off)
     */
    public int setGCPercent(int percent) {
        allocator.ensureUsable();
        return collector.setGCPercent(percent < 0 ? -1 : percent);
    }

    /**
     * Frees the object at {@code address} (the address malloc returned). See the class comment for errors.
     *
     * @param address the address malloc returned
     */
    public void free(long address) {
        if (pointerChecks != null) {
            pointerChecks.checkRooted("free", address);
        }
        // Specials are forgotten first (once freed, the slot may be reused and given new ones), and both steps run
        // under one P hold, so no collection falls between them and reclaims the object forget() let go of. The
        // consumer is made once: a free allocates nothing on the Java heap, so memory can be given back when the
        // Java heap is full.
        allocator.free(address, forgetSpecials);
    }

    /**
     * Sets the finalizer of the collected object at {@code address} (Go's {@code runtime.SetFinalizer}); null
     * removes it. When the object is found unreachable, it and everything it reaches survive that cycle, and
     * {@code finalizer} runs once with its address on the heap's finalizer thread (the object is readable then);
     * it is reclaimed by a later cycle unless the finalizer made it reachable again. Objects in a cycle of
     * finalizers are never reclaimed. Freeing the object explicitly drops its finalizer.
     *
     * @throws IllegalArgumentException when {@code address} is not the start of an allocated collected object
     * @throws IllegalStateException    when the object already has a finalizer
     * @param address the start of a collected object
     * @param finalizer called with the object's address; null removes the finalizer
     */
    public void setFinalizer(long address, java.util.function.LongConsumer finalizer) {
        allocator.ensureUsable();
        collector.specials.setFinalizer(address, finalizer);
    }

    /**
     * Adds a cleanup to the collected object containing {@code address} (Go's {@code runtime.AddCleanup}; as there,
     * the address may point anywhere inside the object, and the cleanup belongs to the whole object): {@code action}
     * runs on the heap's finalizer thread after the object was found unreachable (and, if it has a finalizer, after
     * that ran and a later cycle found it unreachable again). The object is reclaimed in that cycle: the action
     * must not use it. Several per object; {@link Cleanup#stop()} cancels one.
     *
     * @throws IllegalArgumentException when {@code address} is not inside an allocated collected object
     * @param address an address inside a collected object
     * @param action what to run after the object is reclaimed
     * @return a handle that cancels this cleanup
     */
    public Cleanup addCleanup(long address, Runnable action) {
        Objects.requireNonNull(action, "action");
        allocator.ensureUsable();
        return collector.specials.addCleanup(address, action);
    }

    /**
     * A handle that keeps a P for the calling thread until {@link Mutator#close()}: the fast path. Any number of
     * threads may hold one at once — the heap makes a P for a thread that finds every P held, so this never waits
     * for another thread to let one go (only, briefly, for a collection that has the world stopped). A thread that
     * holds one must block inside {@link Mutator#blocking()} and poll in long loops, or collections wait for it; see
     * {@link #attachLending()} for a Mutator that cannot make them wait.
     *
     * @return the calling thread's new Mutator
     * @throws IllegalStateException when the calling thread already has an open Mutator on this heap, or the heap
     *                               is closed
     */
    public Mutator attach() {
        allocator.ensureUsable();                       // a closed heap says so, whoever still holds a Mutator
        if (Mutator.current(this) != null) {
            throw new IllegalStateException("this thread already has an open Mutator on this heap: use it (two would"
                    + " share one P, and one could lend it to a collection while the other runs on it)");
        }
        return new Mutator(this, allocator.attach());
    }

    /**
     * A Mutator that holds its P only inside its own calls, lending it to the collector between them: no collection
     * ever waits for this thread, whatever it does between calls, at the cost of two volatile writes per call and
     * a stricter rule for addresses in Java locals (see {@link LendingMutator}).
     *
     * @return the calling thread's new lending Mutator
     * @throws IllegalStateException as {@link #attach()}
     */
    public LendingMutator attachLending() {
        return new LendingMutator(attach());
    }

    /**
     * Bytes usable at {@code address}, the start of an allocated object: its size class's size (or more).
     *
     * @param address the start of an allocated object
     * @return the bytes usable at {@code address}
     * @throws IllegalArgumentException when {@code address} is not the start of an allocated object
     */
    public long usableSize(long address) {
        return allocator.usableSize(address);
    }

    /**
     * The start address of the allocated object that contains {@code address} (an interior pointer is fine).
     *
     * @param address any address inside an allocated object
     * @return the object's start address
     * @throws IllegalArgumentException when no allocated object contains {@code address}
     */
    public long baseOf(long address) {
        return allocator.baseOf(address);
    }

    /**
     * The whole reserved range as one segment; {@code segment().address() == base()}. Closed with the heap: any
     * access after {@link #close()} throws. Any address in it can be read and written without faulting (memory
     * never touched reads as zero), except pages returned to the OS in {@link DecommitMode#HARD} mode, which are
     * inaccessible until the heap reuses them (a use after free there ends the JVM: the purpose of that mode), and
     * addresses beyond the grown arenas under strict overcommit ({@code vm.overcommit_memory=2}).
     *
     * @return the segment over the whole reservation
     */
    public MemorySegment segment() {
        return allocator.segment();
    }

    /** {@return the first address of the reserved range} */
    public long base() {
        return allocator.base();
    }

    /** {@return bytes of address space reserved for this heap (the most it can ever hold)} */
    public long reservation() {
        return allocator.reservation();
    }

    /**
     * GOMAXPROCS: the Ps the heap was made with, and what bounds the collector's parallelism (its background mark
     * workers take 25% of it), the GC CPU limiter's capacity and gctrace's "N P". Not a bound on threads: the heap
     * makes another P when a thread needs one and every P is held, so any number of threads may attach at once.
     *
     * @return GOMAXPROCS
     */
    public int maxProcs() {
        return allocator.maxProcs();
    }

    /**
     * How many times a stop of the world or a handshake reported a thread it waited for (as
     * {@link MemStats#stallReports()}). Never blocks: readable while a stop waits for a thread, when
     * {@link #readMemStats()} — a stop itself — would wait too. For health checks.
     *
     * @return the number of stall reports
     */
    public long stallReports() {
        return allocator.stallReports();
    }

    /**
     * Every pause the collector made a thread see so far, as a histogram (Go's {@code /gc/pauses:seconds}; see
     * {@link PauseHistogram}). Never blocks; readable after {@link #close()}.
     *
     * @return the pauses so far
     */
    public PauseHistogram readPauseHistogram() {
        io.goheap.allocator.PauseRecorder r = allocator.gcHooks().pauses();
        return new PauseHistogram(io.goheap.allocator.PauseRecorder.boundsNanos(), r.counts());
    }

    /**
     * {@return an exact statistics snapshot (Go's {@code runtime.ReadMemStats})} As Go's, it <em>stops the
     * world</em> for the read: it waits for a collection in progress and for every thread holding a P to reach a
     * safepoint (an allocation, a poll, a blocking region), so every P's counters are one cut; allocating threads
     * pause meanwhile, and a thread with an open Mutator that neither allocates, polls nor blocks delays it, as it
     * delays a collection. For frequent reads — a metrics scrape — use {@link #readMetrics()}, which never stops
     * the world.
     */
    public MemStats readMemStats() {
        MemStats m = new MemStats();
        readMemStats(m);
        return m;
    }

    /**
     * Fills {@code into} with a snapshot, as Go's {@code ReadMemStats(&m)}; stops the world as {@link #readMemStats()}.
     *
     * @param into the snapshot to fill
     */
    public void readMemStats(MemStats into) {
        Objects.requireNonNull(into, "into");
        into.copyAllocatorFields(collector.readAllocStatsStopped(Mutator.current(this)));
        collector.fill(into);
    }

    /**
     * Returns every free page to the OS now (Go's {@code debug.FreeOSMemory}): spans waiting for sweeping are
     * swept, the caches of Ps no live thread holds (and the caller's own) give their spans back, then every free
     * page is released. Returns the bytes returned to the OS during the call: by it, and by the background
     * scavenger if it released some of the same free pages meanwhile.
     *
     * @return bytes returned to the OS during the call
     */
    public long freeOSMemory() {
        return collector.freeOSMemory(Mutator.current(this));
    }

    /**
     * Named samples as Go's {@code runtime/metrics} names them ({@link #metricDescriptions()} lists every name with
     * its kind and meaning): the memory classes ({@code /memory/classes/...}, summing to
     * {@code /memory/classes/total:bytes} = Sys), allocation and free counts ({@code /gc/heap/allocs:bytes}, ...),
     * the pacer's goal and knobs, cycle counts, the limiter, CPU classes in seconds, the scavenger's counters, and
     * goheap's {@code /sched/procs:procs} (Ps made, {@link MemStats#procs()}) and {@code /sched/stall-reports:reports}
     * ({@link MemStats#stallReports()}).
     * Go's {@code /gc/pauses:seconds} histogram is {@link #readPauseHistogram()}.
     *
     * <p>Never stops the world and waits for no thread: it loads per-P counters and heap-level atomics, so it takes
     * microseconds also while a thread holding a {@link Mutator} does not poll or a collection is waiting to stop
     * the world. The memory classes are each ≥ 0 and sum exactly to the total, {@code /gc/heap/objects:objects} is
     * exactly allocs − frees, and counters never go back; how heap pages split between objects, unused, free and
     * released is exact only when nothing changes during the read (under churn it is off by the pages spans were
     * made or returned from meanwhile). {@link #readMemStats()} stops the world for an exact snapshot.
     *
     * @return the samples, by name
     * @throws IllegalStateException when the heap is closed
     */
    public java.util.Map<String, Number> readMetrics() {
        io.goheap.allocator.AllocStats a = new io.goheap.allocator.AllocStats();
        allocator.sampleMemStats(a);
        return RuntimeMetrics.read(a, collector);
    }

    /** {@return every name {@link #readMetrics()} returns, with its kind and meaning (Go's {@code metrics.All()})} */
    public static java.util.List<MetricDescription> metricDescriptions() {
        return RuntimeMetrics.DESCRIPTIONS;
    }

    /**
     * Go's {@code debug.SetMemoryLimit}: sets the soft memory limit in bytes and returns the previous one; a
     * negative value changes nothing and only returns the current limit; {@link Long#MAX_VALUE} means no limit.
     * The limit covers the memory the heap keeps mapped and ready (MemStats {@code Sys − HeapReleased}: heap pages
     * not released plus the allocator's metadata). Under it the pacer's heap goal is at most the limit less the
     * non-heap memory and a 3% (at least 1 MiB) headroom; the background scavenger keeps retained memory under 95%
     * of the limit, and allocation beyond the limit releases free pages at once. It is a soft limit, as Go's: a
     * live heap larger than it is kept, with the GC CPU limiter holding the collector to about half of the CPU
     * (see {@link Builder#memoryLimitExit} for a way out).
     *
     * @param limit the new limit in bytes; negative: leave it as it is
     * @return the previous limit
     */
    public long setMemoryLimit(long limit) {
        return collector.setMemoryLimit(limit);
    }

    /**
     * Calls {@code listener} when {@code measure} rises to {@code fraction} of the memory limit, and again when it
     * falls below {@code fraction − hysteresis} of it (once each way; see {@link MemoryPressureListener} for the
     * thread it runs on). Looked at after every collection and at most every 10 ms while collected objects are
     * allocated; nothing happens while no limit is set. Close the returned registration to remove the listener.
     *
     * @throws IllegalArgumentException unless {@code 0 < fraction <= 10} and {@code 0 <= hysteresis < fraction}
     * @param measure what is compared with the limit
     * @param fraction the fraction of the limit that raises an event
     * @param hysteresis how far below {@code fraction} the measure must fall for the falling event
     * @param listener called on the heap's event thread
     * @return a registration: closing it removes the listener
     */
    public AutoCloseable addMemoryPressureListener(MemoryPressureEvent.Measure measure, double fraction,
                                                   double hysteresis, MemoryPressureListener listener) {
        allocator.ensureUsable();
        return collector.pressure.add(measure, fraction, hysteresis, listener);
    }

    /** {@return true once {@link #close()} has run (or a cleaner closed the heap)} */
    public boolean isClosed() {
        return allocator.isClosed();
    }

    /**
     * Closes the heap. Idempotent. Every later call, and every access through {@link #segment()}, throws
     * {@link IllegalStateException}; threads waiting for a P throw it too. Addresses from this heap must not be
     * used through other means. The heap's memory goes back to the OS at once; its address range is unmapped about
     * a second later (a thread racing the close may still touch it until then, and must find it mapped: a JDK 25
     * limitation of closing shared segments) — a heap built meanwhile whose reservation the OS refuses waits for
     * that unmapping and tries again.
     */
    @Override
    public void close() {
        closing.clean();
    }

    /** The largest reservation a heap takes: 16 TiB; the largest object is one 8 KiB page less. */
    public static final long MAX_RESERVATION = io.goheap.allocator.Heap.MAX_RESERVATION;

    /**
     * Configures a {@link Heap}. Not thread-safe; {@link #build()} may be called more than once.
     *
     * <p>Go's four settings can each come from three places; the first that is set wins: a call on this builder,
     * then a system property, then Go's environment variable — {@link #gogc(String)} / {@code -Dgoheap.gogc} /
     * {@code GOGC}, {@link #memoryLimit(String)} / {@code -Dgoheap.memlimit} / {@code GOMEMLIMIT},
     * {@link #maxProcs(String)} / {@code -Dgoheap.maxprocs} / {@code GOMAXPROCS}, and {@link #godebug(String)} /
     * {@code -Dgoheap.godebug} / {@code GODEBUG}, which is merged key by key in the same order. Builder calls check
     * their value at once; {@link #build()} reads the properties and the environment, and a malformed value there is
     * an {@link IllegalArgumentException} naming the property or variable and its value.
     */
    public static final class Builder {
        private final io.goheap.allocator.Heap.Builder allocator = io.goheap.allocator.Heap.builder();
        private Integer gcPercent;
        private String godebug;
        private boolean maxProcsSet;
        private boolean decommitModeSet;
        private Long memoryLimit;
        private MemoryLimitExit limitExit;
        private System.Logger traceLogger;
        private String name;
        private boolean jmx = true;

        private Builder() {
        }

        /**
         * The heap's name, shown by JMX, JFR and the heap profile (default: {@code heap-1}, {@code heap-2}, ... in the
         * order heaps are built). Two open heaps with JMX on may not share a name.
         *
         * @param name the heap's name
         * @return this builder
         * @throws IllegalArgumentException when empty or holding a character a JMX ObjectName value cannot hold
         *                                  unquoted ({@code , = : " * ?} or a line break)
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.chars().anyMatch(c -> ",=:\"*?\n\r".indexOf(c) >= 0)) {
                throw new IllegalArgumentException("heap name must be non-empty and hold none of , = : \" * ? or a"
                        + " line break (it is a JMX ObjectName value): \"" + name + "\"");
            }
            this.name = name;
            return this;
        }

        /**
         * Whether {@link #build()} registers the heap's MXBeans in the platform MBean server (default on): a
         * {@link HeapMXBean} as {@code io.goheap:type=Heap,name=<name>} and a
         * {@link java.lang.management.GarbageCollectorMXBean} with cycle-end notifications as
         * {@code io.goheap:type=GarbageCollector,name=<name>}. {@link Heap#close()} unregisters them.
         *
         * @param on whether to register the beans
         * @return this builder
         */
        public Builder jmx(boolean on) {
            this.jmx = on;
            return this;
        }

        /**
         * Address space to reserve, a multiple of 64 MiB up to {@link #MAX_RESERVATION} (default 256 GiB).
         *
         * @param bytes the address space to reserve
         * @return this builder
         * @throws IllegalArgumentException unless a positive multiple of 64 MiB up to {@link #MAX_RESERVATION}
         */
        public Builder reservation(long bytes) {
            allocator.reservation(bytes);
            return this;
        }

        /**
         * GOMAXPROCS (see {@link Heap#maxProcs()}); default: the system property {@code goheap.maxprocs}, else the {@code GOMAXPROCS} environment variable, else the
         * available processors. A value below 1 means that default, as Go treats {@code GOMAXPROCS=0} as unset.
         *
         * @param n the number of Ps; below 1, the default
         * @return this builder
         * @throws IllegalArgumentException above 1024
         */
        public Builder maxProcs(int n) {
            if (n < 1) {
                maxProcsSet = false;
                return this;
            }
            allocator.maxProcs(n);
            maxProcsSet = true;
            return this;
        }

        /**
         * Number of Ps in Go's GOMAXPROCS syntax, a decimal integer of at most 1024; below 1 means the default, as
         * Go treats {@code GOMAXPROCS=0} as unset (see {@link #maxProcs(int)}).
         *
         * @param gomaxprocs the number of Ps, as GOMAXPROCS writes it
         * @return this builder
         * @throws IllegalArgumentException naming the value when it is malformed
         */
        public Builder maxProcs(String gomaxprocs) {
            Integer n = GcSettings.parseMaxProcs(Objects.requireNonNull(gomaxprocs, "gomaxprocs"),
                    GcSettings.builder("maxProcs"));
            return maxProcs(n == null ? 0 : n);
        }

        /**
         * How long a stop of the world or a handshake of the collector waits for one thread before it reports it —
         * its name, state and stack, as a warning through {@link System.Logger} {@code io.goheap} — and counts it
         * ({@link MemStats#stallReports()}); the report repeats every such interval while the wait lasts. Default
         * 1 s.
         *
         * @param threshold the wait after which a thread is reported
         * @return this builder
         * @throws IllegalArgumentException unless positive
         */
        public Builder stallReportThreshold(java.time.Duration threshold) {
            allocator.stallReportThreshold(threshold);
            return this;
        }

        /**
         * GOGC, the heap growth that starts a collection, in percent of the live heap. Default: the system property
         * {@code goheap.gogc}, else the {@code GOGC} environment variable, else 100.
         *
         * @param percent the percentage; negative turns automatic collection off (Go's {@code GOGC=off})
         * @return this builder
         */
        public Builder gcPercent(int percent) {
            this.gcPercent = percent < 0 ? -1 : percent;
            return this;
        }

        /**
         * GOGC in Go's syntax: {@code "off"} or a decimal integer percentage (see {@link #gcPercent(int)}).
         *
         * @param gogc the setting, as GOGC writes it
         * @return this builder
         * @throws IllegalArgumentException naming the value when it is malformed
         */
        public Builder gogc(String gogc) {
            this.gcPercent = GcSettings.parseGogc(Objects.requireNonNull(gogc, "gogc"), GcSettings.builder("gogc"));
            return this;
        }

        /**
         * GODEBUG settings, as Go's {@code key=value,...} (default: the {@code GODEBUG} environment variable).
         * Understood: {@code gctrace=1} (a line per cycle on stderr, in Go's format), {@code invalidptr=0} (ignore
         * pointers to free slots instead of reporting them), {@code gccheckmark=1} (after each mark, mark again
         * from the roots with separate bits, the world still stopped, and fail the cycle with an
         * {@link IllegalStateException} naming any reachable object the mark missed: the collector's own check,
         * for tests), {@code gcstoptheworld=1} (every cycle marks with the world stopped), {@code gcpacertrace=1}
         * (the pacer's lines on stderr, in Go's format: at each mark's start and end, and when a sweep is done),
         * {@code gcstoptrace=1} (after each stop of the world and handshake of a cycle, a line on stderr with how
         * long it waited for the threads holding Ps, and which thread it waited for longest),
         * {@code scavtrace=1} (a line per cycle and per {@link Heap#freeOSMemory()} on stderr on what
         * the scavenger released, in Go's format), {@code madvdontneed=0} (release with {@code MADV_FREE} instead of
         * the default {@code MADV_DONTNEED}), {@code harddecommit=1} (released pages also become inaccessible, as
         * {@link DecommitMode#HARD}; an explicit {@link #decommitMode} wins over both), {@code checkptr=1} (every
         * {@link Mutator} pointer store, compare-and-set, copy and load is validated first, and one whose slot is
         * not a pointer slot of an allocated object, or whose value points into the heap where no object is
         * allocated, throws {@link IllegalArgumentException} naming the slot, the object and its type: for tests
         * and debugging, it costs a lookup per access), {@code clobberfree=1} (Go's: the sweeper fills the memory of
         * every collected object it frees with {@code 0xdeadbeef}), {@code gcquarantine=N} (collected objects the
         * sweeper would free stay allocated, clobbered and out of reuse for N more cycles, and the first
         * {@link Mutator} load from or store into one, store of its address, {@link Root#set}, {@link Mutator#keep}
         * or free of it throws {@link IllegalStateException} naming the address: the mark of an address kept in a
         * Java local across a safepoint without a root; for tests and debugging); other keys are ignored, as Go
         * ignores unknown ones.
         *
         * @param settings {@code key=value} pairs separated by commas
         * @return this builder
         * @throws IllegalArgumentException naming the entry when one is not {@code key=value} or a known key's value is not an integer
         */
        public Builder godebug(String settings) {
            this.godebug = Objects.requireNonNull(settings, "settings");
            GcSettings.parseGodebug(settings, GcSettings.builder("godebug"));   // reject a malformed value now
            return this;
        }

        /**
         * How free pages go back to the OS (default {@link DecommitMode#DONTNEED}, as Go on Linux).
         *
         * @param mode how released pages are returned
         * @return this builder
         */
        public Builder decommitMode(DecommitMode mode) {
            allocator.decommitMode(Objects.requireNonNull(mode, "mode").osMode());
            decommitModeSet = true;
            return this;
        }

        /**
         * The soft memory limit in bytes (Go's GOMEMLIMIT; default: the {@code GOMEMLIMIT} environment variable,
         * with Go's syntax, e.g. {@code 512MiB}, else none). {@link Long#MAX_VALUE} means none. See
         * {@link Heap#setMemoryLimit}.
         *
         * @throws IllegalArgumentException when negative
         * @param bytes the limit in bytes
         * @return this builder
         */
        public Builder memoryLimit(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("memory limit must be >= 0 bytes (Long.MAX_VALUE: none): " + bytes);
            }
            this.memoryLimit = bytes;
            return this;
        }

        /**
         * The soft memory limit in Go's GOMEMLIMIT syntax: {@code "off"} or a byte count with an optional unit B,
         * KiB, MiB, GiB or TiB, such as {@code "512MiB"}.
         *
         * @throws IllegalArgumentException naming the value when it is malformed
         * @param gomemlimit the limit, as GOMEMLIMIT writes it
         * @return this builder
         */
        public Builder memoryLimit(String gomemlimit) {
            this.memoryLimit = GcSettings.parseMemoryLimit(Objects.requireNonNull(gomemlimit, "gomemlimit"),
                    GcSettings.builder("memoryLimit"));
            return this;
        }

        /**
         * Opts in to the death-spiral exit (beyond Go): once the GC CPU limiter has been saturated for
         * {@code saturatedFor} while the live heap alone fills what the memory limit leaves for it, allocating a
         * collected object throws {@link MemoryLimitExceededException} instead of the collector going on forever.
         * Applies while a memory limit is set.
         *
         * @param saturatedFor how long the limiter must have been saturated
         * @return this builder
         * @throws IllegalArgumentException when negative
         */
        public Builder memoryLimitExit(java.time.Duration saturatedFor) {
            return memoryLimitExit(saturatedFor, e -> true);
        }

        /**
         * As {@link #memoryLimitExit(java.time.Duration)}, with {@code decider} choosing, on the allocating thread,
         * whether the allocation fails (true) or proceeds (false) — it may free memory or raise the limit first.
         *
         * @param saturatedFor how long the limiter must have been saturated
         * @param decider decides, on the allocating thread, whether the allocation fails
         * @return this builder
         * @throws IllegalArgumentException when {@code saturatedFor} is negative
         */
        public Builder memoryLimitExit(java.time.Duration saturatedFor,
                                       java.util.function.Predicate<MemoryLimitExceededException> decider) {
            Objects.requireNonNull(saturatedFor, "saturatedFor");
            if (saturatedFor.isNegative()) {
                throw new IllegalArgumentException("saturation time must not be negative: " + saturatedFor);
            }
            long nanos;
            try {
                nanos = saturatedFor.toNanos();
            } catch (ArithmeticException e) {
                nanos = Long.MAX_VALUE;
            }
            this.limitExit = new MemoryLimitExit(nanos, decider);
            return this;
        }

        /**
         * The OS binding by name: {@code "ffm"} (FFM downcalls, the default) or {@code "jnr"} (JNR-FFI, which must
         * be on the class path); default: the system property {@code goheap.ffi}, else {@code ffm}.
         *
         * @param name {@code "ffm"} or {@code "jnr"}
         * @return this builder
         * @throws IllegalArgumentException when the name is neither
         */
        public Builder binding(String name) {
            allocator.binding(name);
            return this;
        }

        /**
         * Sends the lines of {@code GODEBUG} {@code gctrace}, {@code gcpacertrace} and {@code scavtrace} to
         * {@code logger}, one record per line at {@link System.Logger.Level#INFO}, instead of standard error (the
         * default, where Go prints them). The lines are Go's, unchanged.
         *
         * @param logger where the trace lines go
         * @return this builder
         */
        public Builder traceLogger(System.Logger logger) {
            this.traceLogger = Objects.requireNonNull(logger, "logger");
            return this;
        }

        /**
         * Reserves the address space and starts the heap.
         *
         * @return a new heap
         * @throws IllegalArgumentException when a system property or environment variable (GOGC, GOMEMLIMIT, GODEBUG,
         *                                  GOMAXPROCS, or their {@code goheap.*} properties) is malformed, named
         *                                  with its value
         * @throws IllegalStateException    when the OS refuses the reservation or the JVM refuses native access
         * @throws IllegalArgumentException when JMX is on and an open heap of the same {@link #name} is registered
         */
        public Heap build() {
            GcSettings settings = GcSettings.resolve(gcPercent, memoryLimit, godebug, System::getProperty,
                    System::getenv);
            if (!decommitModeSet) {
                allocator.decommitMode(settings.decommitMode().osMode());   // GODEBUG madvdontneed / harddecommit
            }
            if (!maxProcsSet) {
                Integer procs = GcSettings.gomaxprocs(System::getProperty, System::getenv);
                allocator.maxProcs(procs != null ? procs : 0);        // (0: the available processors)
            }
            String heapName = name != null ? name : "heap-" + UNNAMED.incrementAndGet();
            return new Heap(allocator.build(), settings, limitExit, traceLogger, heapName, jmx);
        }
    }
}
