package io.goheap.demo;

import io.goheap.allocator.SizeClasses;

/**
 * The demo program ({@code ./mvnw -q compile exec:exec@demo [-Ddemo.args="..."]}).
 *
 * <pre>
 *   (no argument) | lru-collected [seconds]  off-heap LRU cache of collected values, 2 threads, gctrace (LruCacheDemo)
 *   lru [seconds]                   the same cache with values freed explicitly
 *   binary-trees [depth]            the Benchmarks Game's binary-trees on collected objects (BinaryTrees)
 *   binary-trees-java [depth]       the same program on the Java heap (BinaryTreesJavaHeap), its peer
 *   gc-latency [MiB] [mutators] [s] random node replacement over a live heap, latency and pauses (GcLatency)
 *   scavenge drop|freeos|memlimit [n] memory back to the OS and GOMEMLIMIT, beside jmh/go/scavenge (Scavenge)
 *   sizeclasses                     goheap's size-class table as CSV (Go's sizeclasses.go columns)
 *   os                              walkthrough of the OS memory calls under the heap (OsWalkthrough)
 * </pre>
 */
public final class Main {
    private Main() {}

    static final String USAGE = """
            usage: io.goheap.demo.Main [lru-collected [seconds] | lru [seconds] | binary-trees[-java] [depth] [root|frame] | tree-then-garbage [frame|root] | gc-latency [MiB] [mutators] [seconds] [root|frame] | scavenge drop|freeos|memlimit [n] | sizeclasses | os]
              (none), lru-collected [seconds]  off-heap LRU cache of collected values, gctrace on (default 10 s)
              lru [seconds]          the same cache, every evicted value freed explicitly
              binary-trees [depth] [root|frame]  binary-trees on collected objects (default depth 16), the
                                     long-lived tree in a global root (default) or a local frame
              tree-then-garbage [frame|root]  a 32 MiB tree held in a frame (default) or a root, then 128 MiB
                                     of garbage: cycles and pauses
              binary-trees-java [depth]  the same on the Java heap
              gc-latency [MiB] [mutators] [seconds] [root|frame]  replace random nodes of a live heap: op latency, GC pauses
              scavenge drop [s] | freeos | memlimit [GiB]  RSS after a 1 GiB drop, freeOSMemory vs madvise,
                                     peak RSS under GOMEMLIMIT (set it in the environment)
              sizeclasses            the size-class table as CSV
              os                     walkthrough of the OS memory calls (reserve, commit, release)
            """;

    public static void main(String[] args) throws Exception {
        String mode = args.length == 0 ? "lru-collected" : args[0];
        switch (mode) {
            case "lru", "lru-collected" -> {
                if (args.length > 2) {
                    usage("too many arguments");
                }
                LruCacheDemo.Config config = LruCacheDemo.Config.fromSystemProperties()
                        .withCollected(mode.equals("lru-collected"));
                if (args.length == 2) {
                    try {
                        config = config.withSeconds(Integer.parseInt(args[1]));
                    } catch (NumberFormatException e) {
                        usage("seconds must be a whole number: " + args[1]);
                    }
                }
                int status = LruCacheDemo.run(config, System.out);
                System.out.flush();
                if (status != 0) {
                    System.exit(status);
                }
            }
            case "tree-then-garbage" -> {
                if (args.length > 2 || args.length == 2 && !args[1].equals("frame") && !args[1].equals("root")) {
                    usage("tree-then-garbage takes frame or root");
                }
                TreeThenGarbage.run(args.length < 2 || args[1].equals("frame"), System.out);
                System.out.flush();
            }
            case "binary-trees", "binary-trees-java" -> {
                if (args.length > 3 || args.length == 3 && !args[2].equals("frame") && !args[2].equals("root")) {
                    usage("binary-trees takes a depth and root or frame");
                }
                int depth = 16;
                if (args.length >= 2) {
                    try {
                        depth = Integer.parseInt(args[1]);
                    } catch (NumberFormatException e) {
                        usage("depth must be a whole number: " + args[1]);
                    }
                }
                if (mode.equals("binary-trees")) {
                    BinaryTrees.run(depth, args.length == 3 && args[2].equals("frame"), System.out);
                } else {
                    BinaryTreesJavaHeap.run(depth, System.out);
                }
                System.out.flush();
            }
            case "gc-latency" -> {
                boolean inFrame = args.length > 1 && args[args.length - 1].equals("frame");
                int numbers = args.length > 1 && (inFrame || args[args.length - 1].equals("root"))
                        ? args.length - 1 : args.length;
                if (numbers > 4) {
                    usage("too many arguments");
                }
                int[] v = {256, 1, 10};
                for (int i = 1; i < numbers; i++) {
                    try {
                        v[i - 1] = Integer.parseInt(args[i]);
                    } catch (NumberFormatException e) {
                        usage("gc-latency takes whole numbers: " + args[i]);
                    }
                    if (v[i - 1] <= 0) {
                        usage("gc-latency takes positive numbers: " + args[i]);
                    }
                }
                GcLatency.run(v[0], v[1], v[2], inFrame, System.out);
                System.out.flush();
            }
            case "scavenge" -> {
                if (args.length < 2 || args.length > 3) {
                    usage("scavenge takes a mode (drop, freeos, memlimit) and at most one number");
                }
                int n = 0;
                if (args.length == 3) {
                    try {
                        n = Integer.parseInt(args[2]);
                    } catch (NumberFormatException e) {
                        usage("scavenge takes a whole number: " + args[2]);
                    }
                }
                try {
                    Scavenge.run(args[1], n, System.out);
                } catch (IllegalArgumentException e) {
                    usage(e.getMessage());
                }
                System.out.flush();
            }
            case "sizeclasses" -> {
                onlyOne(args);
                SizeClasses.writeCsv(System.out);
                System.out.flush();
            }
            case "os" -> {
                onlyOne(args);
                OsWalkthrough.run(System.out);
                System.out.flush();
            }
            case "-h", "--help", "help" -> System.out.print(USAGE);
            default -> usage("unknown argument: " + mode);
        }
    }

    private static void onlyOne(String[] args) {
        if (args.length > 1) {
            usage(args[0] + " takes no further argument");
        }
    }

    private static void usage(String problem) {
        System.err.println(problem);
        System.err.print(USAGE);
        System.exit(2);
    }
}
