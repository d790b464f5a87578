package io.goheap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Model-based randomized test of the collector: several threads, each with a plain-Java shadow of its
 * part of the object graph, allocate typed objects, store pointers, change global roots, local frames and manual
 * holders (manual objects with pointers), free manual objects, and collect at random moments while the pacer
 * collects by itself too. Addresses move between holders while marks run: into a thread's long-lived frame (from
 * a node, a root or a manual holder's slot, the holder then freed), out of it into roots and slots, and from one
 * thread's frame to another's through a Java queue (the sender keeps it in its frame until the receiver has kept
 * it, then may close its Mutator at once). After each of a thread's own collections, every object reachable in its model is live
 * with its id and pointers intact; at the end, after a last collection, HeapObjects equals the number of objects
 * reachable in all models (nothing leaked, nothing lost). {@code -Dgoheap.test.gcCycles=N} runs longer
 * (the {@code soak} profile runs thousands of cycles).
 */
class CollectorModelTest {
    static final int SLOTS = 3;
    /** id, then three pointers. */
    static final HeapType NODE = HeapType.of(MemoryLayout.structLayout(JAVA_LONG.withName("id"),
            MemoryLayout.sequenceLayout(SLOTS, ADDRESS).withName("next")));
    /** A manual holder: four pointers, a root while it lives. */
    static final HeapType HOLDER = HeapType.of(MemoryLayout.sequenceLayout(4, ADDRESS));
    /** 32 KB of pointer-free data. */
    static final HeapType GARBAGE = HeapType.of(MemoryLayout.sequenceLayout(4096, JAVA_LONG));
    static final int THREADS = 3;
    static final int ROOTS_PER_THREAD = 4;

    /** A node in a thread's model: its id and the addresses its slots point to (0 for nil). */
    static final class Node {
        final long id;
        final long[] next = new long[SLOTS];

        Node(long id) {
            this.id = id;
        }
    }

    /** One thread's part of the graph. Touched only by its thread. */
    static final class Model {
        final Map<Long, Node> nodes = new HashMap<>();
        final long[] roots = new long[ROOTS_PER_THREAD];
        final Map<Long, long[]> holders = new HashMap<>();    // manual holder address -> its 4 slots
        /** What this thread's Mutator keeps at its outermost frame (dropped when it closes). */
        final List<Long> frame = new ArrayList<>();
        /** Fresh nodes this thread kept in its frame and offered to other threads; not linked by this thread. */
        final List<Offer> offered = new ArrayList<>();
        long nextId;

        Set<Long> reachable() {
            Set<Long> seen = new HashSet<>();
            ArrayDeque<Long> work = new ArrayDeque<>();
            for (long r : roots) {
                push(r, seen, work);
            }
            for (long[] h : holders.values()) {
                for (long p : h) {
                    push(p, seen, work);
                }
            }
            for (long p : frame) {
                push(p, seen, work);
            }
            while (!work.isEmpty()) {
                for (long p : nodes.get(work.pop()).next) {
                    push(p, seen, work);
                }
            }
            return seen;
        }

        private static void push(long p, Set<Long> seen, ArrayDeque<Long> work) {
            if (p != 0 && seen.add(p)) {
                work.push(p);
            }
        }
    }

    /** A node handed from one thread's frame to another's: 0 offered, 1 taken, 2 withdrawn by the sender. */
    static final class Offer {
        final long address;
        final long id;
        final AtomicInteger state = new AtomicInteger();

        Offer(long address, long id) {
            this.address = address;
            this.id = id;
        }
    }

    /** Concurrent cycles (the default), three threads, every cycle checked by gccheckmark's stopped re-mark. */
    @Test
    void threadsMutatingTheirGraphsWhileCyclesRunKeepEveryReachableObject() throws Exception {
        run("gccheckmark=1", 3, false);
    }

    /**
     * Concurrent cycles with four threads on two cores, shaken: the marker, the write barrier (between reading the
     * slot's old value and storing) and every collected allocation yield or sleep at random, so mutations land at
     * every point of a concurrent mark.
     */
    @Test
    void shakenConcurrentCyclesWithFourThreadsKeepEveryReachableObject() throws Exception {
        run("gccheckmark=1", 4, true);
    }

    /** The stop-the-world collector ({@code gcstoptheworld=1}), the concurrent one's oracle, still holds. */
    @Test
    void stopTheWorldCyclesKeepEveryReachableObject() throws Exception {
        run("gccheckmark=1,gcstoptheworld=1", 3, false);
    }

    /** Yields often, sleeps a few microseconds now and then: a random schedule at each point it is called. */
    static void shake() {
        int dice = java.util.concurrent.ThreadLocalRandom.current().nextInt(256);
        if (dice == 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        } else if (dice < 32) {
            Thread.yield();
        }
    }

    private static void run(String godebug, int threadCount, boolean shaken) throws Exception {
        int cycles = Integer.getInteger("goheap.test.gcCycles", 400);
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).gcPercent(25).godebug(godebug).build()) {
            if (shaken) {
                heap.collector.barrier.shaker = CollectorModelTest::shake;
                heap.allocator.gcHooks().shakeConcurrentMarkForTests(CollectorModelTest::shake);
            }
            AtomicInteger ownCycles = new AtomicInteger();
            java.util.concurrent.ConcurrentLinkedQueue<Offer> mailbox = new java.util.concurrent.ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Model> models = new ArrayList<>();
            List<Root[]> allRoots = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < threadCount; t++) {
                Model model = new Model();
                Root[] roots = new Root[ROOTS_PER_THREAD];
                for (int i = 0; i < roots.length; i++) {
                    roots[i] = heap.newRoot();
                }
                models.add(model);
                allRoots.add(roots);
                SplittableRandom rnd = new SplittableRandom(42 + t);
                Thread th = new Thread(() -> {
                    try {
                        while (heap.readMemStats().numGC() < cycles && failure.get() == null) {
                            try (Mutator m = heap.attach()) {
                                for (int i = rnd.nextInt(100, 400); i > 0; i--) {
                                    step(heap, m, model, roots, rnd, ownCycles, mailbox);
                                }
                                // offers not yet taken are withdrawn (garbage once the frame goes); the rest were
                                // kept by their receivers, so this frame may drop them now — with no poll first
                                for (Offer o : model.offered) {
                                    o.state.compareAndSet(0, 2);
                                }
                                model.offered.clear();
                            }
                            model.frame.clear();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "model-" + t);
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a model thread failed", failure.get());
            }
            heap.gc();
            long reachable = 0;
            long holders = 0;
            for (Model model : models) {
                Set<Long> live = model.reachable();
                reachable += live.size();
                holders += model.holders.size();
                verify(heap, model, live);
            }
            MemStats s = heap.readMemStats();
            assertEquals(reachable + holders, s.heapObjects(), "after the last cycle exactly the reachable objects remain");
            assertTrue(s.numGC() >= cycles, "cycles: " + s.numGC());
            assertTrue(s.numGC() > s.numForcedGC(), "the pacer ran cycles of its own too: " + s.numGC() + " / " + s.numForcedGC());
            for (Model model : models) {
                for (long h : model.holders.keySet()) {
                    heap.free(h);
                }
            }
            for (Root[] roots : allRoots) {
                for (Root r : roots) {
                    r.close();
                }
            }
            heap.gc();
            assertEquals(0, heap.readMemStats().heapObjects(), "with no roots, nothing is left");
        }
    }

    private static void step(Heap heap, Mutator m, Model model, Root[] roots, SplittableRandom rnd,
                             AtomicInteger ownCycles, java.util.Queue<Offer> mailbox) {
        // Only objects reachable in the model may be used: any other may have been freed by a cycle at any safepoint
        // (another thread's, or the pacer's). Pruning the model each step keeps it to the reachable graph.
        Set<Long> reachableNow = model.reachable();
        model.nodes.keySet().retainAll(reachableNow);
        List<Long> live = List.copyOf(reachableNow);
        int dice = rnd.nextInt(1000);
        if (dice < 400 || live.isEmpty()) {
            // a new node, linked from a root, a holder or a node — rooted in the frame until it is linked
            try (Mutator.Frame f = m.enterFrame()) {
                long node = f.keep(m.allocate(NODE));
                Node n = new Node(++model.nextId);
                heap.segment().set(JAVA_LONG, node - heap.base(), n.id);
                model.nodes.put(node, n);
                link(heap, m, model, roots, live, rnd, node);
            }
        } else if (dice < 650) {
            link(heap, m, model, roots, live, rnd, live.get(rnd.nextInt(live.size())));
        } else if (dice < 690) {
            if (model.frame.size() < 64) {
                long p = live.get(rnd.nextInt(live.size()));
                m.keep(p);                                                     // into the long-lived frame
                model.frame.add(p);
            }
        } else if (dice < 720) {
            // a manual holder's pointer into the frame (the holder may be freed next: only the keep then saves it)
            if (!model.holders.isEmpty() && model.frame.size() < 64) {
                long h = List.copyOf(model.holders.keySet()).get(rnd.nextInt(model.holders.size()));
                int k = rnd.nextInt(4);
                long p = m.loadPointer(h + 8L * k);
                assertEquals(model.holders.get(h)[k], p, "a holder's slot");
                if (p != 0) {
                    m.keep(p);
                    model.frame.add(p);
                    if (rnd.nextBoolean()) {
                        m.free(h);
                        model.holders.remove(h);
                    }
                }
            }
        } else if (dice < 735) {
            if (model.offered.size() < 8) {                                    // a fresh node offered to others
                long id = ++model.nextId;
                long p = m.keep(m.allocate(NODE));
                heap.segment().set(JAVA_LONG, p - heap.base(), id);
                Offer o = new Offer(p, id);
                model.offered.add(o);
                mailbox.add(o);
            }
        } else if (dice < 750) {
            Offer o = mailbox.poll();                                          // another thread's (or its own)
            if (o != null && model.frame.size() < 64 && o.state.compareAndSet(0, 1)) {
                m.keep(o.address);                                             // no safepoint since the take
                model.nodes.put(o.address, new Node(o.id));
                model.frame.add(o.address);
            }
        } else if (dice < 850) {
            link(heap, m, model, roots, live, rnd, 0);                        // cut an edge
        } else if (dice < 900) {
            if (model.holders.size() < 4) {
                long h = m.malloc(HOLDER);
                model.holders.put(h, new long[4]);
            } else {
                long h = model.holders.keySet().iterator().next();
                m.free(h);                                                     // the pointers it held go with it
                model.holders.remove(h);
            }
        } else if (dice < 950) {
            m.allocate(GARBAGE);                                               // dropped at once: work for the pacer
        } else if (dice < 998) {
            long p = live.get(rnd.nextInt(live.size()));
            assertEquals(model.nodes.get(p).id, heap.segment().get(JAVA_LONG, p - heap.base()), "a node's id");
        } else {
            m.gc();
            ownCycles.incrementAndGet();
            verify(heap, model, model.reachable());
        }
    }

    /** Stores {@code target} into a random root, holder slot or node slot, in the heap and in the model. */
    private static void link(Heap heap, Mutator m, Model model, Root[] roots, List<Long> live, SplittableRandom rnd,
                             long target) {
        int where = rnd.nextInt(10);
        if (where < 2 || live.isEmpty() && model.holders.isEmpty()) {
            int r = rnd.nextInt(roots.length);
            roots[r].set(target);
            model.roots[r] = target;
        } else if (where < 4 && !model.holders.isEmpty()) {
            long h = List.copyOf(model.holders.keySet()).get(rnd.nextInt(model.holders.size()));
            int k = rnd.nextInt(4);
            m.storePointer(h + 8L * k, target);
            model.holders.get(h)[k] = target;
        } else if (!live.isEmpty()) {
            long parent = live.get(rnd.nextInt(live.size()));
            int k = rnd.nextInt(SLOTS);
            m.storePointer(parent + 8 + 8L * k, target);
            model.nodes.get(parent).next[k] = target;
        } else {
            int r = rnd.nextInt(roots.length);
            roots[r].set(target);
            model.roots[r] = target;
        }
    }

    private static void verify(Heap heap, Model model, Set<Long> reachable) {
        MemorySegment mem = heap.segment();
        long base = heap.base();
        for (long p : reachable) {
            Node n = model.nodes.get(p);
            assertEquals(n.id, mem.get(JAVA_LONG, p - base), "node " + n.id + " lost its id");
            for (int k = 0; k < SLOTS; k++) {
                assertEquals(n.next[k], mem.get(JAVA_LONG, p + 8 + 8L * k - base), "node " + n.id + " slot " + k);
            }
            assertEquals(p, heap.baseOf(p), "a reachable node is an allocated object");
        }
    }
}
