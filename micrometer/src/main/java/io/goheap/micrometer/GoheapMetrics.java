package io.goheap.micrometer;

import io.goheap.Heap;
import io.goheap.MetricDescription;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.management.InstanceNotFoundException;
import javax.management.ListenerNotFoundException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.Notification;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

/**
 * Binds one goheap {@link Heap} to a Micrometer {@link MeterRegistry}, every meter tagged {@code heap=<name>}:
 * <ul>
 *   <li>one meter per name of {@link Heap#readMetrics()}: Go's {@code /gc/heap/goal:bytes} becomes
 *       {@code goheap.gc.heap.goal} with base unit {@code bytes} (see {@link #meterName}); cumulative names (counts of bytes, objects,
 *       cycles, CPU seconds) are {@link FunctionCounter}s, the others {@link Gauge}s. Each is a metrics read, which
 *       never stops the world, so a scrape never pauses the heap's threads. After the heap is closed they read NaN;</li>
 *   <li>{@code goheap.gc.pause}: a {@link Timer} of each cycle's pause (stop of the world plus the longest handshake
 *       step) with percentiles 0.5, 0.95, 0.99 and a percentile histogram, tagged also {@code cause} ("Heap.gc()"
 *       or "Allocation goal"); {@code goheap.gc.cycle}: a Timer of each cycle's wall time. Both are fed by the
 *       heap's {@code io.goheap:type=GarbageCollector} notifications, so they need the heap's JMX beans (on by
 *       default, see {@link Heap.Builder#jmx}); without them only the read meters are bound.</li>
 * </ul>
 * {@link #close()} stops listening for cycles (the meters stay in the registry until removed). Thread-safe.
 */
public final class GoheapMetrics implements MeterBinder, AutoCloseable {
    private final Heap heap;
    private final Iterable<Tag> tags;
    private final List<Runnable> unsubscribe = new ArrayList<>();

    public GoheapMetrics(Heap heap) {
        this(heap, Tags.empty());
    }

    public GoheapMetrics(Heap heap, Iterable<Tag> tags) {
        this.heap = java.util.Objects.requireNonNull(heap, "heap");
        this.tags = Tags.concat(tags, "heap", heap.name());
    }

    /**
     * Micrometer's name for Go's {@code /a/b/c:unit}: {@code goheap.a.b.c} (dashes become dots), with {@code .unit}
     * appended where two of Go's names share the path ({@code /gc/heap/allocs:bytes} and {@code :objects} become
     * {@code goheap.gc.heap.allocs.bytes} and {@code goheap.gc.heap.allocs.objects}).
     */
    static String meterName(String goName) {
        String path = goName.substring(0, goName.indexOf(':'));
        String name = "goheap." + path.substring(1).replace('/', '.').replace('-', '.');
        long sharing = Heap.metricDescriptions().stream().filter(d -> d.name().startsWith(path + ":")).count();
        return sharing > 1 ? name + "." + unit(goName).replace('-', '.') : name;
    }

    static String unit(String goName) {
        return goName.substring(goName.indexOf(':') + 1);
    }

    private double read(String name) {
        try {
            Map<String, Number> m = heap.readMetrics();
            return m.get(name).doubleValue();
        } catch (IllegalStateException closed) {
            return Double.NaN;
        }
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (MetricDescription d : Heap.metricDescriptions()) {
            String name = d.name();
            if (d.cumulative()) {
                FunctionCounter.builder(meterName(name), this, g -> g.read(name))
                        .description(d.description()).baseUnit(unit(name)).tags(tags).register(registry);
            } else {
                Gauge.builder(meterName(name), this, g -> g.read(name))
                        .description(d.description()).baseUnit(unit(name)).tags(tags).strongReference(true)
                        .register(registry);
            }
        }
        subscribeToCycles(registry);
    }

    private void subscribeToCycles(MeterRegistry registry) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName collector;
        try {
            collector = new ObjectName("io.goheap:type=GarbageCollector,name=" + heap.name());
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException(e);
        }
        if (!server.isRegistered(collector)) {
            return;                                   // JMX off for this heap: the read meters only
        }
        NotificationListener listener = (Notification n, Object handback) -> {
            if (!(n.getUserData() instanceof CompositeData cd)) {
                return;
            }
            CompositeData info = (CompositeData) cd.get("gcInfo");
            String cause = (String) cd.get("gcCause");
            long pauseNanos = (Long) info.get("pauseNanos");
            long durationMs = (Long) info.get("duration");
            Timer.builder("goheap.gc.pause").description("A goheap cycle's pause: its stop of the world plus the"
                            + " longest handshake step a thread ran")
                    .tags(tags).tag("cause", cause)
                    .publishPercentiles(0.5, 0.95, 0.99).publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofNanos(1000)).maximumExpectedValue(Duration.ofSeconds(10))
                    .register(registry).record(pauseNanos, TimeUnit.NANOSECONDS);
            Timer.builder("goheap.gc.cycle").description("A goheap cycle's wall time, mostly concurrent")
                    .tags(tags).tag("cause", cause)
                    .register(registry).record(durationMs, TimeUnit.MILLISECONDS);
        };
        try {
            server.addNotificationListener(collector, listener, null, null);
        } catch (InstanceNotFoundException e) {
            return;                                   // the heap closed meanwhile
        }
        synchronized (unsubscribe) {
            unsubscribe.add(() -> {
                try {
                    server.removeNotificationListener(collector, listener);
                } catch (InstanceNotFoundException | ListenerNotFoundException e) {
                    // the heap closed (its beans are gone) or already removed
                }
            });
        }
    }

    /** Stops listening for the heap's cycles. Idempotent. */
    @Override
    public void close() {
        synchronized (unsubscribe) {
            unsubscribe.forEach(Runnable::run);
            unsubscribe.clear();
        }
    }
}
