package io.goheap.allocator;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * The manual objects that hold pointers, as a concurrent mark sees them: the scan spans of manual objects taken
 * at the mark's start with the world stopped ({@link GcHooks#snapshotManualRoots}), walked later while mutators
 * run. These objects are roots (Go scans its stacks; goheap scans the manual objects that hold pointers).
 *
 * <h2>Why a snapshot taken at the start suffices</h2>
 * The concurrent mark is a snapshot-at-the-beginning mark (Go's hybrid barrier): every pointer that was in one of
 * these objects when the mark started is either still there when the walk reaches the object, or was overwritten
 * through the write barrier, which shaded it; an object allocated after the start holds nothing but what was
 * stored through the barrier. A pointer lost with an object freed during the mark was either dead, or was kept
 * elsewhere — in a heap slot (through the barrier), a root or a local frame (both scanned again at mark
 * termination): a Java local across a safepoint is outside the contract.
 *
 * <h2>Threads</h2>
 * {@link #forEachObject} runs on a marking thread while mutators allocate and free in these spans: it reads
 * allocation bits racily and checks each span is still in use. A racy answer can only make it scan a slot that
 * was just freed or reused (its words are then shaded as pointers: floating garbage at worst, and a value that
 * hits no object is only reported if the collector confirms it with the world stopped), or skip an object
 * allocated after the start (which needs no scan, see above).
 */
public final class ManualRoots {
    private final List<MSpan> spans;
    private final long manualBytes;

    ManualRoots(List<MSpan> spans, long manualBytes) {
        this.spans = spans;
        this.manualBytes = manualBytes;
    }

    /**
     * Snapshot of every manual scan span — on the mcentrals and cached by the Ps (the allocating and stashed spans
     * stay cached across a cycle) — and the bytes of all manual objects. World stopped.
     */
    static ManualRoots take(MHeap heap, Procs procs) {
        Recorder r = new Recorder();
        walkCentrals(heap, r);
        for (int i = 0; i < procs.count(); i++) {
            procs.get(i).mcache.forEachCachedManualSpan(r::add);
        }
        return r.result();
    }

    /**
     * The same snapshot with the world running (a concurrent mark's setup): the mcentrals' lists walked under their
     * locks, each P's cached manual spans recorded by a handshake ({@link Procs#handshake}, which runs the record
     * for each P while nobody else uses it), and, while both go on, every manual span that moves between an
     * mcentral and a cache or is made recorded by the mcentral that moves it ({@link MHeap#manualRecorder}). A span
     * in use throughout is found: on a list when its class is walked, or in a cache when its P runs the handshake, or
     * else it moved between the two meanwhile and was recorded as it moved. Spans made during the snapshot are
     * found too (scanned for nothing: their objects came after the barrier was on). The handshake is also what
     * the mark's setup needs: every P has seen the phase word set before it returns.
     */
    static ManualRoots takeByHandshake(MHeap heap, Procs procs) {
        Recorder r = new Recorder();
        heap.manualRecorder = r;
        try {
            walkCentrals(heap, r);
            procs.handshake(p -> p.mcache.forEachCachedManualSpan(r::add));
        } finally {
            heap.manualRecorder = null;
        }
        return r.result();
    }

    private static void walkCentrals(MHeap heap, Recorder r) {
        for (int spc = 0; spc < SizeClasses.NUM_SPAN_CLASSES; spc++) {
            heap.central[spc].forEachSpan((s, list, set) -> r.add(s));
        }
    }

    /** Manual spans collected for a snapshot, from any thread; duplicates are dropped by {@link #result}. */
    static final class Recorder {
        private final java.util.concurrent.ConcurrentLinkedQueue<MSpan> spans = new java.util.concurrent.ConcurrentLinkedQueue<>();

        void add(MSpan s) {
            spans.add(s);
        }

        /** The scan spans, once each, and the bytes of every manual object in all of them (a racy sum: pacing). */
        ManualRoots result() {
            java.util.Set<MSpan> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            List<MSpan> scan = new ArrayList<>();
            long bytes = 0;
            for (MSpan s : spans) {
                if (seen.add(s) && s.state() == MSpan.IN_USE) {
                    bytes += (long) s.allocCount * s.elemSize;
                    if (!s.noscan) {
                        scan.add(s);
                    }
                }
            }
            return new ManualRoots(scan, bytes);
        }
    }

    /** Bytes of all manual objects when the snapshot was taken (the pacer counts them live). */
    public long manualBytes() {
        return manualBytes;
    }

    /** Calls {@code visitor} with each object of the snapshot's spans that looks allocated now. Any thread. */
    public void forEachObject(LongConsumer visitor) {
        for (MSpan s : spans) {
            for (int i = 0; i < s.nelems; i++) {
                if (s.state() == MSpan.IN_USE && s.isAllocatedRacy(i) && !s.isRemoteFreedRacy(i)) {
                    visitor.accept(s.objectAddress(i));
                }
            }
        }
    }
}
