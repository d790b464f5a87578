package io.goheap.allocator;

import io.goheap.pagealloc.AddressSpace;

import java.util.IdentityHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The slow oracle (Go's ReadMemStatsSlow): walks every committed page, collects the live spans and recounts
 * everything from their bitmaps, then checks the heap's own counters and {@link AllocStats} against it.
 * Call only while no other thread uses the heap.
 */
final class HeapAudit {
    private HeapAudit() {
    }

    static void check(Heap heap) {
        MHeap h = heap.mheap();
        Map<MSpan, Boolean> spans = new IdentityHashMap<>();
        long committedEnd = h.space.committedEnd();
        for (long a = h.space.base(); a < committedEnd; a += MHeap.PAGE_SIZE) {
            MSpan s = h.spans.get(a);
            if (s != null) {
                assertEquals(MSpan.IN_USE, s.state(), "index maps 0x" + Long.toHexString(a) + " to a dead span");
                assertTrue(a >= s.base && a < s.base + s.npages * MHeap.PAGE_SIZE, "index entry outside its span");
                spans.put(s, Boolean.TRUE);
            }
        }
        long pagesInUse = 0;
        long[] live = new long[SizeClasses.NUM_SIZE_CLASSES];
        long largeLive = 0;
        long largeSpans = 0;
        long largeBytes = 0;
        for (MSpan s : spans.keySet()) {
            pagesInUse += s.npages;
            for (long a = s.base; a < s.base + s.npages * MHeap.PAGE_SIZE; a += MHeap.PAGE_SIZE) {
                assertTrue(h.spans.get(a) == s, "page 0x" + Long.toHexString(a) + " of " + s + " not indexed to it");
            }
            if (s.isLarge()) {
                largeSpans++;
                assertEquals(s.allocBits[0], (long) s.allocCount, "allocCount of " + s);
                if (s.allocBits[0] != 0) {                // else retained by a P after its free
                    largeLive++;
                    largeBytes += s.elemSize;
                }
                continue;
            }
            int bits = 0;
            int pendingLive = 0;
            for (int w = 0; w < s.words; w++) {
                bits += Long.bitCount(s.allocBits[w]);
                pendingLive += Long.bitCount(s.remoteFreed[w] & s.allocBits[w]);
            }
            assertEquals(bits, s.allocCount, "allocCount of " + s);
            assertTrue(s.allocCount <= s.nelems);
            long r = s.remote();
            if ((r & MSpan.R_CACHED) == 0 && !s.retainedEmpty) {
                assertTrue(bits - pendingLive > 0, "an uncached span whose objects are all free was not returned: " + s);
            }
            live[s.sizeClass] += bits - pendingLive;
        }
        assertEquals(h.inUsePages.get(), pagesInUse, "heap in-use pages vs spans found");
        long pageCachePages = 0;
        for (int i = 0; i < heap.procs().count(); i++) {
            pageCachePages += heap.procs().get(i).mcache.pageCache.freePageCount();
        }
        h.lock.lock();
        try {
            h.pages.verify();
            assertEquals(pagesInUse + pageCachePages, h.pages.inUsePages(),
                    "page allocator in-use pages vs spans found plus the Ps' page caches");
        } finally {
            h.lock.unlock();
        }
        AllocStats m = heap.readMemStats();
        long smallLive = 0;
        for (int c = 1; c < SizeClasses.NUM_SIZE_CLASSES; c++) {
            long mallocs = c < 61 ? m.bySize().get(c).mallocs() : -1;
            long frees = c < 61 ? m.bySize().get(c).frees() : -1;
            if (c < 61) {
                assertEquals(live[c], mallocs - frees, "live objects of class " + c + " (" + SizeClasses.classSize(c) + " B)");
            }
            smallLive += live[c];
        }
        assertEquals(smallLive + largeLive, m.heapObjects(), "HeapObjects vs recount");
        assertEquals(pagesInUse * MHeap.PAGE_SIZE, m.heapInuse());
        long liveBytes = largeBytes;
        for (int c = 1; c < SizeClasses.NUM_SIZE_CLASSES; c++) {
            liveBytes += live[c] * SizeClasses.classSize(c);
        }
        assertEquals(liveBytes, m.heapAlloc(), "HeapAlloc vs recount");
        AllocStatsInvariants.check(m);
        checkSweepState(h, spans.keySet(), largeSpans);
        assertTrue(m.heapSys() <= committedEnd - h.space.base() && m.heapSys() % AddressSpace.ARENA_BYTES == 0);
    }

    /**
     * The sweepgen protocol (see MSweep): every uncached span is on the list pair its sweepgen selects, with
     * sweepgen sg or sg − 2; swept spans carry no mark bits; cached collected spans are swept, or stale in a cache not yet prepared for the
     * cycle; cached manual spans may carry any past cycle's sweepgen; every live large span is on
     * its mcentral's full list.
     */
    private static void checkSweepState(MHeap h, java.util.Set<MSpan> live, long largeLive) {
        int sg = h.sweepgen;
        Map<MSpan, Boolean> listed = new IdentityHashMap<>();
        long[] largeListed = {0};
        for (MCentral c : h.central) {
            c.forEachSpan((s, list, set) -> {
                assertEquals(c.spanClass, s.spanClass, "span on the wrong mcentral: " + s);
                assertEquals(list, s.list, "list field of " + s);
                assertEquals(set, s.listSet, "list pair field of " + s);
                assertTrue(s.sweepgen == sg || s.sweepgen == sg - 2, "sweepgen " + s.sweepgen + " in cycle " + sg);
                assertEquals(MCentral.sweptSet(s.sweepgen), set, "span on the wrong list pair for its sweepgen: " + s);
                assertTrue(live.contains(s), "a listed span is not in the page index: " + s);
                assertEquals(null, listed.put(s, Boolean.TRUE), "span listed twice: " + s);
                if (s.sweepgen == sg) {
                    for (int i = 0; i < s.nelems; i++) {
                        assertFalse(s.isMarked(i), "a swept span keeps mark bits: " + s);
                    }
                }
                if (s.isLarge()) {
                    assertEquals(MSpan.LIST_FULL, list, "large spans live on the full list");
                    largeListed[0]++;
                }
            });
        }
        assertEquals(largeLive, largeListed[0], "live large spans vs large spans on the mcentral lists");
        for (MSpan s : live) {
            if (!listed.containsKey(s)) {
                assertTrue((s.remote() & MSpan.R_CACHED) != 0, "an in-use span is neither listed nor cached: " + s);
                MCache owner = s.cachedByPlain();
                if (s.collected) {
                    // swept, or stale in a cache not yet prepared for this cycle (MCache.prepareForSweep)
                    boolean stale = owner != null && owner.flushGen != sg && s.sweepgen == sg - 2;
                    assertTrue(s.sweepgen == sg || stale, "a cached collected span must be swept or stale in an "
                            + "unprepared cache: sweepgen " + s.sweepgen + " in cycle " + sg + ": " + s);
                } else {
                    assertTrue(s.sweepgen <= sg && (sg - s.sweepgen) % 2 == 0,
                            "a cached manual span's sweepgen is a past cycle's: " + s.sweepgen + " in " + sg);
                }
            }
        }
    }
}
