package io.goheap;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * The opt-in exit from a death spiral (see {@link MemoryLimitExceededException}): after how long a saturated GC
 * CPU limiter counts, and who decides whether the allocation fails. The decider runs on the allocating thread,
 * holding its P (it may free objects or call {@link Heap#gc()}); returning false lets the allocation proceed.
 */
record MemoryLimitExit(long afterNanos, Predicate<MemoryLimitExceededException> decider) {
    MemoryLimitExit {
        if (afterNanos < 0) {
            throw new IllegalArgumentException("the saturation time must not be negative: " + afterNanos + " ns");
        }
        Objects.requireNonNull(decider, "decider");
    }

    boolean shouldFail(MemoryLimitExceededException e) {
        return decider.test(e);
    }
}
