package io.goheap.jmh;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * JMH worker pool whose threads are Netty {@code FastThreadLocalThread}s, selected with
 * {@code -Djmh.executor=CUSTOM -Djmh.executor.class=io.goheap.jmh.FastThreadExecutor} (set in jmh/pom.xml; JMH
 * instantiates it by reflection with this constructor). This is what Netty's own microbenchmarks do
 * ({@code AbstractMicrobenchmark.HarnessExecutor}).
 *
 * <p>Why: Netty 4.2 pools {@code ByteBuf} objects (its {@code Recycler}) only on threads that clean up their
 * FastThreadLocals, i.e. its event-loop threads. On a plain JMH thread every {@code directBuffer()} allocates a new
 * ~144-byte Java object and the allocator looks up its thread cache through a JDK ThreadLocal; that measures Netty
 * outside the environment it is built for. A fixed pool, like JMH's default {@code FIXED_TPE}, so a benchmark
 * thread keeps its thread-local state across iterations. Other peers do not care what class their thread is.
 */
public final class FastThreadExecutor extends ThreadPoolExecutor {
    public FastThreadExecutor(int maxThreads, String prefix) {
        super(maxThreads, maxThreads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                new DefaultThreadFactory(prefix, true));
    }
}
