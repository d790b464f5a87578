package io.goheap.jmh;

import org.openjdk.jmh.annotations.Threads;

/**
 * {@link BulkFreeBench} with 2 benchmark threads: each thread allocates and frees its own batches. The score is the
 * time per object per thread; divided by {@link BulkFreeBench}'s it says how a shape scales from one thread to two.
 */
@Threads(2)
public class BulkFreeBench2T extends BulkFreeBench {}
