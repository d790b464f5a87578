/**
 * OS memory primitives for goheap. The only module that calls restricted FFM methods, so on the
 * module path only this module needs {@code --enable-native-access=io.goheap.ffi}.
 */
module io.goheap.ffi {
    requires static org.jnrproject.ffi;
    exports io.goheap.ffi;
}
