package io.goheap.demo;

import io.goheap.ffi.OsMemory;
import io.goheap.ffi.OsMemory.DecommitMode;
import io.goheap.pagealloc.AddressSpace;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * The OS memory life cycle under the heap, one step per line with the process's RSS after it: reserve the
 * default address space, commit one 64 MiB arena, touch every OS page of it, give it back with MADV_DONTNEED,
 * close. Shows that address space is free, committed-but-untouched memory is free, and RSS follows touching and
 * decommitting. Uses the binding chosen by {@code -Dgoheap.ffi}.
 *
 * <p>Stateless; {@link #run} reserves and releases its own address space, so it may run beside other demos, but
 * concurrent work in the same process shows up in the RSS figures.
 */
public final class OsWalkthrough {

    private OsWalkthrough() {
    }

    /** Runs the walkthrough, printing six lines to {@code out}. */
    public static void run(PrintStream out) {
        OsMemory os = OsMemory.system();
        out.printf(Locale.ROOT, "binding %s, OS page %d B, huge page %s: rss %s%n",
                os.name(), os.pageSize(), os.hugePageSize() == 0 ? "none" : size(os.hugePageSize()), rss(os));

        AddressSpace space = new AddressSpace(os, AddressSpace.DEFAULT_RESERVATION);
        try {
            out.printf(Locale.ROOT, "reserved %s at 0x%x: rss %s%n",
                    size(space.limit() - space.base()), space.base(), rss(os));

            long arena = space.commitArenas(AddressSpace.ARENA_BYTES);
            out.printf(Locale.ROOT, "committed %s arena at 0x%x: rss %s%n",
                    size(AddressSpace.ARENA_BYTES), arena, rss(os));

            MemorySegment heap = space.segment();
            long first = arena - space.base();
            long pages = 0;
            for (long offset = first; offset < first + AddressSpace.ARENA_BYTES; offset += os.pageSize()) {
                heap.set(ValueLayout.JAVA_BYTE, offset, (byte) 1);
                pages++;
            }
            out.printf(Locale.ROOT, "touched %d pages: rss %s%n", pages, rss(os));

            os.decommit(arena, AddressSpace.ARENA_BYTES, DecommitMode.DONTNEED);
            out.printf(Locale.ROOT, "decommitted with MADV_DONTNEED: rss %s%n", rss(os));
        } finally {
            space.close();
        }
        out.printf(Locale.ROOT, "closed (released %s): rss %s%n", size(AddressSpace.DEFAULT_RESERVATION), rss(os));
    }

    private static String rss(OsMemory os) {
        return String.format(Locale.ROOT, "%.1f MiB", os.processMemory().rss() / (double) (1L << 20));
    }

    /** Whole binary units where exact ("256 GiB", "64 MiB", "2 MiB"), else MiB with one decimal. */
    private static String size(long bytes) {
        if (bytes % (1L << 30) == 0) {
            return (bytes >> 30) + " GiB";
        }
        if (bytes % (1L << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes % (1L << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }
}
