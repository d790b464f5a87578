/**
 * A Netty {@code ByteBufAllocator} over goheap: direct buffers are goheap manual objects. Uses goheap's public API
 * ({@code io.goheap}) and Netty's public buffer API only.
 */
module io.goheap.netty {
    requires transitive io.goheap.collector;
    requires transitive io.netty.buffer;
    requires io.netty.common;
    exports io.goheap.netty;
}
