package io.goheap;

import java.util.function.Function;

/**
 * GOGC, GOMEMLIMIT, GODEBUG and GOMAXPROCS as Go reads them, from three sources: the builder's values win over the
 * system properties {@code goheap.gogc}, {@code goheap.memlimit}, {@code goheap.godebug} and {@code goheap.maxprocs},
 * which win over Go's environment variables. GODEBUG is merged key by key in that order (a later source's key
 * replaces an earlier one's); the other three are taken whole from the first source that sets them (an empty value
 * sets nothing, as an empty variable in Go). A malformed value is an {@link IllegalArgumentException} naming its
 * source and the value (Go silently falls back to a default; a JVM service would rather fail at start-up than run
 * with a setting it did not ask for). Immutable.
 */
record GcSettings(int gcPercent, boolean gctrace, boolean invalidptr, boolean gccheckmark, boolean gcstoptheworld,
                  boolean scavtrace, DecommitMode decommitMode, long memoryLimit, boolean gcpacertrace,
                  boolean checkptr, boolean clobberfree, int gcquarantine, boolean gcstoptrace) {

    /** The system properties, one per environment variable. */
    static final String GOGC_PROPERTY = "goheap.gogc";
    static final String MEMLIMIT_PROPERTY = "goheap.memlimit";
    static final String GODEBUG_PROPERTY = "goheap.godebug";
    static final String MAXPROCS_PROPERTY = "goheap.maxprocs";

    /** Where a value came from, as an error message names it. */
    static String environment(String variable) {
        return "environment variable " + variable;
    }

    static String property(String name) {
        return "system property " + name;
    }

    static String builder(String method) {
        return "Heap.Builder." + method;
    }

    static GcSettings resolve(Integer gcPercent, String godebug, Function<String, String> env) {
        return resolve(gcPercent, null, godebug, env);
    }

    static GcSettings resolve(Integer gcPercent, Long memoryLimit, String godebug, Function<String, String> env) {
        return resolve(gcPercent, memoryLimit, godebug, name -> null, env);
    }

    /**
     * Builder values where given (null: not set), else the system properties' ({@code properties} maps a property
     * name to its value or null), else the environment's.
     */
    static GcSettings resolve(Integer gcPercent, Long memoryLimit, String godebug, Function<String, String> properties,
                              Function<String, String> env) {
        int percent;
        if (gcPercent != null) {
            percent = gcPercent;
        } else if (isSet(properties.apply(GOGC_PROPERTY))) {
            percent = parseGogc(properties.apply(GOGC_PROPERTY), property(GOGC_PROPERTY));
        } else {
            percent = parseGogc(env.apply("GOGC"), environment("GOGC"));
        }
        long limit;
        if (memoryLimit != null) {
            limit = memoryLimit;
        } else if (isSet(properties.apply(MEMLIMIT_PROPERTY))) {
            limit = parseMemoryLimit(properties.apply(MEMLIMIT_PROPERTY), property(MEMLIMIT_PROPERTY));
        } else {
            limit = parseMemoryLimit(env.apply("GOMEMLIMIT"), environment("GOMEMLIMIT"));
        }
        // Each source checked under its own name, then merged: later keys replace earlier ones in parseGodebug.
        StringBuilder merged = new StringBuilder();
        String[] debugs = {env.apply("GODEBUG"), properties.apply(GODEBUG_PROPERTY), godebug};
        String[] sources = {environment("GODEBUG"), property(GODEBUG_PROPERTY), builder("godebug")};
        for (int i = 0; i < debugs.length; i++) {
            if (isSet(debugs[i])) {
                parseGodebug(debugs[i], sources[i]);
                merged.append(debugs[i]).append(',');
            }
        }
        int[] flags = parseGodebug(merged.toString(), "GODEBUG");
        DecommitMode mode = flags[6] > 0 ? DecommitMode.HARD
                : flags[5] == 0 ? DecommitMode.FREE : DecommitMode.DONTNEED;      // as Go reads them
        return new GcSettings(percent, flags[0] > 0, flags[1] != 0, flags[2] > 0, flags[3] > 0, flags[4] > 0, mode,
                limit, flags[7] > 0, flags[8] > 0, flags[9] > 0, Math.max(0, flags[10]), flags[11] > 0);
    }

    /** No memory limit (Go's math.MaxInt64). */
    static final long NO_LIMIT = Long.MAX_VALUE;

    /**
     * GOMEMLIMIT: unset, empty or "off" → no limit; else a non-negative integer count of bytes with an optional
     * unit suffix B, KiB, MiB, GiB or TiB (powers of 1024, case as written), e.g. {@code 512MiB}, as Go's. Anything
     * else, and a value beyond {@code Long.MAX_VALUE} bytes, is an {@link IllegalArgumentException} naming the value.
     */
    static long parseMemoryLimit(String value) {
        return parseMemoryLimit(value, environment("GOMEMLIMIT"));
    }

    /** As {@link #parseMemoryLimit(String)}, naming {@code source} in the exception. */
    static long parseMemoryLimit(String value, String source) {
        if (value == null || value.isEmpty() || value.equals("off")) {
            return NO_LIMIT;
        }
        String[] units = {"TiB", "GiB", "MiB", "KiB", "B"};
        int[] shifts = {40, 30, 20, 10, 0};
        String digits = value;
        int shift = 0;
        for (int i = 0; i < units.length; i++) {
            if (value.endsWith(units[i])) {
                digits = value.substring(0, value.length() - units[i].length());
                shift = shifts[i];
                break;
            }
        }
        if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(source + "=" + value + " is malformed: expected \"off\" or a byte "
                    + "count with an optional unit B, KiB, MiB, GiB or TiB, such as 512MiB");
        }
        long n;
        try {
            n = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + "=" + value + " is larger than " + Long.MAX_VALUE + " bytes");
        }
        if (shift > 0 && n > Long.MAX_VALUE >> shift) {
            throw new IllegalArgumentException(source + "=" + value + " is larger than " + Long.MAX_VALUE + " bytes");
        }
        return n << shift;
    }

    /** GOGC: unset or empty → 100; "off" → -1; else a non-negative integer. */
    static int parseGogc(String value) {
        return parseGogc(value, environment("GOGC"));
    }

    /** As {@link #parseGogc(String)}, naming {@code source} in the exception. */
    static int parseGogc(String value, String source) {
        if (value == null || value.isEmpty()) {
            return 100;
        }
        if (value.equals("off")) {
            return -1;
        }
        try {
            int percent = Integer.parseInt(value.trim());
            return percent < 0 ? -1 : percent;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + "=" + value + " is neither \"off\" nor an integer percentage");
        }
    }

    /**
     * GODEBUG: {@code key=value} pairs separated by commas; returns {gctrace, invalidptr, gccheckmark,
     * gcstoptheworld, scavtrace, madvdontneed, harddecommit, gcpacertrace, checkptr, clobberfree, gcquarantine, gcstoptrace}. Keys goheap does not know are ignored, as Go ignores
     * them.
     */
    static int[] parseGodebug(String value) {
        return parseGodebug(value, environment("GODEBUG"));
    }

    /** As {@link #parseGodebug(String)}, naming {@code source} in the exception. */
    static int[] parseGodebug(String value, String source) {
        int gctrace = 0;
        int invalidptr = 1;
        int gccheckmark = 0;
        int gcstoptheworld = 0;
        int scavtrace = 0;
        int madvdontneed = 1;          // Go's default on Linux
        int harddecommit = 0;
        int gcpacertrace = 0;
        int checkptr = 0;
        int clobberfree = 0;
        int gcquarantine = 0;
        int gcstoptrace = 0;
        for (String pair : value.split(",")) {
            String p = pair.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(source + " entry \"" + p + "\" is not key=value (in " + source + "="
                        + value + ")");
            }
            String key = p.substring(0, eq);
            String v = p.substring(eq + 1);
            if (key.equals("gctrace") || key.equals("invalidptr") || key.equals("gccheckmark")
                    || key.equals("gcstoptheworld") || key.equals("scavtrace") || key.equals("madvdontneed")
                    || key.equals("harddecommit") || key.equals("gcpacertrace") || key.equals("checkptr")
                    || key.equals("clobberfree") || key.equals("gcquarantine") || key.equals("gcstoptrace")) {
                int n;
                try {
                    n = Integer.parseInt(v.trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(source + " entry " + key + "=" + v + " is not an integer (in "
                            + source + "=" + value + ")");
                }
                switch (key) {
                    case "gctrace" -> gctrace = n;
                    case "invalidptr" -> invalidptr = n;
                    case "gcstoptheworld" -> gcstoptheworld = n;
                    case "scavtrace" -> scavtrace = n;
                    case "madvdontneed" -> madvdontneed = n;
                    case "harddecommit" -> harddecommit = n;
                    case "gcpacertrace" -> gcpacertrace = n;
                    case "checkptr" -> checkptr = n;
                    case "clobberfree" -> clobberfree = n;
                    case "gcquarantine" -> gcquarantine = n;
                    case "gcstoptrace" -> gcstoptrace = n;
                    default -> gccheckmark = n;
                }
            }
        }
        return new int[] {gctrace, invalidptr, gccheckmark, gcstoptheworld, scavtrace, madvdontneed, harddecommit,
                gcpacertrace, checkptr, clobberfree, gcquarantine, gcstoptrace};
    }

    /**
     * GOMAXPROCS from the system property {@code goheap.maxprocs}, else the environment: null when neither is set,
     * or when the value is below 1 (Go treats {@code GOMAXPROCS=0} and negative values as unset: the CPU count),
     * else an integer in [1, 1024].
     *
     * @throws IllegalArgumentException naming the value and its source when it is not an integer, or above 1024
     */
    static Integer gomaxprocs(Function<String, String> properties, Function<String, String> env) {
        String value = properties.apply(MAXPROCS_PROPERTY);
        if (isSet(value)) {
            return parseMaxProcs(value, property(MAXPROCS_PROPERTY));
        }
        value = env.apply("GOMAXPROCS");
        return isSet(value) ? parseMaxProcs(value, environment("GOMAXPROCS")) : null;
    }

    static Integer gomaxprocs(Function<String, String> env) {
        return gomaxprocs(name -> null, env);
    }

    /** As GOMAXPROCS: null below 1 (unset), an integer up to 1024, anything else an exception naming {@code source}. */
    static Integer parseMaxProcs(String value, String source) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n < 1) {
                return null;
            }
            if (n <= 1024) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(source + "=" + value + " is not an integer of at most 1024 (below 1: the"
                + " number of CPUs)");
    }

    private static boolean isSet(String value) {
        return value != null && !value.isEmpty();
    }
}
