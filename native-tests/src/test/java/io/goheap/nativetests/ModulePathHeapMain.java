package io.goheap.nativetests;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.goheap.Heap;
import io.goheap.HeapType;
import io.goheap.Mutator;
import io.goheap.Root;
import java.lang.foreign.MemoryLayout;

/**
 * Run by {@link ModulePathTest} in a child JVM with goheap's modules on the module path: a heap, collected objects,
 * a concurrent cycle and a stop-the-world one, as a user's application on the module path runs them.
 */
public final class ModulePathHeapMain {
    private ModulePathHeapMain() {
    }

    public static void main(String[] args) {
        if (!Heap.class.getModule().isNamed()) {
            throw new AssertionError("io.goheap was loaded from the class path, not as a module");
        }
        HeapType node = HeapType.of(MemoryLayout.structLayout(JAVA_LONG, ADDRESS));
        for (String godebug : new String[] {"gccheckmark=1", "gccheckmark=1,gcstoptheworld=1"}) {
            try (Heap heap = Heap.builder().reservation(256L << 20).godebug(godebug).build();
                 Root root = heap.newRoot();
                 Mutator m = heap.attach()) {
                for (int i = 0; i < 100_000; i++) {
                    long n = m.allocate(node);
                    m.storePointer(n + 8, root.get());
                    root.set(n);
                }
                root.set(0);
                m.gc();
                if (heap.readMemStats().heapObjects() != 0) {
                    throw new AssertionError("objects left after gc(): " + heap.readMemStats().heapObjects());
                }
            }
        }
        System.out.println("module path: ok");
    }
}
