package io.goheap.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goheap.Heap;
import io.goheap.MetricDescription;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class GoheapMetricsTest {
    @Test
    void everyMetricIsAMeterAndEachCyclesPauseIsTimedWithPercentiles() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Heap heap = Heap.builder().name("micrometer-test").reservation(1L << 30).gcPercent(-1).build();
             GoheapMetrics metrics = new GoheapMetrics(heap)) {
            metrics.bindTo(registry);
            assertEquals(Heap.metricDescriptions().size(), registry.getMeters().size(), "one meter per name");
            long a = heap.malloc(1 << 20);
            for (MetricDescription d : Heap.metricDescriptions()) {
                String name = GoheapMetrics.meterName(d.name());
                if (d.cumulative()) {
                    assertNotNull(registry.find(name).tag("heap", "micrometer-test").functionCounter(), name);
                } else {
                    assertNotNull(registry.find(name).tag("heap", "micrometer-test").gauge(), name);
                }
            }
            Gauge objects = registry.get("goheap.memory.classes.heap.objects").tag("heap", "micrometer-test").gauge();
            assertTrue(objects.value() >= 1 << 20);
            assertEquals("bytes", objects.getId().getBaseUnit());
            FunctionCounter allocs = registry.get("goheap.gc.heap.allocs.bytes").tags("heap", "micrometer-test").functionCounter();
            assertTrue(allocs.count() >= 1 << 20);

            for (int i = 0; i < 3; i++) {
                heap.gc();
            }
            heap.free(a);
            FunctionCounter cycles = registry.get("goheap.gc.cycles.total").tag("heap", "micrometer-test").functionCounter();
            assertEquals(3, cycles.count());
            Timer pause = null;
            for (int i = 0; i < 600 && (pause == null || pause.count() < 3); i++) {   // delivered by the notifier
                pause = registry.find("goheap.gc.pause").tags("heap", "micrometer-test", "cause", "Heap.gc()").timer();
                Thread.sleep(10);
            }
            assertNotNull(pause);
            assertEquals(3, pause.count());
            assertTrue(pause.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) > 0);
            ValueAtPercentile[] p = pause.takeSnapshot().percentileValues();
            assertEquals(3, p.length);
            assertEquals(0.99, p[2].percentile());
            assertTrue(p[2].value() > 0);
            assertNotNull(registry.find("goheap.gc.cycle").timer());
        }
        Gauge objects = registry.get("goheap.memory.classes.heap.objects").tag("heap", "micrometer-test").gauge();
        assertTrue(Double.isNaN(objects.value()), "a closed heap reads NaN");
    }

    @Test
    void withoutJmxOnlyTheReadMetersAreBound() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Heap heap = Heap.builder().name("micrometer-nojmx").jmx(false).reservation(1L << 30).build();
             GoheapMetrics metrics = new GoheapMetrics(heap)) {
            metrics.bindTo(registry);
            heap.gc();
            assertEquals(1, registry.get("goheap.gc.cycles.total").functionCounter().count());
            assertNull(registry.find("goheap.gc.pause").timer());
        }
    }

    @Test
    void goNamesBecomeMicrometerNames() {
        assertEquals("goheap.gc.heap.allocs.bytes", GoheapMetrics.meterName("/gc/heap/allocs:bytes"));
        assertEquals("goheap.gc.heap.allocs.objects", GoheapMetrics.meterName("/gc/heap/allocs:objects"));
        assertEquals("goheap.gc.heap.goal", GoheapMetrics.meterName("/gc/heap/goal:bytes"));
        assertEquals("goheap.memory.classes.os.stacks", GoheapMetrics.meterName("/memory/classes/os-stacks:bytes"));
        assertEquals("cpu-seconds", GoheapMetrics.unit("/cpu/classes/gc/total:cpu-seconds"));
    }
}
