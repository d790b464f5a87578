/**
 * OS memory primitives for goheap. The only module that calls restricted FFM methods, so on the
 * module path only this module needs {@code --enable-native-access=io.goheap.ffi}.
 *
 * <p>Exported only to goheap's own modules: its raw memory calls are building blocks, not a public API.
 * Each binding object also refuses ranges it did not reserve, which is what protects it on the class path.
 * The targets are compiled after this module, so javac's "module not found" lint (category {@code module})
 * would warn about each of them here; that warning is expected and suppressed for this declaration only.
 */
@SuppressWarnings("module")
module io.goheap.ffi {
    requires static org.jnrproject.ffi;
    exports io.goheap.ffi to io.goheap.pagealloc, io.goheap.scavenger, io.goheap.allocator, io.goheap.collector;
}
