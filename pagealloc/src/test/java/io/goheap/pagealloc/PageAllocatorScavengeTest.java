// Invariants: scavenge() is called without the allocator's lock; everything else under it; each test owns its allocator (the concurrency test shares one between two threads through the lock).
package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocatorTestSupport.CHUNK;
import static io.goheap.pagealloc.PageAllocatorTestSupport.PAGE;
import static io.goheap.pagealloc.PageAllocatorTestSupport.assertSameBitmaps;
import static io.goheap.pagealloc.PageAllocatorTestSupport.assertThrowsWithValue;
import static io.goheap.pagealloc.PageAllocatorTestSupport.desc;
import static io.goheap.pagealloc.PageAllocatorTestSupport.locked;
import static io.goheap.pagealloc.PageAllocatorTestSupport.newPageAlloc;
import static io.goheap.pagealloc.PageAllocatorTestSupport.pageBase;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Go's TestPageAllocScavenge cases (minPages = 1: 4 KiB OS pages), plus the release protocol. */
class PageAllocatorScavengeTest {
    private static final long ALL = Long.MAX_VALUE;
    private static final PageAllocator.Releaser NOP = (a, b) -> { };

    @TestFactory
    Stream<DynamicTest> scavenge() {
        List<DynamicTest> t = new ArrayList<>();
        t.add(scavCase("AllFreeUnscavExhaust", desc().c(0).c(1).c(2), desc().c(0).c(1).c(2),
                new long[] {ALL, 3L * CHUNK * PAGE},
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK).c(2, 0, CHUNK)));
        t.add(scavCase("NoneFreeUnscavExhaust", desc().c(0, 0, CHUNK).c(1).c(2, 0, CHUNK), desc().c(0).c(1, 0, CHUNK).c(2),
                new long[] {ALL, 0},
                desc().c(0).c(1, 0, CHUNK).c(2)));
        t.add(scavCase("ScavHighestPageFirst", desc().c(0), desc().c(0, 1, CHUNK - 2),
                new long[] {1, PAGE},
                desc().c(0, 1, CHUNK - 1)));
        t.add(scavCase("ScavMultiple", desc().c(0), desc().c(0, 1, CHUNK - 2),
                new long[] {PAGE, PAGE, PAGE, PAGE},
                desc().c(0, 0, CHUNK)));
        t.add(scavCase("ScavMultiple2", desc().c(0).c(1), desc().c(0, 1, CHUNK - 2).c(1, 0, CHUNK - 2),
                new long[] {2 * PAGE, 2 * PAGE, PAGE, PAGE, PAGE, PAGE},
                desc().c(0, 0, CHUNK).c(1, 0, CHUNK)));
        t.add(scavCase("ScavDiscontiguous", desc().c(0).c(0xe), desc().c(0, 1, CHUNK - 2).c(0xe, 2, CHUNK - 2),
                new long[] {2 * PAGE, 2 * PAGE, ALL, 2 * PAGE, ALL, 0},
                desc().c(0, 0, CHUNK).c(0xe, 0, CHUNK)));
        t.add(scavCase("ScavAllVeryDiscontiguous", desc().c(0).c(0x1000), desc().c(0).c(0x1000),
                new long[] {ALL, 2L * CHUNK * PAGE, ALL, 0},
                desc().c(0, 0, CHUNK).c(0x1000, 0, CHUNK)));
        // Partial pages round up; a large request stops at what is there.
        t.add(scavCase("RoundUpToPages", desc().c(0), desc().c(0, 0, CHUNK - 3),
                new long[] {PAGE + 1, 2 * PAGE, 100 * PAGE, PAGE, 0, 0},
                desc().c(0, 0, CHUNK)));
        return t.stream();
    }

    /** requests: (request bytes, expected released bytes) pairs. */
    private static DynamicTest scavCase(String name, PageAllocatorTestSupport.Desc alloc, PageAllocatorTestSupport.Desc scav,
                                        long[] requests, PageAllocatorTestSupport.Desc afterScav) {
        return dynamicTest(name, () -> {
            PageAllocator pa = newPageAlloc(alloc, scav);
            for (int i = 0; i < requests.length; i += 2) {
                assertEquals(requests[i + 1], pa.scavenge(requests[i], NOP), "scavenge #" + (i / 2 + 1));
                pa.verify();
            }
            assertSameBitmaps(newPageAlloc(alloc, afterScav), pa);
        });
    }

    @Test
    void backgroundScavengingSkipsDenseChunksForcedScavengingDoesNot() {
        // Chunk 0: pages [0, 500) in use (dense: >= 496), [500, 512) free; chunk 1: [0, 100) in use, the rest free.
        PageAllocator pa = newPageAlloc(desc().c(0, 0, 500).c(1, 0, 100), desc().c(0).c(1));
        List<String> calls = new ArrayList<>();
        long got = pa.scavengeBackground(ALL, 0, (a, b) -> calls.add(String.format("0x%x+%d", a, b / PAGE)));
        assertEquals((CHUNK - 100) * PAGE, got, "only the sparse chunk");
        assertEquals(List.of(String.format("0x%x+%d", pageBase(1, 100), CHUNK - 100)), calls);
        assertEquals(0, pa.scavengeBackground(ALL, 0, NOP), "nothing left the background may take");
        assertEquals(12 * PAGE, pa.scavenge(ALL, NOP), "forced: the dense chunk's free pages too");
        pa.verify();
    }

    @Test
    void backgroundScavengingDoesNotSearchAgainWhatItFoundDenseUntilReset() {
        // Chunk 1 dense ([0, 500) in use), chunk 0 sparse ([0, 100) in use).
        PageAllocator pa = newPageAlloc(desc().c(0, 0, 100).c(1, 0, 500), desc().c(0).c(1));
        assertEquals((CHUNK - 100) * PAGE, pa.scavengeBackground(ALL, 0, NOP));
        locked(pa, () -> pa.free(pageBase(1, 0), 400));  // chunk 1 is sparse now, above the search's cursor
        assertEquals(0, pa.scavengeBackground(ALL, 0, NOP), "searched again without a reset");
        assertEquals(412 * PAGE, pa.scavenge(ALL, NOP), "forced scavenging searches everything");
        locked(pa, () -> pa.free(pageBase(1, 400), 50));
        assertEquals(0, pa.scavengeBackground(ALL, 0, NOP));
        locked(pa, pa::resetBackgroundSearch);
        assertEquals(50 * PAGE, pa.scavengeBackground(ALL, 0, NOP), "after a reset: found");
        pa.verify();
    }

    @Test
    void backgroundScavengingReleasesWholeHugePages() {
        // Chunk 0: [0, 200) in use, [200, 512) free. A request for 8 pages takes the top 8, then widens to the
        // 256-page (2 MiB) huge page they lie in, which is wholly free; the next takes the rest, [200, 256).
        PageAllocator pa = newPageAlloc(desc().c(0, 0, 200), desc().c(0));
        List<String> calls = new ArrayList<>();
        PageAllocator.Releaser rec = (a, b) -> calls.add(String.format("0x%x+%d", a, b / PAGE));
        assertEquals(256 * PAGE, pa.scavengeBackground(8 * PAGE, 256, rec));
        assertEquals(List.of(String.format("0x%x+%d", pageBase(0, 256), 256)), calls);
        calls.clear();
        assertEquals(8 * PAGE, pa.scavengeBackground(8 * PAGE, 256, rec), "a huge page not wholly free: no widening");
        assertEquals(List.of(String.format("0x%x+%d", pageBase(0, 248), 8)), calls);
        assertThrows(IllegalArgumentException.class, () -> pa.scavengeBackground(PAGE, -1, NOP));
        pa.verify();
    }

    @Test
    void releasesHighestRunsFirstOnePerCallWithinAChunk() {
        // Chunk 0: free unscavenged runs [0,4), [100,110), [500,512); chunk 3: [7,8).
        PageAllocator pa = newPageAlloc(desc().c(0, 4, 96, 110, 390).c(3, 0, 7, 8, CHUNK - 8), desc().c(0).c(3));
        List<String> calls = new ArrayList<>();
        long got = pa.scavenge(ALL, (a, b) -> calls.add(String.format("0x%x+%d", a, b / PAGE)));
        assertEquals((4 + 10 + 12 + 1) * PAGE, got);
        assertEquals(List.of(
                String.format("0x%x+%d", pageBase(3, 7), 1),
                String.format("0x%x+%d", pageBase(0, 500), 12),
                String.format("0x%x+%d", pageBase(0, 100), 10),
                String.format("0x%x+%d", pageBase(0, 0), 4)), calls);
        calls.clear();
        // A bounded request takes the top of a run.
        PageAllocator pb = newPageAlloc(desc().c(0), desc().c(0));
        assertEquals(5 * PAGE, pb.scavenge(5 * PAGE, (a, b) -> calls.add(String.format("0x%x+%d", a, b / PAGE))));
        assertEquals(List.of(String.format("0x%x+%d", pageBase(0, CHUNK - 5), 5)), calls);
        locked(pb, () -> {
            assertEquals(CHUNK - 5, pb.freePages());
            assertEquals(5, pb.releasedPages());
        });
        pb.verify();
    }

    @Test
    void freeReleasedMarksAWholeRunScavengedAcrossChunks() {
        PageAllocator pa = newPageAlloc(desc().c(0, 0, CHUNK).c(1, 0, CHUNK), desc().c(0).c(1));
        locked(pa, () -> {
            long start = pageBase(0, CHUNK - 3);
            pa.freeReleased(start, 10);                 // 3 pages in chunk 0, 7 in chunk 1
            assertEquals(10, pa.releasedPages());
            assertEquals(0, pa.freePages());
            assertEquals(2 * CHUNK - 10, pa.inUsePages());
            assertEquals(start, pa.alloc(10));
            assertEquals(10, pa.lastAllocScavengedPages(), "the next user sees the run as released");
            pa.free(start, 10);
            assertEquals(10, pa.freePages(), "an ordinary free does not mark pages released");
            assertThrowsWithValue(IllegalStateException.class, "already free", () -> pa.freeReleased(start, 1));
            assertEquals(10, pa.freePages(), "a rejected freeReleased changes nothing");
        });
        pa.verify();
    }

    @Test
    void runIsInUseWhileReleasedAndScavengedAfterwards() {
        PageAllocator pa = newPageAlloc(desc().c(0), desc().c(0));
        AtomicBoolean called = new AtomicBoolean();
        long got = pa.scavenge(PAGE, (a, b) -> {
            called.set(true);
            assertFalse(pa.lock().isLocked(), "releaser must run without the lock");
            assertEquals(pageBase(0, CHUNK - 1), a);
            assertEquals(PAGE, b);
            locked(pa, () -> {
                assertEquals(1, pa.inUsePages());
                assertEquals(0, pa.alloc(CHUNK), "page being released must not be allocatable");
                assertEquals(pageBase(0, 0), pa.alloc(CHUNK - 1));
                pa.free(pageBase(0, 0), CHUNK - 1);
            });
            pa.verify();
        });
        assertTrue(called.get());
        assertEquals(PAGE, got);
        locked(pa, () -> {
            assertEquals(0, pa.inUsePages());
            assertEquals(1, pa.releasedPages());
            assertEquals(pageBase(0, 0), pa.alloc(CHUNK));
            assertEquals(1, pa.lastAllocScavengedPages());
        });
        pa.verify();
    }

    @Test
    void throwingReleaserFreesTheRunUnscavengedAndPropagates() {
        PageAllocator pa = newPageAlloc(desc().c(0, 0, 100).c(1), desc().c(0).c(1));
        RuntimeException boom = new RuntimeException("madvise failed");
        int[] calls = {0};
        RuntimeException e = assertThrows(RuntimeException.class, () -> pa.scavenge(ALL, (a, b) -> {
            if (++calls[0] == 2) {
                throw boom;
            }
        }));
        assertSame(boom, e);
        pa.verify();
        locked(pa, () -> {
            // First run (all of chunk 1) was released; the second (chunk 0's free part) was not.
            assertEquals(CHUNK, pa.releasedPages());
            assertEquals(CHUNK - 100, pa.freePages());
            assertEquals(100, pa.inUsePages());
        });
        assertSameBitmaps(newPageAlloc(desc().c(0, 0, 100).c(1), desc().c(0).c(1, 0, CHUNK)), pa);
        assertEquals((CHUNK - 100) * PAGE, pa.scavenge(ALL, NOP));
        pa.verify();
        Error err = new AssertionError("fatal");
        PageAllocator pb = newPageAlloc(desc().c(0), desc().c(0));
        assertSame(err, assertThrows(AssertionError.class, () -> pb.scavenge(ALL, (a, b) -> { throw err; })));
        pb.verify();
        locked(pb, () -> assertEquals(CHUNK, pb.freePages()));
    }

    @Test
    void freeingARunWhileItIsReleasedIsDetected() {
        PageAllocator pa = newPageAlloc(desc().c(0), desc().c(0));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> pa.scavenge(PAGE, (a, b) -> locked(pa, () -> pa.free(a, b / PAGE))));
        assertTrue(e.getMessage().contains(String.format("0x%x", pageBase(0, CHUNK - 1))), e.getMessage());
        pa.verify();
        locked(pa, () -> assertEquals(CHUNK, pa.freePages()));
    }

    @Test
    void argumentsAndLocking() {
        PageAllocator pa = newPageAlloc(desc().c(0), desc().c(0));
        assertThrowsWithValue(IllegalArgumentException.class, "-1", () -> pa.scavenge(-1, NOP));
        assertThrows(NullPointerException.class, () -> pa.scavenge(PAGE, null));
        locked(pa, () -> assertThrows(IllegalStateException.class, () -> pa.scavenge(PAGE, NOP)));
        assertEquals(0, pa.scavenge(0, NOP));
        pa.verify();
        assertEquals(CHUNK * PAGE, pa.scavenge(ALL, NOP));
        PageAllocator empty = new PageAllocator(PageAllocatorTestSupport.BASE, PageAllocatorTestSupport.LIMIT);
        assertEquals(0, empty.scavenge(ALL, NOP));
        empty.verify();
    }

    /** One thread scavenges while another allocates and frees; the bitmaps stay consistent. */
    @Test
    void concurrentScavengeAndAllocation() throws Exception {
        PageAllocator pa = newPageAlloc(desc().c(0).c(1).c(2).c(3), desc().c(0).c(1).c(2).c(3));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread scavenger = new Thread(() -> {
            try {
                while (!stop.get()) {
                    pa.scavenge(16 * PAGE, (a, b) -> Thread.onSpinWait());
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        scavenger.start();
        SplittableRandom rnd = new SplittableRandom(4);
        List<long[]> live = new ArrayList<>();
        try {
            for (int i = 0; i < 20000; i++) {
                locked(pa, () -> {
                    if (live.isEmpty() || rnd.nextInt(3) != 0) {
                        long n = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 600);
                        long a = pa.alloc(n);
                        if (a != 0) {
                            live.add(new long[] {a, n});
                        }
                    } else {
                        long[] r = live.remove(rnd.nextInt(live.size()));
                        pa.free(r[0], r[1]);
                    }
                });
            }
        } finally {
            stop.set(true);
            scavenger.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("scavenger failed", failure.get());
        }
        pa.verify();
        locked(pa, () -> {
            for (long[] r : live) {
                pa.free(r[0], r[1]);
            }
            assertEquals(0, pa.inUsePages());
        });
        pa.verify();
        pa.scavenge(ALL, NOP);
        locked(pa, () -> assertEquals(0, pa.freePages()));
    }
}
