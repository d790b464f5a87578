package example.first;

import io.goheap.*;
import java.lang.foreign.MemoryLayout;
import static java.lang.foreign.ValueLayout.*;

/** The README's first program, and checks of what it printed; exits with 1 when one fails. */
public class FirstProgram {
    public static void main(String[] args) {
        String expectedPath = args.length > 0 ? args[0] : "class-path";
        HeapType node = HeapType.of(MemoryLayout.structLayout(
                JAVA_LONG.withName("value"), ADDRESS.withName("next")));   // ADDRESS = a pointer slot
        long liveAfterBuild;
        long sum = 0;
        MemStats s;
        try (Heap heap = Heap.create();           // reserves 256 GiB of address space, no memory yet
             Root list = heap.newRoot();          // a global root
             Mutator m = heap.attach()) {         // this thread's handle: the fast, lock-free path
            for (long i = 0; i < 1_000_000; i++) {
                long n = m.allocate(node);        // collected object, zeroed
                heap.segment().set(JAVA_LONG, n - heap.base(), i);
                m.storePointer(n + 8, list.get()); // pointer stores go through the Mutator
                list.set(n);                      // rooted before the next safepoint
            }
            long buf = m.malloc(4096);            // a manual object: yours until free
            m.free(buf);                          // double, interior and foreign frees throw
            m.gc();
            liveAfterBuild = heap.readMemStats().heapObjects();
            for (long n = list.get(); n != 0; n = m.loadPointer(n + 8)) {
                sum += heap.segment().get(JAVA_LONG, n - heap.base());
            }
            list.set(0);                          // drop the list...
            m.gc();                               // ...and a full collection reclaims it
            s = heap.readMemStats();              // every field of Go's runtime.MemStats
            System.out.println("objects " + s.heapObjects() + ", cycles " + s.numGC());
        }
        String path = Heap.class.getModule().isNamed() ? "module-path" : "class-path";
        check(path.equals(expectedPath), "goheap was loaded from the " + path + ", expected the " + expectedPath);
        check(!path.equals("module-path") || Heap.class.getModule().getName().equals("io.goheap.collector"),
                "module " + Heap.class.getModule().getName());
        check(liveAfterBuild == 1_000_000, "the rooted list survived a collection: " + liveAfterBuild + " objects");
        check(sum == 999_999L * 1_000_000L / 2, "the list's values add up: " + sum);
        check(s.heapObjects() == 0, "the dropped list was reclaimed: " + s.heapObjects() + " objects left");
        check(s.numForcedGC() == 2, "two forced collections: " + s.numForcedGC());
        System.out.println("first program on the " + path + ": OK");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("FAILED: " + what);
            System.exit(1);
        }
    }
}
