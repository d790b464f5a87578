package io.goheap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.ManagementFactory;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.MBeanServerConnection;
import javax.management.Notification;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.Test;

/** The heap's MXBeans in the platform MBean server: names, attributes, operations, notifications, lifetime. */
class HeapManagementTest {
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    private static ObjectName heapBean(String name) throws Exception {
        return new ObjectName("io.goheap:type=Heap,name=" + name);
    }

    private static ObjectName gcBean(String name) throws Exception {
        return new ObjectName("io.goheap:type=GarbageCollector,name=" + name);
    }

    @Test
    void attributesOperationsAndACycleEndNotificationThroughTheMBeanServer() throws Exception {
        BlockingQueue<Notification> received = new LinkedBlockingQueue<>();
        NotificationListener listener = (n, handback) -> received.add(n);
        try (Heap heap = Heap.builder().name("jmx-attributes").reservation(1L << 30).gcPercent(-1).build()) {
            assertEquals("jmx-attributes", heap.name());
            ObjectName h = heapBean("jmx-attributes");
            ObjectName g = gcBean("jmx-attributes");
            assertTrue(SERVER.isRegistered(h) && SERVER.isRegistered(g));
            SERVER.addNotificationListener(g, listener, null, null);
            long a = heap.malloc(1 << 20);
            assertTrue((Long) SERVER.getAttribute(h, "HeapObjectsBytes") >= 1 << 20);
            assertEquals(1L, (Long) SERVER.getAttribute(h, "Objects"));
            assertEquals("jmx-attributes", SERVER.getAttribute(h, "Name"));
            TabularData metrics = (TabularData) SERVER.getAttribute(h, "Metrics");
            assertEquals(Heap.metricDescriptions().size(), metrics.size());
            assertEquals(0L, (Long) SERVER.getAttribute(g, "CollectionCount"));

            SERVER.invoke(h, "gc", null, null);
            assertEquals(1L, (Long) SERVER.getAttribute(g, "CollectionCount"));
            assertEquals(1L, (Long) SERVER.getAttribute(h, "Cycles"));
            Notification n = received.poll(60, TimeUnit.SECONDS);
            assertEquals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION, n.getType());
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
            assertEquals("goheap jmx-attributes", info.getGcName());
            assertEquals("Heap.gc()", info.getGcCause());
            assertEquals(1, info.getGcInfo().getId());
            assertEquals(1 << 20, info.getGcInfo().getMemoryUsageAfterGc().get("goheap jmx-attributes").getUsed());
            assertTrue(info.getGcInfo().getEndTime() >= info.getGcInfo().getStartTime());
            assertTrue((Long) info.getGcInfo().get("pauseNanos") > 0);

            heap.free(a);
            long released = (Long) SERVER.invoke(h, "freeOSMemory", null, null);
            assertTrue(released >= 1 << 20, "released " + released);
            assertEquals(2L, (Long) SERVER.getAttribute(g, "CollectionCount"));
            assertEquals("Heap.gc()", GarbageCollectionNotificationInfo.from(
                    (CompositeData) received.poll(60, TimeUnit.SECONDS).getUserData()).getGcCause());
            assertEquals(0L, (Long) SERVER.getAttribute(h, "Objects"));
            java.lang.management.GarbageCollectorMXBean proxy = javax.management.JMX.newMXBeanProxy(SERVER, g,
                    java.lang.management.GarbageCollectorMXBean.class);
            assertEquals(2, proxy.getCollectionCount());
            assertEquals("goheap jmx-attributes", proxy.getName());
        }
        assertFalse(SERVER.isRegistered(heapBean("jmx-attributes")), "unregistered on close");
        assertFalse(SERVER.isRegistered(gcBean("jmx-attributes")), "unregistered on close");
    }

    @Test
    void aRemoteJmxClientReadsTheHeapAndRunsACollection() throws Exception {
        JMXConnectorServer connectorServer = JMXConnectorServerFactory.newJMXConnectorServer(
                new JMXServiceURL("service:jmx:rmi://127.0.0.1"), null, SERVER);
        connectorServer.start();
        try (Heap heap = Heap.builder().name("jmx-remote").reservation(1L << 30).gcPercent(-1).build();
             JMXConnector client = JMXConnectorFactory.connect(connectorServer.getAddress())) {
            heap.malloc(4096);
            MBeanServerConnection c = client.getMBeanServerConnection();
            HeapMXBean bean = javax.management.JMX.newMXBeanProxy(c, heapBean("jmx-remote"), HeapMXBean.class);
            assertEquals("jmx-remote", bean.getName());
            assertEquals(1, bean.getObjects());
            bean.gc();
            assertEquals(1, bean.getCycles());
            assertEquals(1L, c.getAttribute(gcBean("jmx-remote"), "CollectionCount"));
        } finally {
            connectorServer.stop();
        }
    }

    @Test
    void defaultNamesAreUniqueAndADuplicateNameIsRefusedLeavingTheFirstHeapRegistered() throws Exception {
        try (Heap a = Heap.builder().reservation(1L << 30).build();
             Heap b = Heap.builder().reservation(1L << 30).build()) {
            assertFalse(a.name().equals(b.name()));
            assertTrue(SERVER.isRegistered(heapBean(a.name())) && SERVER.isRegistered(heapBean(b.name())));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Heap.builder().name(a.name()).reservation(1L << 30).build());
            assertTrue(e.getMessage().contains("already registered"), e.getMessage());
            assertTrue(SERVER.isRegistered(heapBean(a.name())));
            assertEquals(a.name(), SERVER.getAttribute(heapBean(a.name()), "Name"));
            a.malloc(16);
        }
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().name("a,b"));
        assertThrows(IllegalArgumentException.class, () -> Heap.builder().name(""));
    }

    @Test
    void jmxOffRegistersNothing() throws Exception {
        try (Heap heap = Heap.builder().name("jmx-off").jmx(false).reservation(1L << 30).build()) {
            heap.gc();
            assertFalse(SERVER.isRegistered(heapBean("jmx-off")));
            assertFalse(SERVER.isRegistered(gcBean("jmx-off")));
        }
    }

    @Test
    void aDroppedHeapIsStillClosedByItsCleanerAndUnregistered() throws Exception {
        dropAHeap("jmx-dropped");
        ObjectName h = heapBean("jmx-dropped");
        for (int i = 0; i < 600 && SERVER.isRegistered(h); i++) {
            System.gc();
            Thread.sleep(50);
        }
        assertFalse(SERVER.isRegistered(h), "the registered beans kept the dropped heap reachable");
    }

    private static void dropAHeap(String name) {
        Heap.builder().name(name).reservation(1L << 30).build().malloc(64);
    }

    @Test
    void aClosedHeapsBeanSaysSo() throws Exception {
        Heap heap = Heap.builder().name("jmx-closed").reservation(1L << 30).build();
        HeapManagement.HeapBean bean = new HeapManagement.HeapBean(new java.lang.ref.WeakReference<>(heap), "jmx-closed");
        heap.close();
        assertEquals("heap is closed", assertThrows(IllegalStateException.class, bean::getObjects).getMessage());
    }
}
