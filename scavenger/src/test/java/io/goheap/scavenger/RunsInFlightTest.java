package io.goheap.scavenger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.ffi.OsMemory;
import io.goheap.pagealloc.AddressSpace;
import io.goheap.pagealloc.PageAllocator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;

/**
 * A read through {@link Scavenger#withNoRunInFlight} never falls between a run's hiding and its marking as released:
 * with a release held inside its system call, the read waits for it and then sees every page of the run released
 * and none in use (without the wait it saw the run in use and nothing released: idle pages not released right
 * after FreeOSMemory).
 */
class RunsInFlightTest {
    private static final long MIB = 1L << 20;
    private static final long PAGE = PageAllocator.PAGE_SIZE;

    @Test
    void aStatisticsReadWaitsForTheRunInFlight() throws Exception {
        RecordingOsMemory os = new RecordingOsMemory();
        try (AddressSpace space = new AddressSpace(os, 1L << 30)) {
            PageAllocator pages = new PageAllocator(space.base(), space.limit());
            Scavenger scavenger = new Scavenger(pages, os, OsMemory.DecommitMode.DONTNEED,
                    new ReentrantReadWriteLock(), () -> false);
            long at = space.commitArenas(64 * MIB);
            pages.lock().lock();
            try {
                pages.grow(at, 64 * MIB);
                pages.free(pages.alloc(64 * MIB / PAGE), 64 * MIB / PAGE);
            } finally {
                pages.lock().unlock();
            }
            for (boolean background : new boolean[] {false, true}) {
                CountDownLatch inCall = new CountDownLatch(1);
                CountDownLatch proceed = new CountDownLatch(1);
                os.beforeDecommit = () -> {
                    inCall.countDown();
                    try {
                        proceed.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                };
                long[] released = new long[1];
                Thread releaser = Thread.ofPlatform().start(() -> released[0] = background
                        ? scavenger.releaseBackground(64 << 10) : scavenger.release(MIB));
                assertTrue(inCall.await(30, TimeUnit.SECONDS), "the release never reached its system call");
                os.beforeDecommit = null;
                long[] seen = new long[2];
                CountDownLatch reading = new CountDownLatch(1);
                Thread reader = Thread.ofPlatform().start(() -> {
                    reading.countDown();
                    scavenger.withNoRunInFlight(() -> {
                        pages.lock().lock();
                        try {
                            seen[0] = pages.inUsePages();
                            seen[1] = pages.releasedPages();
                        } finally {
                            pages.lock().unlock();
                        }
                        return null;
                    });
                });
                reading.await();
                Thread.sleep(100);              // the reader would read now, were it not held back
                proceed.countDown();
                releaser.join();
                reader.join();
                long before = background ? MIB / PAGE : 0;    // the first round's eager megabyte
                assertEquals(0, seen[0], "pages in use (hidden by the run) seen by the read");
                assertEquals(before + released[0] / PAGE, seen[1], "released pages seen by the read");
            }
        }
    }
}
