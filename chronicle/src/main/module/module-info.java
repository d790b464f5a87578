/**
 * goheap objects as Chronicle Bytes stores (no copy), and copies between goheap objects and Chronicle stores. Uses
 * goheap's public API ({@code io.goheap}) and Chronicle's public Bytes API only.
 */
module io.goheap.chronicle {
    requires transitive io.goheap.collector;
    requires transitive chronicle.bytes;
    requires chronicle.core;
    exports io.goheap.chronicle;
}
