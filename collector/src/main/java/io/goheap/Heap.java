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
 *   <li>The methods of this class may be called from any thread. Each call borrows one of the heap's
 *       {@link #maxProcs()} Ps (Go's processors: a CAS to take one, a release store to give it back).</li>
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

    final io.goheap.allocator.Heap allocator;
    final Collector collector;
    private final Cleaner.Cleanable closing;

    private Heap(io.goheap.allocator.Heap allocator, GcSettings settings, MemoryLimitExit limitExit,
                 System.Logger traceLogger) {
        this.allocator = allocator;
        this.collector = new Collector(this, allocator.gcHooks(), settings.gcPercent(), settings.gctrace(),
                settings.invalidptr(), settings.gccheckmark(), settings.gcstoptheworld(),
                traceLogger == null ? System.err : TraceOutput.toLogger(traceLogger),
                settings.scavtrace(), settings.memoryLimit(), limitExit, settings.gcpacertrace());
        this.collector.stopTrace = settings.gcstoptrace();
        Specials.FinalizerThread finalizerThread = collector.specials.thread;
        BackgroundSweeper sweeper = collector.sweeper;
        MarkWorkers markWorkers = collector.markWorkers;
        CycleRunner cycleRunner = collector.cycleRunner;
        io.goheap.scavenger.BackgroundScavenger scavenger = collector.scavengerPacer.background;
        MemoryPressure pressure = collector.pressure;
        this.closing = CLOSER.register(this, () -> {
            scavenger.stop();               // its releases run under the close protocol; this ends the thread
            pressure.close();
            cycleRunner.shutdown();
            markWorkers.shutdown();
            sweeper.stop();
            allocator.close();
            finalizerThread.stop();
        });
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
        // Specials are forgotten first (once freed, the slot may be reused and given new ones), and both steps run
        // under one P hold, so no collection falls between them and reclaims the object forget() let go of.
        allocator.runHoldingP(() -> {
            collector.specials.forget(address);
            allocator.free(address);
        });
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
     * Adds a cleanup to the collected object at {@code address} (Go's {@code runtime.AddCleanup}): {@code action}
     * runs on the heap's finalizer thread after the object was found unreachable (and, if it has a finalizer, after
     * that ran and a later cycle found it unreachable again). The object is reclaimed in that cycle: the action
     * must not use it. Several per object; {@link Cleanup#stop()} cancels one.
     *
     * @throws IllegalArgumentException when {@code address} is not the start of an allocated collected object
     * @param address the start of a collected object
     * @param action what to run after the object is reclaimed
     * @return a handle that cancels this cleanup
     */
    public Cleanup addCleanup(long address, Runnable action) {
        Objects.requireNonNull(action, "action");
        allocator.ensureUsable();
        return collector.specials.addCleanup(address, action);
    }

    /** {@return a handle that keeps a P for the calling thread until {@link Mutator#close()}: the fast path} */
    public Mutator attach() {
        if (Mutator.current(this) != null) {
            throw new IllegalStateException("this thread already has an open Mutator on this heap: use it (two would"
                    + " share one P, and one could lend it to a collection while the other runs on it)");
        }
        return new Mutator(this, allocator.attach());
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

    /** {@return the number of Ps (Go's GOMAXPROCS): how many threads can allocate at once} */
    public int maxProcs() {
        return allocator.maxProcs();
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
     * {@return a consistent statistics snapshot (Go's {@code runtime.ReadMemStats})} As Go's, it stops the world for
     * the read: Mutators pause at their next safepoint for some microseconds, and the call waits for a collection in
     * progress.
     */
    public MemStats readMemStats() {
        MemStats m = new MemStats();
        readMemStats(m);
        return m;
    }

    /**
     * Fills {@code into} with a snapshot, as Go's {@code ReadMemStats(&m)}.
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
     * Named samples as Go's {@code runtime/metrics} names them: the memory classes ({@code /memory/classes/...},
     * summing to {@code /memory/classes/total:bytes} = Sys), {@code /gc/heap/goal:bytes},
     * {@code /gc/gomemlimit:bytes}, {@code /gc/gogc:percent}, {@code /gc/limiter/last-enabled:gc-cycle},
     * {@code /cpu/classes/scavenge/background:cpu-seconds}, and goheap's {@code /gc/scavenge/background:bytes},
     * {@code /gc/scavenge/eager:bytes} (released since start) and {@code /gc/scavenge/goal:bytes} (heap memory the
     * background scavenger retains; Long.MAX_VALUE when it has none). A snapshot, read as {@link #readMemStats()}.
     *
     * @return the samples, by name
     */
    public java.util.Map<String, Number> readMetrics() {
        return RuntimeMetrics.read(readMemStats(), collector);
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
     * Unmaps the heap. Idempotent. Every later call, and every access through {@link #segment()}, throws
     * {@link IllegalStateException}; threads waiting for a P throw it too. Addresses from this heap must not be
     * used through other means.
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

        private Builder() {
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
         * Number of Ps (Go's GOMAXPROCS): how many threads can allocate at once. Default: the system property
         * {@code goheap.maxprocs}, else the {@code GOMAXPROCS} environment variable, else the available processors.
         *
         * @param n the number of Ps
         * @return this builder
         * @throws IllegalArgumentException unless {@code 1 <= n <= 1024}
         */
        public Builder maxProcs(int n) {
            allocator.maxProcs(n);
            maxProcsSet = true;
            return this;
        }

        /**
         * Number of Ps in Go's GOMAXPROCS syntax, a decimal integer in [1, 1024] (see {@link #maxProcs(int)}).
         *
         * @param gomaxprocs the number of Ps, as GOMAXPROCS writes it
         * @return this builder
         * @throws IllegalArgumentException naming the value when it is malformed
         */
        public Builder maxProcs(String gomaxprocs) {
            return maxProcs(GcSettings.parseMaxProcs(Objects.requireNonNull(gomaxprocs, "gomaxprocs"),
                    GcSettings.builder("maxProcs")));
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
         * {@link DecommitMode#HARD}; an explicit {@link #decommitMode} wins over both); other keys are ignored, as
         * Go ignores unknown ones.
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
         */
        public Heap build() {
            GcSettings settings = GcSettings.resolve(gcPercent, memoryLimit, godebug, System::getProperty,
                    System::getenv);
            if (!decommitModeSet) {
                allocator.decommitMode(settings.decommitMode().osMode());   // GODEBUG madvdontneed / harddecommit
            }
            if (!maxProcsSet) {
                Integer procs = GcSettings.gomaxprocs(System::getProperty, System::getenv);
                if (procs != null) {
                    allocator.maxProcs(procs);
                }
            }
            return new Heap(allocator.build(), settings, limitExit, traceLogger);
        }
    }
}
