package io.goheap.jmh;

import org.openjdk.jmh.annotations.Threads;

/** {@link AllocFreeBench} with 2 benchmark threads: each thread allocates and frees its own objects. */
@Threads(2)
public class AllocFreeBench2T extends AllocFreeBench {}
