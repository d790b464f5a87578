package io.goheap.ffi;

/**
 * The process's memory from {@code /proc/self/smaps_rollup}, in bytes.
 *
 * @param rss        resident set size (kernel's {@code Rss})
 * @param anonymous  resident anonymous memory ({@code Anonymous})
 * @param lazyFree   pages marked {@code MADV_FREE} and not yet reclaimed ({@code LazyFree})
 */
public record ProcessMemory(long rss, long anonymous, long lazyFree) {
}
