package io.goheap.jmh;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.FastThreadLocalThread;

/**
 * How the library peers are configured, in one place so every benchmark uses the same settings. Each choice
 * gives the peer its fast path, the way its authors benchmark it; none changes what alloc/free means.
 */
final class PeerConfig {
    private PeerConfig() {}

    /**
     * Netty's pooled allocator with direct buffers preferred and default arenas, page size, max order and cache
     * sizes, but with per-thread caches for every thread ({@code useCacheForAllThreads = true}). Netty 4.2's
     * default enables the {@code PoolThreadCache} only for its own {@code FastThreadLocalThread}s (event loops);
     * JMH worker threads are plain threads and would otherwise get a cache of size 0 and go to the arena (with
     * its lock) every time, which is not how Netty runs in production. Sampled leak detection (default
     * {@code SIMPLE}: a tracked wrapper every 128 allocations) is a debugging aid and is turned off, as in
     * Netty's own microbenchmarks.
     */
    static PooledByteBufAllocator nettyPooled() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        return new PooledByteBufAllocator(
                true,
                PooledByteBufAllocator.defaultNumHeapArena(),
                PooledByteBufAllocator.defaultNumDirectArena(),
                PooledByteBufAllocator.defaultPageSize(),
                PooledByteBufAllocator.defaultMaxOrder(),
                PooledByteBufAllocator.defaultSmallCacheSize(),
                PooledByteBufAllocator.defaultNormalCacheSize(),
                true);
    }

    /**
     * Fails unless the benchmark runs on Netty {@code FastThreadLocalThread}s (see {@link FastThreadExecutor}):
     * without them Netty allocates a new buffer object per allocation and its numbers would be misleading.
     */
    static void requireNettyThread() {
        if (!FastThreadLocalThread.currentThreadWillCleanupFastThreadLocals()) {
            throw new IllegalStateException("Netty peer needs FastThreadLocalThreads: run JMH with "
                    + "-Djmh.executor=CUSTOM -Djmh.executor.class=" + FastThreadExecutor.class.getName()
                    + " (jmh/pom.xml does)");
        }
    }

    /**
     * Chronicle releases native stores on a background thread by default ({@code background.releaser=true}):
     * {@code releaseLast()} only enqueues, and another thread calls {@code freeMemory}. On a 2-core machine that
     * thread takes the other core, and the benchmark would time half of the work. We set the property before any
     * Chronicle class loads so that {@code releaseLast()} frees in the calling thread, like every other peer.
     * Must run before the first use of Chronicle in the JVM (JMH forks a fresh JVM per benchmark).
     */
    static void chronicleInThreadRelease() {
        if (System.getProperty("background.releaser") == null) {
            System.setProperty("background.releaser", "false");
        }
        try {
            Class<?> c = Class.forName("net.openhft.chronicle.core.io.BackgroundResourceReleaser");
            var f = c.getDeclaredField("BG_RELEASER");
            f.setAccessible(true);
            if (f.getBoolean(null)) {
                throw new IllegalStateException(
                        "Chronicle's background releaser is on (loaded before PeerConfig ran, or -Dbackground.releaser=true)");
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Chronicle internals changed: cannot check background.releaser", e);
        }
    }
}
