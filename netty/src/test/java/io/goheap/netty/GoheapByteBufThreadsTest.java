package io.goheap.netty;

import io.goheap.Heap;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * More allocating threads than Ps (four on two), buffers handed between threads and released by the receiver (as
 * an event loop hands a buffer to a worker), and a thread forcing full collections the whole time (each checked by
 * gccheckmark's stopped re-mark). Every buffer is filled with a pattern unique to it and checked when released: two
 * live buffers sharing memory, a free of the wrong object, or a lost free (a metric left above zero) fails.
 */
class GoheapByteBufThreadsTest {
    private static final int THREADS = 4;
    private static final int BUFFERS_PER_THREAD = 3000;
    /** A stamp no data buffer has (they stamp thread << 32 | index). */
    private static final long END = -1;

    @Test
    void threadsAllocateHandOffAndReleaseWhileTheHeapCollects() throws Exception {
        try (Heap heap = Heap.builder().reservation(1L << 32).maxProcs(2).godebug("gccheckmark=1").build()) {
            GoheapByteBufAllocator allocator = new GoheapByteBufAllocator(heap);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<BlockingQueue<ByteBuf>> inboxes = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                inboxes.add(new LinkedBlockingQueue<>());
            }
            AtomicBoolean done = new AtomicBoolean();
            Thread collector = new Thread(() -> {
                while (!done.get()) {
                    heap.gc();
                }
            }, "collector");
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int me = t;
                workers.add(new Thread(() -> {
                    try {
                        work(allocator, me, inboxes.get(me), inboxes.get((me + 1) % THREADS));
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }, "worker-" + t));
            }
            collector.start();
            workers.forEach(Thread::start);
            for (Thread w : workers) {
                w.join(TimeUnit.MINUTES.toMillis(1));
                assertTrue(!w.isAlive(), () -> w.getName() + " hung:\n" + stacks());
            }
            done.set(true);
            collector.join();
            assertTrue(failures.isEmpty(), () -> "failures: " + failures);
            assertEquals(0, allocator.metric().usedDirectMemory(), "every object freed");
        }
    }

    private static void work(GoheapByteBufAllocator allocator, int me, BlockingQueue<ByteBuf> inbox,
                             BlockingQueue<ByteBuf> next) throws InterruptedException {
        Random rnd = new Random(me);
        List<ByteBuf> mine = new ArrayList<>();
        boolean previousDone = false;                          // the previous thread sent its last buffer
        for (int i = 0; i < BUFFERS_PER_THREAD; i++) {
            int size = rnd.nextInt(8) == 0 ? 1 + rnd.nextInt(70_000) : 1 + rnd.nextInt(2048);
            ByteBuf buf = allocator.directBuffer(size, size);
            long stamp = ((long) me << 32) | i;
            fill(buf, stamp);
            if (rnd.nextBoolean()) {
                next.put(buf);                                 // released by the next thread
            } else {
                mine.add(buf);
            }
            for (ByteBuf received; (received = inbox.poll()) != null; ) {
                previousDone |= checkAndRelease(received);
            }
            if (mine.size() > 50) {
                checkAndRelease(mine.remove(rnd.nextInt(mine.size())));
            }
        }
        for (ByteBuf b : mine) {
            checkAndRelease(b);
        }
        next.put(allocator.directBuffer(8).writeLong(END));   // end marker for the next thread
        while (!previousDone) {
            previousDone = checkAndRelease(inbox.take());
        }
    }

    private static String stacks() {
        StringBuilder sb = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, frames) -> {
            sb.append(thread.getName()).append(' ').append(thread.getState()).append('\n');
            for (StackTraceElement f : frames) {
                sb.append("    at ").append(f).append('\n');
            }
        });
        return sb.toString();
    }

    private static void fill(ByteBuf buf, long stamp) {
        buf.writerIndex(0);
        while (buf.writableBytes() >= 8) {
            buf.writeLong(stamp);
        }
        while (buf.writableBytes() > 0) {
            buf.writeByte((byte) stamp);
        }
    }

    /** Checks and releases a received buffer; true if it was the previous thread's end marker. */
    private static boolean checkAndRelease(ByteBuf buf) {
        if (buf.capacity() == 8 && buf.getLong(0) == END) {
            buf.release();
            return true;
        }
        if (buf.capacity() >= 8) {
            long stamp = buf.getLong(0);
            for (int i = 0; i + 8 <= buf.capacity(); i += 8) {
                if (buf.getLong(i) != stamp) {
                    throw new AssertionError("buffer " + Long.toHexString(stamp) + " overwritten at " + i);
                }
            }
        }
        buf.release();
        return false;
    }
}
