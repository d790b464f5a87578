package io.goheap;

import io.goheap.allocator.GcHooks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.LongConsumer;

/**
 * Finalizers and cleanups (Go's specials, {@code mfinal} and {@code mcleanup}) of one heap, and its finalizer
 * thread.
 *
 * <h2>Semantics (Go's)</h2>
 * A finalizer: when its object is found unreachable, the object — and everything it reaches, which its scan as a
 * root kept marked — survives the cycle, the finalizer is queued with the object's address (a root until the
 * finalizer returns), and it is forgotten: the object is reclaimed by a later cycle once unreachable again,
 * unless the finalizer stored it somewhere reachable. Objects in a cycle of finalizers are never reclaimed. A
 * cleanup: several per object; when the object is found unreachable and has no finalizer, its cleanups are queued
 * and the object is reclaimed in the same cycle (a cleanup never resurrects it). Both run on one daemon thread
 * per heap, in queue order; an exception a finalizer or cleanup throws is printed to stderr and the thread goes
 * on. An object freed explicitly loses its finalizer and cleanups.
 *
 * <h2>Who touches what</h2>
 * The maps are changed by registering threads while they hold a P (so never during a cycle), by {@link #forget}
 * on an explicit free, and by the cycle's {@link #afterMark} with the world stopped. The queue is filled by the
 * cycle and drained by the finalizer thread.
 */
final class Specials {
    /** Warnings (a finalizer or cleanup that threw) go to this logger, which the application routes. */
    private static final System.Logger LOG = System.getLogger(Specials.class.getName());

    private final Collector collector;
    private final Map<Long, LongConsumer> finalizers = new ConcurrentHashMap<>();
    private final Map<Long, List<Cleanup>> cleanups = new ConcurrentHashMap<>();
    /** Objects whose finalizer is queued or running, to the root slot that keeps them until it returns. */
    private final Map<Long, Integer> finalizing = new ConcurrentHashMap<>();
    /** Whether any special was ever registered: frees skip {@link #forget} until then. */
    private volatile boolean used;
    final FinalizerThread thread = new FinalizerThread();

    Specials(Collector collector) {
        this.collector = collector;
    }

    void setFinalizer(long address, LongConsumer finalizer) {
        collector.heap.allocator.runHoldingP(() -> {
            requireCollectedObject(address, "setFinalizer");
            if (finalizer == null) {
                finalizers.remove(address);
                return;
            }
            if (finalizers.putIfAbsent(address, finalizer) != null) {
                throw new IllegalStateException(String.format("setFinalizer(0x%x): finalizer already set", address));
            }
            WriteBarrier barrier = collector.barrier;
            if (barrier.marking) {
                // the mark may have scanned the finalizable objects already: this one is shaded instead, so it
                // and what it points to survive this cycle and termination scans nothing for it
                barrier.recordRoot(0, address);
            }
            used = true;
        });
    }

    Cleanup addCleanup(long address, Runnable action) {
        Cleanup c = new Cleanup(this, address, action);
        collector.heap.allocator.runHoldingP(() -> {
            requireCollectedObject(address, "addCleanup");
            cleanups.compute(address, (a, list) -> {
                List<Cleanup> l = list == null ? new ArrayList<>() : list;
                l.add(c);
                return l;
            });
            used = true;
        });
        return c;
    }

    void stop(Cleanup c) {
        cleanups.computeIfPresent(c.address, (a, list) -> {
            list.remove(c);
            return list.isEmpty() ? null : list;
        });
    }

    private void requireCollectedObject(long address, String op) {
        if (!collector.hooks.isCollectedObjectStart(address)) {
            throw new IllegalArgumentException(String.format("%s(0x%x): not the start of an allocated collected object"
                    + " (a manual object, an interior or freed address, or not in the heap)", op, address));
        }
    }

    /** An explicit free of {@code address}: its finalizer and cleanups are dropped. */
    void forget(long address) {
        if (used) {
            finalizers.remove(address);
            cleanups.remove(address);
            Integer root = finalizing.get(address);
            if (root != null) {
                collector.roots.set(root, 0);      // freed by its own finalizer: the root must not hold it
            }
        }
    }

    /**
     * Roots step: scan what every finalizable object points to (not the object itself). World stopped, or, in a
     * concurrent mark, its first job (the map is read weakly consistently: an object given a finalizer meanwhile is
     * shaded by {@link #setFinalizer}; its slots' later values by the write barrier).
     */
    void scanFinalizable(Marker marker) {
        for (long address : finalizers.keySet()) {
            marker.scanRootObject(address);
        }
    }

    /**
     * After marking, world stopped: finalizable objects left unmarked are queued and kept (marked, rooted until
     * their finalizer returns); cleanups of objects left unmarked and without a finalizer are queued.
     */
    void afterMark(GcHooks hooks, Marker marker) {
        if (!used) {
            return;
        }
        for (var e : finalizers.entrySet()) {
            long address = e.getKey();
            if (!hooks.isMarked(address)) {
                finalizers.remove(address);
                marker.markRoot(address, "a finalizable object");   // survives this cycle: it and its referents
                RootTable roots = collector.roots;
                int root = roots.allocate();
                roots.set(root, address);
                Map<Long, Integer> running = finalizing;
                running.put(address, root);
                LongConsumer f = e.getValue();
                enqueue(() -> {
                    try {
                        f.accept(address);
                    } finally {
                        running.remove(address);
                        roots.release(root);
                    }
                });
            }
        }
        marker.drainLocal();                               // its referents were marked by scanFinalizable: quick
        for (var e : cleanups.entrySet()) {
            long address = e.getKey();
            if (!finalizers.containsKey(address) && !hooks.isMarked(address)) {
                cleanups.remove(address);
                for (Cleanup c : e.getValue()) {
                    enqueue(c.action);
                }
            }
        }
    }

    private void enqueue(Runnable r) {
        thread.enqueue(r);
    }

    /**
     * The one thread that runs finalizers and cleanups, started on first use. It holds no reference to the heap
     * (a running thread is a GC root: the heap could never become unreachable), only its queue.
     */
    static final class FinalizerThread {
        private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
        /** Queued or running, not yet finished (with the roots they release). */
        private final java.util.concurrent.atomic.AtomicInteger unfinished = new java.util.concurrent.atomic.AtomicInteger();
        private Thread thread;
        private boolean stopped;

        synchronized void enqueue(Runnable r) {
            if (stopped) {
                return;
            }
            if (thread == null) {
                LinkedBlockingQueue<Runnable> q = queue;
                java.util.concurrent.atomic.AtomicInteger u = unfinished;
                thread = new Thread(() -> run(q, u), "goheap-finalizer");
                thread.setDaemon(true);
                thread.start();
            }
            unfinished.incrementAndGet();
            queue.add(r);
        }

        /** The heap closed: queued finalizers and cleanups will not run. */
        synchronized void stop() {
            stopped = true;
            queue.clear();
            if (thread != null) {
                thread.interrupt();
            }
        }

        int pending() {
            return unfinished.get();
        }

        private static void run(LinkedBlockingQueue<Runnable> queue, java.util.concurrent.atomic.AtomicInteger unfinished) {
            for (;;) {
                Runnable r;
                try {
                    r = queue.take();
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    r.run();
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "goheap: a finalizer or cleanup threw", t);
                } finally {
                    unfinished.decrementAndGet();
                }
            }
        }
    }

    /** Finalizers and cleanups queued or running (for tests). */
    int pending() {
        return thread.pending();
    }
}
