package io.goheap.chronicle;

import io.goheap.Heap;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.BytesStore;
import net.openhft.chronicle.bytes.PointerBytesStore;
import net.openhft.chronicle.core.io.AbstractReferenceCounted;
import net.openhft.chronicle.core.io.ClosedIllegalStateException;
import net.openhft.chronicle.core.io.ReferenceOwner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * goheap objects through Chronicle's own API: a wrapped object's bytes are the store's (both directions, no copy),
 * Chronicle's streaming Bytes work over it, owned stores free their object on the last release, ranges are checked
 * against the goheap object, and random copies between goheap objects and native and on-heap Chronicle stores agree
 * with a byte[] model. Chronicle's reference tracing checks that every store the tests made was released.
 */
class GoheapBytesTest {
    private Heap heap;

    @BeforeEach
    void open() {
        AbstractReferenceCounted.enableReferenceTracing();
        heap = Heap.builder().reservation(1L << 32).maxProcs(2).build();
    }

    @AfterEach
    void close() {
        heap.close();
        AbstractReferenceCounted.assertReferencesReleased();  // Chronicle's leak check over every store made here
    }

    private long heapLong(long address) {
        return heap.segment().get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder()), address - heap.base());
    }

    @Test
    void aWrappedObjectIsTheStoresMemory() {
        long object = heap.malloc(256);
        PointerBytesStore store = GoheapBytes.wrap(heap, object, 256);
        assertEquals(256, store.capacity());
        assertEquals(object, store.addressForRead(0), "no copy: the store's memory is the object");
        store.writeLong(16, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, heapLong(object + 16));
        heap.segment().set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder()), object + 40 - heap.base(), 99);
        assertEquals(99, store.readInt(40));
        Bytes<Void> out = store.bytesForWrite();
        out.writeUtf8("goheap ✓").writeStopBit(123_456_789L);
        Bytes<Void> in = store.bytesForRead();
        assertEquals("goheap ✓", in.readUtf8());
        assertEquals(123_456_789L, in.readStopBit());
        in.releaseLast();
        out.releaseLast();
        store.releaseLast();
        heap.usableSize(object);                               // a view's release leaves the object allocated
        heap.free(object);
    }

    @Test
    void rangesAreCheckedAgainstTheGoheapObject() {
        long object = heap.malloc(100);
        long usable = heap.usableSize(object);
        GoheapBytes.wrap(heap, object + 10, usable - 10).releaseLast();           // an interior range is fine
        IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                () -> GoheapBytes.wrap(heap, object, usable + 1));
        assertTrue(past.getMessage().contains("runs past the goheap object"), past.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GoheapBytes.wrap(heap, object, -1));
        heap.free(object);
        assertThrows(IllegalArgumentException.class, () -> GoheapBytes.wrap(heap, object, 8), "a freed object");
        assertThrows(IllegalArgumentException.class,
                () -> GoheapBytes.copy(BytesStore.wrap(new byte[8]), 0, heap, object, 8));
        long next = heap.malloc(100);                           // the heap is still usable
        GoheapBytes.wrap(heap, next, 100).releaseLast();
        heap.free(next);
    }

    @Test
    void anOwnedStoreFreesItsObjectOnTheLastRelease() {
        OwnedGoheapBytesStore store = GoheapBytes.allocate(heap, 64);
        long object = store.goheapAddress();
        assertEquals(object, heap.baseOf(object));
        store.writeLong(0, 5);
        assertEquals(0, store.readLong(8), "allocated zeroed");
        ReferenceOwner reader = ReferenceOwner.temporary("reader");
        store.reserve(reader);
        store.release(ReferenceOwner.INIT);                    // the creator's reference
        heap.usableSize(object);                               // still allocated while the reader holds one
        assertEquals(5, store.readLong(0));
        store.releaseLast(reader);
        IllegalStateException freed = assertThrows(IllegalStateException.class, () -> heap.free(object));
        assertTrue(freed.getMessage().contains("double free"), freed.getMessage());
        // Chronicle drops a released store's memory (its read then throws NullPointerException): freed goheap memory
        // is never read through it.
        assertThrows(RuntimeException.class, () -> store.readLong(0), "Chronicle refuses a released store");
        assertThrows(ClosedIllegalStateException.class, () -> store.reserve(ReferenceOwner.temporary("late")));
        assertThrows(IllegalArgumentException.class, () -> GoheapBytes.allocate(heap, 0));
    }

    @Test
    void aCopyThatDoesNotFitChangesNothing() {
        long object = heap.malloc(64);
        BytesStore<?, Void> small = BytesStore.nativeStoreWithFixedCapacity(16);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GoheapBytes.copy(heap, object, small, 8, 64));
        assertTrue(e.getMessage().contains("destination store"), e.getMessage());
        assertEquals(0, small.readLong(8));
        assertThrows(IllegalArgumentException.class, () -> GoheapBytes.copy(small, 8, heap, object, 16));
        small.releaseLast();
        heap.free(object);
    }

    /**
     * Random copies among goheap objects, Chronicle native stores and Chronicle on-heap stores, in both directions,
     * each mirrored on byte arrays; every store is compared with its model after every copy.
     */
    @Test
    void randomCopiesAgreeWithAByteArrayModel() {
        Random rnd = new Random(42);
        int n = 6;
        long[] objects = new long[n];
        byte[][] objectModels = new byte[n][];
        List<BytesStore<?, ?>> stores = new ArrayList<>();
        byte[][] storeModels = new byte[n][];
        for (int i = 0; i < n; i++) {
            int size = 1 + rnd.nextInt(5000);
            objects[i] = heap.malloc(size);
            objectModels[i] = new byte[size];
            int storeSize = 1 + rnd.nextInt(5000);
            stores.add(i % 2 == 0 ? BytesStore.nativeStoreWithFixedCapacity(storeSize)
                    : BytesStore.wrap(new byte[storeSize]));
            storeModels[i] = new byte[storeSize];
            if (i % 2 == 0) {
                stores.get(i).zeroOut(0, storeSize);
            }
        }
        for (int step = 0; step < 2000; step++) {
            int o = rnd.nextInt(n);
            int s = rnd.nextInt(n);
            byte[] om = objectModels[o];
            byte[] sm = storeModels[s];
            if (rnd.nextInt(3) == 0) {                         // write fresh bytes into a store through Chronicle
                int off = rnd.nextInt(sm.length);
                byte v = (byte) rnd.nextInt();
                stores.get(s).writeByte(off, v);
                sm[off] = v;
                continue;
            }
            int len = rnd.nextInt(Math.min(om.length, sm.length) + 1);
            int oOff = rnd.nextInt(om.length - len + 1);
            int sOff = rnd.nextInt(sm.length - len + 1);
            if (rnd.nextBoolean()) {
                GoheapBytes.copy(heap, objects[o] + oOff, stores.get(s), sOff, len);
                System.arraycopy(om, oOff, sm, sOff, len);
            } else {
                GoheapBytes.copy(stores.get(s), sOff, heap, objects[o] + oOff, len);
                System.arraycopy(sm, sOff, om, oOff, len);
            }
            assertArrayEquals(om, heap.segment().asSlice(objects[o] - heap.base(), om.length)
                    .toArray(ValueLayout.JAVA_BYTE), "object " + o + " after step " + step);
            byte[] storeBytes = new byte[sm.length];
            for (int i = 0; i < sm.length; i++) {
                storeBytes[i] = stores.get(s).readByte(i);
            }
            assertArrayEquals(sm, storeBytes, "store " + s + " after step " + step);
        }
        for (int i = 0; i < n; i++) {
            PointerBytesStore view = GoheapBytes.wrap(heap, objects[i], objectModels[i].length);
            assertTrue(view.contentEquals(BytesStore.wrap(objectModels[i])), "Chronicle's own comparison agrees");
            view.releaseLast();
            stores.get(i).releaseLast();
            heap.free(objects[i]);
        }
    }
}
