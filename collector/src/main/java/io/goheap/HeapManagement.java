package io.goheap;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.management.JMException;
import javax.management.MBeanNotificationInfo;
import javax.management.MBeanServer;
import javax.management.Notification;
import javax.management.NotificationBroadcasterSupport;
import javax.management.ObjectName;
import javax.management.StandardEmitterMBean;
import javax.management.StandardMBean;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import javax.management.openmbean.TabularDataSupport;
import javax.management.openmbean.TabularType;

/**
 * One heap's two MXBeans and their registration in the platform MBean server:
 * <ul>
 *   <li>{@code io.goheap:type=Heap,name=<name>}: the {@link HeapMXBean} (attributes from the metrics read, which
 *       never stops the world; operations gc and freeOSMemory);</li>
 *   <li>{@code io.goheap:type=GarbageCollector,name=<name>}: a {@link java.lang.management.GarbageCollectorMXBean}
 *       (collection count, and time as the cycles' wall time in ms, as ZGC's "Cycles" bean counts it) that emits,
 *       at each cycle's end, a notification of type {@code com.sun.management.gc.notification} whose user data
 *       {@code com.sun.management.GarbageCollectionNotificationInfo.from} reads (action "end of major GC", cause
 *       "Heap.gc()" or "Allocation goal", GcInfo with the cycle's number, start and end in ms since the JVM
 *       started, the heap's memory usage before and after under the pool name {@code goheap <name>}, and goheap's
 *       own item {@code pauseNanos}, the cycle's pause, which {@code GcInfo.get("pauseNanos")} reads).</li>
 * </ul>
 *
 * <h2>Lifetime and threads</h2>
 * The beans hold their heap through a weak reference: the MBean server keeps the beans, and a heap dropped without
 * {@code close()} must still become unreachable so its cleaner closes it. {@link #unregister} (run by the heap's
 * close, from any thread) removes both beans and the cycle listener; it is idempotent. Notifications are sent from
 * one shared daemon thread ("goheap-jmx-notifier"), never from the collector's thread, so a slow JMX listener never
 * lengthens a cycle. Attribute reads run on the JMX caller's thread.
 */
final class HeapManagement {
    static final String DOMAIN = "io.goheap";
    /** Notification type of GC ends, as the JDK's collectors send them. */
    static final String GC_NOTIFICATION = "com.sun.management.gc.notification";

    private static final ExecutorService NOTIFIER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "goheap-jmx-notifier");
        t.setDaemon(true);
        return t;
    });

    private final MBeanServer server;
    private final ObjectName heapName;
    private final ObjectName gcName;
    private final GcObservers observers;
    private final Consumer<GcCycleSummary> listener;
    private boolean registered;

    private HeapManagement(MBeanServer server, ObjectName heapName, ObjectName gcName, GcObservers observers,
                           Consumer<GcCycleSummary> listener) {
        this.server = server;
        this.heapName = heapName;
        this.gcName = gcName;
        this.observers = observers;
        this.listener = listener;
    }

    static ObjectName heapObjectName(String name) {
        return objectName("Heap", name);
    }

    static ObjectName collectorObjectName(String name) {
        return objectName("GarbageCollector", name);
    }

    private static ObjectName objectName(String type, String name) {
        try {
            return new ObjectName(DOMAIN + ":type=" + type + ",name=" + name);
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IllegalArgumentException("heap name \"" + name + "\" cannot be part of a JMX ObjectName: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Registers {@code heap}'s beans in the platform MBean server.
     *
     * @throws IllegalArgumentException when another heap of the same name is registered (nothing stays registered)
     */
    static HeapManagement register(Heap heap) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        String name = heap.name();
        ObjectName heapName = heapObjectName(name);
        ObjectName gcName = collectorObjectName(name);
        WeakReference<Heap> ref = new WeakReference<>(heap);
        CollectorBean gc = new CollectorBean(ref, name, gcName, NOTIFIER);
        HeapManagement m = new HeapManagement(server, heapName, gcName, heap.collector.observers, gc::cycleEnded);
        try {
            server.registerMBean(new StandardMBean(new HeapBean(ref, name), HeapMXBean.class, true), heapName);
            try {
                server.registerMBean(new StandardEmitterMBean(gc, java.lang.management.GarbageCollectorMXBean.class,
                        true, gc.broadcaster), gcName);
            } catch (JMException | RuntimeException e) {
                unregisterQuietly(server, heapName);
                throw e;
            }
        } catch (javax.management.InstanceAlreadyExistsException e) {
            throw new IllegalArgumentException("a heap named \"" + name + "\" is already registered in JMX ("
                    + heapName + "): give each heap its own name with Heap.Builder.name, or turn JMX off", e);
        } catch (JMException e) {
            throw new IllegalStateException("JMX refused the beans of heap \"" + name + "\": " + e, e);
        }
        heap.collector.observers.add(m.listener);
        m.registered = true;
        return m;
    }

    /** Removes both beans and the cycle listener. Idempotent; any thread. */
    synchronized void unregister() {
        if (!registered) {
            return;
        }
        registered = false;
        observers.remove(listener);
        unregisterQuietly(server, heapName);
        unregisterQuietly(server, gcName);
    }

    private static void unregisterQuietly(MBeanServer server, ObjectName name) {
        try {
            server.unregisterMBean(name);
        } catch (javax.management.InstanceNotFoundException e) {
            // already gone (unregistered by hand)
        } catch (JMException e) {
            System.err.println("goheap: could not unregister " + name + ": " + e);
        }
    }

    private static Heap open(WeakReference<Heap> ref) {
        Heap h = ref.get();
        if (h == null || h.isClosed()) {
            throw new IllegalStateException("heap is closed");
        }
        return h;
    }

    /** The {@link HeapMXBean}: every read a fresh metrics read. */
    static final class HeapBean implements HeapMXBean {
        private final WeakReference<Heap> heap;
        private final String name;

        HeapBean(WeakReference<Heap> heap, String name) {
            this.heap = heap;
            this.name = name;
        }

        private long metric(String key) {
            return open(heap).readMetrics().get(key).longValue();
        }

        @Override public String getName() { return name; }
        @Override public long getHeapObjectsBytes() { return metric("/memory/classes/heap/objects:bytes"); }
        @Override public long getHeapUnusedBytes() { return metric("/memory/classes/heap/unused:bytes"); }
        @Override public long getHeapFreeBytes() { return metric("/memory/classes/heap/free:bytes"); }
        @Override public long getHeapReleasedBytes() { return metric("/memory/classes/heap/released:bytes"); }
        @Override public long getTotalBytes() { return metric("/memory/classes/total:bytes"); }
        @Override public long getObjects() { return metric("/gc/heap/objects:objects"); }
        @Override public long getAllocatedBytes() { return metric("/gc/heap/allocs:bytes"); }
        @Override public long getHeapGoalBytes() { return metric("/gc/heap/goal:bytes"); }
        @Override public long getLiveHeapBytes() { return metric("/gc/heap/live:bytes"); }
        @Override public long getCycles() { return metric("/gc/cycles/total:gc-cycles"); }
        @Override public long getGcPercent() { return metric("/gc/gogc:percent"); }
        @Override public long getMemoryLimit() { return metric("/gc/gomemlimit:bytes"); }

        @Override
        public Map<String, Double> getMetrics() {
            Map<String, Double> out = new TreeMap<>();
            open(heap).readMetrics().forEach((k, v) -> out.put(k, v.doubleValue()));
            return out;
        }

        @Override public void gc() { open(heap).gc(); }
        @Override public long freeOSMemory() { return open(heap).freeOSMemory(); }
    }

    /** The GarbageCollectorMXBean-shaped bean and its notifications. */
    static final class CollectorBean implements java.lang.management.GarbageCollectorMXBean {
        private final WeakReference<Heap> heap;
        private final String gcName;
        private final String poolName;
        private final ObjectName objectName;
        private final AtomicLong sequence = new AtomicLong();
        private final AtomicLong cycleMillis = new AtomicLong();
        final NotificationBroadcasterSupport broadcaster;

        CollectorBean(WeakReference<Heap> heap, String name, ObjectName objectName, Executor notifier) {
            this.heap = heap;
            this.objectName = objectName;
            this.gcName = "goheap " + name;
            this.poolName = "goheap " + name;
            this.broadcaster = new NotificationBroadcasterSupport(notifier, new MBeanNotificationInfo(
                    new String[] {GC_NOTIFICATION}, Notification.class.getName(), "the end of a goheap cycle"));
        }

        @Override public String getName() { return gcName; }
        @Override public boolean isValid() { Heap h = heap.get(); return h != null && !h.isClosed(); }
        @Override public String[] getMemoryPoolNames() { return new String[] {poolName}; }
        @Override public ObjectName getObjectName() { return objectName; }

        @Override
        public long getCollectionCount() {
            return open(heap).collector.cycleCounts().total();
        }

        /** The cycles' accumulated wall time in milliseconds (mostly concurrent: see the pauses for stops). */
        @Override
        public long getCollectionTime() {
            return cycleMillis.get();
        }

        /** On the collector's thread: counts the cycle and hands the notification to the notifier thread. */
        void cycleEnded(GcCycleSummary c) {
            cycleMillis.addAndGet(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(c.durationNanos()));
            Notification n = new Notification(GC_NOTIFICATION, getObjectName(), sequence.incrementAndGet(),
                    System.currentTimeMillis(), gcName + " cycle " + c.number());
            n.setUserData(notificationInfo(c));
            broadcaster.sendNotification(n);
        }

        private CompositeData notificationInfo(GcCycleSummary c) {
            long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
            long startMs = c.startEpochMillis() - jvmStart;
            long durationMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(c.durationNanos());
            try {
                CompositeData info = new CompositeDataSupport(GcTypes.GC_INFO,
                        new String[] {"id", "startTime", "endTime", "duration", "memoryUsageBeforeGc", "memoryUsageAfterGc",
                                "pauseNanos"},
                        new Object[] {c.number(), startMs, startMs + durationMs, durationMs,
                                usage(c.heapBeforeBytes()), usage(c.heapAfterBytes()), c.pauseNanos()});
                return new CompositeDataSupport(GcTypes.NOTIFICATION,
                        new String[] {"gcName", "gcAction", "gcCause", "gcInfo"},
                        new Object[] {gcName, "end of major GC", c.forced() ? "Heap.gc()" : "Allocation goal", info});
            } catch (OpenDataException e) {
                throw new IllegalStateException(e);
            }
        }

        private TabularDataSupport usage(long used) throws OpenDataException {
            TabularDataSupport t = new TabularDataSupport(GcTypes.USAGE_MAP);
            MemoryUsage u = new MemoryUsage(-1, used, used, -1);
            CompositeData value = new CompositeDataSupport(GcTypes.MEMORY_USAGE,
                    new String[] {"init", "used", "committed", "max"},
                    new Object[] {u.getInit(), u.getUsed(), u.getCommitted(), u.getMax()});
            t.put(new CompositeDataSupport(GcTypes.USAGE_ROW, new String[] {"key", "value"},
                    new Object[] {poolName, value}));
            return t;
        }
    }

    /** The open types of GarbageCollectionNotificationInfo's composite data, as the JDK's collectors build it. */
    private static final class GcTypes {
        static final CompositeType MEMORY_USAGE;
        static final CompositeType USAGE_ROW;
        static final TabularType USAGE_MAP;
        static final CompositeType GC_INFO;
        static final CompositeType NOTIFICATION;

        static {
            try {
                String[] usageItems = {"init", "used", "committed", "max"};
                MEMORY_USAGE = new CompositeType(MemoryUsage.class.getName(), "memory usage", usageItems, usageItems,
                        new OpenType<?>[] {SimpleType.LONG, SimpleType.LONG, SimpleType.LONG, SimpleType.LONG});
                String map = "java.util.Map<java.lang.String, java.lang.management.MemoryUsage>";
                String[] rowItems = {"key", "value"};
                USAGE_ROW = new CompositeType(map, map, rowItems, rowItems,
                        new OpenType<?>[] {SimpleType.STRING, MEMORY_USAGE});
                USAGE_MAP = new TabularType(map, map, USAGE_ROW, new String[] {"key"});
                String[] infoItems = {"id", "startTime", "endTime", "duration", "memoryUsageBeforeGc", "memoryUsageAfterGc",
                        "pauseNanos"};
                GC_INFO = new CompositeType("com.sun.management.GcInfo", "a goheap cycle", infoItems, infoItems,
                        new OpenType<?>[] {SimpleType.LONG, SimpleType.LONG, SimpleType.LONG, SimpleType.LONG,
                                USAGE_MAP, USAGE_MAP, SimpleType.LONG});
                String[] notifItems = {"gcName", "gcAction", "gcCause", "gcInfo"};
                NOTIFICATION = new CompositeType("com.sun.management.GarbageCollectionNotificationInfo",
                        "a goheap cycle's end", notifItems, notifItems,
                        new OpenType<?>[] {SimpleType.STRING, SimpleType.STRING, SimpleType.STRING, GC_INFO});
            } catch (OpenDataException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }
}
