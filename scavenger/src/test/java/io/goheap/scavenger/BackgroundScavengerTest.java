package io.goheap.scavenger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.AddressSpace;
import io.goheap.pagealloc.PageAllocator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;

/**
 * The background scavenger over a real page allocator and address space, with no heap above it: it brings retained
 * memory down to its goal by itself (no caller prompts it after the goal is set), highest addresses first; it never
 * starts without a goal; a slice needs its exclusion lock; and a close racing it never lets a release reach the
 * unmapped range.
 */
class BackgroundScavengerTest {
    private static final long MIB = 1L << 20;
    private static final long PAGE = PageAllocator.PAGE_SIZE;

    /** A page allocator over 64 MiB, all allocated then freed: 64 MiB free and retained, nothing released. */
    private static final class Fixture implements AutoCloseable {
        final RecordingOsMemory os = new RecordingOsMemory();
        final AddressSpace space = new AddressSpace(os, 1L << 30);
        final PageAllocator pages = new PageAllocator(space.base(), space.limit());
        final ReentrantReadWriteLock osCalls = new ReentrantReadWriteLock();
        volatile boolean closed;
        final Scavenger scavenger = new Scavenger(pages, os, OsMemory.DecommitMode.DONTNEED, osCalls, () -> closed);

        Fixture() {
            long at = space.commitArenas(64 * MIB);
            pages.lock().lock();
            try {
                pages.grow(at, 64 * MIB);
                long a = pages.alloc(64 * MIB / PAGE);
                pages.free(a, 64 * MIB / PAGE);
            } finally {
                pages.lock().unlock();
            }
        }

        /** The heap's close: under the write lock, closed set, then the range unmapped. */
        @Override
        public void close() {
            osCalls.writeLock().lock();
            try {
                closed = true;
                space.close();
            } finally {
                osCalls.writeLock().unlock();
            }
        }
    }

    @Test
    void bringsRetainedMemoryToItsGoalByItselfHighestAddressesFirst() throws Exception {
        try (Fixture f = new Fixture()) {
            assertEquals(64 * MIB, f.scavenger.retainedBytes());
            BackgroundScavenger bg = new BackgroundScavenger(f.scavenger, null, "test-scavenger");
            bg.setGoal(16 * MIB);
            long deadline = System.nanoTime() + 60_000_000_000L;      // generous: at 1% of a CPU, on a busy machine
            while (f.scavenger.retainedBytes() > 16 * MIB && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            long retained = f.scavenger.retainedBytes();
            assertTrue(retained <= 16 * MIB, "retained " + retained / MIB + " MiB, goal 16 MiB");
            assertTrue(retained >= 16 * MIB - 2 * MIB, "released well past its goal: " + retained / MIB + " MiB left");
            assertEquals(64 * MIB - retained, f.scavenger.releasedBackgroundBytes());
            assertEquals(0, f.scavenger.releasedEagerBytes());
            for (long[] d : f.os.decommits) {
                assertTrue(d[0] >= f.space.base() + retained - 2 * MIB,
                        String.format("released 0x%x, below the highest free memory", d[0]));
            }
            assertTrue(bg.cpuNanos() > 0, "its CPU time is measured");
            bg.stop();
            assertTrue(bg.awaitStopped(10_000));
            f.pages.verify();
        }
    }

    @Test
    void noGoalNoThread() throws Exception {
        try (Fixture f = new Fixture()) {
            BackgroundScavenger bg = new BackgroundScavenger(f.scavenger, null, "test-scavenger");
            bg.setGoal(Long.MAX_VALUE);
            Thread.sleep(50);
            assertEquals(0, bg.runningNanos(), "no goal: the thread never started");
            assertEquals(0, f.scavenger.releasedBytes());
            assertThrows(IllegalArgumentException.class, () -> bg.setGoal(-1));
        }
    }

    @Test
    void aSliceWaitsForItsExclusionLock() throws Exception {
        try (Fixture f = new Fixture()) {
            ReentrantLock cycle = new ReentrantLock();
            BackgroundScavenger bg = new BackgroundScavenger(f.scavenger, cycle, "test-scavenger");
            cycle.lock();                                 // a "cycle" in progress
            try {
                bg.setGoal(0);
                Thread.sleep(300);
                assertEquals(0, f.scavenger.releasedBytes(), "released while the exclusion lock was held elsewhere");
            } finally {
                cycle.unlock();
            }
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (f.scavenger.retainedBytes() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, f.scavenger.retainedBytes(), "once the lock is free the scavenger goes on");
            bg.stop();
            assertTrue(bg.awaitStopped(10_000));
        }
    }

    @Test
    void aCloseRacingTheScavengerNeverLetsAReleaseReachTheUnmappedRange() throws Exception {
        for (int round = 0; round < 30; round++) {
            Fixture f = new Fixture();
            BackgroundScavenger bg = new BackgroundScavenger(f.scavenger, null, "test-scavenger");
            bg.setGoal(0);
            Thread.sleep(ThreadLocalRandom.current().nextInt(3));
            f.close();
            bg.stop();
            assertTrue(bg.awaitStopped(10_000), "the scavenger thread ended");
            assertEquals(java.util.List.of(), f.os.violations, "round " + round);
            // after the close a release of what is left fails with "heap is closed" and reaches no system call
            try {
                assertEquals(0, f.scavenger.releaseAll(), "released after the close");
            } catch (IllegalStateException e) {
                assertEquals("heap is closed", e.getMessage());
            }
            assertEquals(java.util.List.of(), f.os.violations);
        }
    }
}
