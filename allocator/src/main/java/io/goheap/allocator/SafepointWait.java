package io.goheap.allocator;

/**
 * How long one stop of the world or handshake waited, and for whom (Go's time-to-safepoint, per P): the total
 * wait, and the P whose holder it waited for longest, with that holder's name. Made by {@link Procs} at the end of
 * each stop or handshake; read by the collector for {@code GODEBUG=gcstoptrace=1}.
 *
 * @param totalNanos   from the request to the last P stopped or its step done
 * @param slowestNanos the longest the stopper or handshaker waited for one P (0 when no P made it wait)
 * @param slowestP     that P's id, -1 when none
 * @param slowestHolder the name of the thread holding that P while it was waited for, or "" when none
 */
public record SafepointWait(long totalNanos, long slowestNanos, int slowestP, String slowestHolder) {
    static final SafepointWait NONE = new SafepointWait(0, 0, -1, "");
}
