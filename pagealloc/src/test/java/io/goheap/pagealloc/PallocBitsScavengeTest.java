// Invariants: pure unit tests of PallocBits' scavenging helpers over local arrays; no shared state, no locks.
package io.goheap.pagealloc;

import static io.goheap.pagealloc.PageAllocatorTestSupport.bits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Go's mgcscavenge_test.go cases for fillAligned and findScavengeCandidate, re-expressed. */
class PallocBitsScavengeTest {
    private static final int N = PallocBits.BITS;

    static long fillAlignedSlow(long x, int m) {
        if (m == 1) {
            return x;
        }
        long out = 0;
        for (int i = 0; i < 64; i += m) {
            if ((x & PallocBits.mask(i, m)) != 0) {
                out |= PallocBits.mask(i, m);
            }
        }
        return out;
    }

    @Test
    void fillAligned() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int m = 1; m <= 64; m *= 2) {
            long[] fixed = {
                0x0000000000000000L, 0x00000000ffffffffL, 0xffffffff00000000L, 0x8000000000000001L,
                0xf00000000000000fL, 0xf00000010050000fL, 0xffffffffffffffffL, 0x0000000000000001L,
                0x0000000000000002L, 0x0000000000000008L, 1L << (m - 1), m == 64 ? 0 : 1L << m,
                0xb02b9effcf137016L, 0x3975a076a9fbff18L, 0x0f8c88ec3b81506eL, 0x60f14d80ef2fa0e6L,
            };
            for (long x : fixed) {
                check(x, m);
            }
            for (int i = 0; i < 1000; i++) {
                check(rnd.nextLong(), m);
                if (m > 1) {
                    // Each m-aligned group either stays zero or gets random bits.
                    long val = 0;
                    for (int g = 0; g < 64; g += m) {
                        if (rnd.nextBoolean()) {
                            val |= rnd.nextLong() & PallocBits.mask(g, m);
                        }
                    }
                    check(val, m);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> PallocBits.fillAligned(1, 3));
        assertThrows(IllegalArgumentException.class, () -> PallocBits.fillAligned(1, 128));
    }

    private static void check(long x, int m) {
        assertEquals(fillAlignedSlow(x, m), PallocBits.fillAligned(x, m),
                () -> String.format("fillAligned(%016x, %d)", x, m));
    }

    // ------------------------------------------------------------ findScavengeCandidate

    private record Case(String name, long[] alloc, long[] scav, int min, int max, int hugePages, int wantStart, int wantSize) {}

    @TestFactory
    Stream<DynamicTest> findScavengeCandidate() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("MixedMin1", bits(0, 40, 42, N - 42), bits(0, 41, 42, N - 42), 1, N, 0, 41, 1));
        cases.add(new Case("MultiMin1", bits(0, 63, 65, 20, 87, N - 87), bits(86, 1), 1, N, 0, 85, 1));
        for (int m = 1; m <= 64; m *= 2) {
            String sfx = "Min" + m;
            cases.add(new Case("AllFree" + sfx, bits(), bits(), m, N, 0, 0, N));
            cases.add(new Case("AllScavenged" + sfx, bits(), bits(0, N), m, N, 0, 0, 0));
            cases.add(new Case("NoneFree" + sfx, bits(0, N), bits(N / 2, N / 2), m, N, 0, 0, 0));
            cases.add(new Case("StartFree" + sfx, bits(m, N - m), bits(), m, N, 0, 0, m));
            cases.add(new Case("EndFree" + sfx, bits(0, N - m), bits(), m, N, 0, N - m, m));
            cases.add(new Case("Straddle64" + sfx, bits(0, 64 - m, 64 + m, N - (64 + m)), bits(), m, 2 * m, 0, 64 - m, 2 * m));
            cases.add(new Case("BottomEdge64WithFull" + sfx, bits(64, 64, 128 + 3 * m, N - (128 + 3 * m)), bits(1, 10),
                    m, 3 * m, 0, 128, 3 * m));
            cases.add(new Case("BottomEdge64WithPocket" + sfx, bits(64, 62, 127, 1, 128 + 3 * m, N - (128 + 3 * m)),
                    bits(1, 10), m, 3 * m, 0, 128, 3 * m));
            cases.add(new Case("Max0" + sfx, bits(), bits(0, N - m), m, 0, 0, N - m, m));
            if (m <= 8) {
                cases.add(new Case("OneFree" + sfx, bits(0, 40, 40 + m, N - (40 + m)), bits(), m, N, 0, 40, m));
                cases.add(new Case("OneScavenged" + sfx, bits(0, 40, 40 + m, N - (40 + m)), bits(40, 1), m, N, 0, 0, 0));
            }
            if (m > 1) {
                cases.add(new Case("MaxUnaligned" + sfx, bits(), bits(0, N - (m * 2 - 1)), m, m - 2, 0, N - m, m));
                cases.add(new Case("SkipSmall" + sfx, bits(0, 64 - m, 64, 5, 70, 11, 82, N - 82), bits(), m, m, 0, 64 - m, m));
                cases.add(new Case("SkipMisaligned" + sfx, bits(0, 64 - m, 64, 63, 127 + m, N - (127 + m)), bits(),
                        m, m, 0, 64 - m, m));
                cases.add(new Case("MaxLessThan" + sfx, bits(), bits(0, N - m), m, 1, 0, N - m, m));
            }
        }
        // Huge-page preservation with 2 MiB huge pages (256 runtime pages).
        int hp = 256;
        cases.add(new Case("PreserveHugePageBottom", bits(hp + 2, N - (hp + 2)), bits(), 1, 3, hp, 0, hp + 2));
        cases.add(new Case("PreserveHugePageTop", bits(0, N - hp), bits(), 1, 1, hp, N - hp, hp));
        // Go's middle case needs three huge pages per chunk: use 64-page huge pages for it.
        int small = 64;
        cases.add(new Case("PreserveHugePageMiddle", bits(0, small - 10, 2 * small + 10, N - (2 * small + 10)), bits(),
                1, 12, small, small, small + 10));
        cases.add(new Case("HugePagesDisabled", bits(), bits(), 1, 1, 0, N - 1, 1));
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases) {
            tests.add(dynamicTest(c.name(), () -> {
                long got = PallocBits.findScavengeCandidate(c.alloc(), 0, c.scav(), 0, N - 1, c.min(), c.max(), c.hugePages());
                int size = PallocBits.candidateSize(got);
                if (c.wantSize() == 0) {
                    assertEquals(0, size, "expected no candidate");
                } else {
                    assertEquals(c.wantStart() + "+" + c.wantSize(), PallocBits.candidateStart(got) + "+" + size);
                }
            }));
        }
        return tests.stream();
    }

    /** With min = 1 and no huge pages: the top part (<= max) of the highest free-unscavenged run. */
    @Test
    void findScavengeCandidateRandomMin1() {
        SplittableRandom rnd = new SplittableRandom(17);
        for (int iter = 0; iter < 20000; iter++) {
            long[] alloc = PallocBitsTest.randomRuns(rnd);
            long[] scav = PallocBitsTest.randomRuns(rnd);
            for (int k = 0; k < scav.length; k++) {
                scav[k] &= ~alloc[k];
            }
            int search = rnd.nextInt(3) == 0 ? N - 1 : rnd.nextInt(N);
            int max = 1 + rnd.nextInt(N);
            int end = search;
            while (end >= 0 && (PallocBitsTest.isSet(alloc, end) || PallocBitsTest.isSet(scav, end))) {
                end--;
            }
            int wantStart = 0;
            int wantSize = 0;
            if (end >= 0) {
                int lo = end;
                while (lo > 0 && !PallocBitsTest.isSet(alloc, lo - 1) && !PallocBitsTest.isSet(scav, lo - 1)) {
                    lo--;
                }
                wantSize = Math.min(end - lo + 1, max);
                wantStart = end + 1 - wantSize;
            }
            long got = PallocBits.findScavengeCandidate(alloc, 0, scav, 0, search, 1, max, 0);
            assertEquals(wantSize, PallocBits.candidateSize(got));
            if (wantSize > 0) {
                assertEquals(wantStart, PallocBits.candidateStart(got));
            }
        }
    }

    @Test
    void badMinimum() {
        long[] z = new long[PallocBits.WORDS];
        assertThrows(IllegalArgumentException.class, () -> PallocBits.findScavengeCandidate(z, 0, z, 0, N - 1, 3, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> PallocBits.findScavengeCandidate(z, 0, z, 0, N - 1, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> PallocBits.findScavengeCandidate(z, 0, z, 0, N - 1, 128, 1, 0));
    }
}
