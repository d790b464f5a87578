package io.goheap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The tiny allocator (Go's): collected pointer-free objects under 16 bytes packed into 16-byte blocks, a block
 * kept while any object in it is reachable and reclaimed whole, finalizers on inner objects of a block, frees that
 * leave the block to the collector; and a randomized run with a plain-Java shadow while concurrent cycles
 * (checked by gccheckmark, shaken) hand out pieces of blocks during marks.
 */
class TinyAllocTest {
    static HeapType bytes(long n) {
        return HeapType.of(MemoryLayout.sequenceLayout(n, JAVA_BYTE));
    }

    @Test
    void objectsUnder16BytesArePackedIntoOneBlockAlignedToTheirSize() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
             Mutator m = heap.attach()) {
            HeapType one = bytes(1);
            long first = m.allocate(one);
            assertEquals(0, first % 16, "a new block starts the run");
            for (int i = 1; i < 16; i++) {
                assertEquals(first + i, m.allocate(one), "one-byte objects share the block: object " + i);
            }
            long next = m.allocate(one);
            assertTrue(next < first || next >= first + 16, "a full block is replaced");
            assertEquals(0, next % 16);
            long four = m.allocate(bytes(4));
            assertEquals(next + 4, four, "aligned to 4 after one byte");
            long eight = m.allocate(bytes(8));
            assertEquals(next + 8, eight, "aligned to 8");
            long sixteen = m.allocate(bytes(16));
            assertEquals(0, sixteen % 16, "16 bytes is not tiny: a slot of its own");
            assertFalse(heap.allocator.gcHooks().isInTinyBlock(sixteen));
            MemStats s = heap.readMemStats();
            assertEquals(3, s.heapObjects(), "two blocks and the 16-byte object are heap objects");
            assertEquals(20, s.mallocs(), "three heap objects and 17 objects placed into started blocks");
            assertEquals(17, s.frees(), "an object placed into a block counts as allocated and freed at once (Go's tinyAllocs)");
        }
    }

    @Test
    void aBlockLivesWhileAnyOfItsObjectsIsReachableAndItsFinalizersRunWhenNoneIs() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("gccheckmark=1").build();
             Mutator m = heap.attach();
             Root root = heap.newRoot()) {
            MemorySegment mem = heap.segment();
            HeapType eight = bytes(8);
            long a = m.allocate(bytes(1));                // starts a block
            long b = m.allocate(bytes(1));
            long c = m.allocate(eight);
            assertEquals(a + 1, b);
            assertEquals(a + 8, c);
            mem.set(JAVA_BYTE, a - heap.base(), (byte) 0x5A);
            root.set(a);
            CountDownLatch ran = new CountDownLatch(1);
            AtomicInteger runs = new AtomicInteger();
            heap.setFinalizer(c, x -> {                   // an inner address of the block: allowed, as in Go
                runs.incrementAndGet();
                ran.countDown();
            });
            m.free(b);                                    // the block holds a and c: left to the collector
            for (int i = 0; i < 3; i++) {
                m.gc();
                for (int j = 0; j < 64; j++) {
                    long p = m.allocate(bytes(1 + (j % 15)));
                    assertTrue(p < a || p >= a + 16, "nothing is carved from a reachable block again");
                }
            }
            assertEquals((byte) 0x5A, mem.get(JAVA_BYTE, a - heap.base()), "the reachable object is intact");
            assertEquals(0, runs.get(), "c's block is reachable through a: its finalizer waits");
            root.set(0);
            m.gc();
            assertTrue(ran.await(10, TimeUnit.SECONDS), "the finalizer ran once the block was unreachable");
            assertEquals(1, runs.get());
        }
    }

    @Test
    void freeingATinyObjectLeavesTheBlockAndAFreeOfAFreedBlockIsReported() {
        try (Heap heap = Heap.builder().reservation(1L << 30).maxProcs(1).gcPercent(-1).godebug("").build();
             Mutator m = heap.attach()) {
            long a = m.allocate(bytes(4));
            long b = m.allocate(bytes(4));
            assertEquals(a + 4, b);
            m.free(a);
            m.free(a);                                    // no per-object state in a block: not a double free
            m.free(b);
            assertEquals(1, heap.readMemStats().heapObjects(), "the block stays until the collector finds it unreachable");
            m.gc();
            assertEquals(0, heap.readMemStats().heapObjects(), "then it is reclaimed whole");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.free(a));
            assertTrue(e.getMessage().contains("double free"), e.getMessage());
        }
    }

    /**
     * Threads allocate tiny objects of random sizes filled with their id's pattern, keep a random subset in a manual
     * holder's slots (pointers into blocks), drop and free others, and allocate 32 KiB garbage so the pacer runs
     * concurrent cycles; marks and barriers are shaken. After every thread's own collection and at the end, every
     * held object still has its pattern, and with nothing held every block is reclaimed.
     */
    @Test
    void heldTinyObjectsSurviveConcurrentCyclesThatRunWhileBlocksAreCarved() throws Exception {
        int slots = 64;
        HeapType holderType = HeapType.of(MemoryLayout.sequenceLayout(slots, ADDRESS));
        HeapType garbage = bytes(32 << 10);
        HeapType[] tinyTypes = new HeapType[16];
        for (int n = 1; n < 16; n++) {
            tinyTypes[n] = bytes(n);
        }
        try (Heap heap = Heap.builder().reservation(2L << 30).maxProcs(2).gcPercent(25).godebug("gccheckmark=1").build()) {
            heap.collector.barrier.shaker = CollectorModelTest::shake;
            heap.allocator.gcHooks().shakeConcurrentMarkForTests(CollectorModelTest::shake);
            MemorySegment mem = heap.segment();
            long base = heap.base();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                SplittableRandom rnd = new SplittableRandom(7 + t);
                Thread th = new Thread(() -> {
                    long[] addr = new long[slots];
                    int[] size = new int[slots];
                    long[] id = new long[slots];
                    long nextId = 1;
                    try (Mutator m = heap.attach()) {
                        long holder = m.malloc(holderType);
                        for (int round = 0; round < 40_000 && failure.get() == null; round++) {
                            int n = 1 + rnd.nextInt(15);
                            long p = m.allocate(tinyTypes[n]);
                            long myId = nextId++;
                            for (int i = 0; i < n; i++) {
                                mem.set(JAVA_BYTE, p - base + i, pattern(myId, i));
                            }
                            int dice = rnd.nextInt(16);
                            if (dice < 6) {                   // hold it (the one just dropped becomes garbage)
                                int s = rnd.nextInt(slots);
                                m.storePointer(holder + 8L * s, p);
                                addr[s] = p;
                                size[s] = n;
                                id[s] = myId;
                            } else if (dice < 8) {
                                m.free(p);                    // a tiny free: the block is left to the collector
                            } else if (dice == 8) {
                                m.allocate(garbage);
                            } else if (dice == 9 && rnd.nextInt(64) == 0) {
                                m.gc();
                                check(mem, base, addr, size, id);
                            }
                        }
                        m.gc();
                        check(mem, base, addr, size, id);
                        m.free(holder);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "tiny-" + t);
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a thread failed", failure.get());
            }
            heap.gc();
            MemStats s = heap.readMemStats();
            assertEquals(0, s.heapObjects(), "with nothing held, every block was reclaimed");
            assertTrue(s.numGC() > s.numForcedGC(), "the pacer ran cycles of its own: " + s.numGC());
        }
    }

    private static byte pattern(long id, int i) {
        return (byte) (id * 31 + i * 7 + 1);
    }

    private static void check(MemorySegment mem, long base, long[] addr, int[] size, long[] id) {
        for (int s = 0; s < addr.length; s++) {
            for (int i = 0; i < size[s]; i++) {
                byte got = mem.get(JAVA_BYTE, addr[s] - base + i);
                if (got != pattern(id[s], i)) {
                    throw new AssertionError(String.format("held tiny object %d (0x%x, %d bytes) lost byte %d: %d",
                            id[s], addr[s], size[s], i, got));
                }
            }
        }
    }
}
