/** The consumer's module: goheap's API is one package in one module. */
module example.first {
    requires io.goheap.collector;
}
