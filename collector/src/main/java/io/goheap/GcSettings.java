package io.goheap;

import java.util.function.Function;

/**
 * GOGC, GOMEMLIMIT, GODEBUG and GOMAXPROCS as Go reads them, from a builder's values or else the environment. A malformed
 * value is an {@link IllegalArgumentException} naming the variable and the value (Go silently falls back to a
 * default; a JVM service would rather fail at start-up than run with a setting it did not ask for). Immutable.
 */
record GcSettings(int gcPercent, boolean gctrace, boolean invalidptr, boolean gccheckmark, boolean gcstoptheworld,
                  boolean scavtrace, DecommitMode decommitMode, long memoryLimit, boolean gcpacertrace) {

    static GcSettings resolve(Integer gcPercent, String godebug, Function<String, String> env) {
        return resolve(gcPercent, null, godebug, env);
    }

    /** Builder values where given (null: not set), else the environment's. */
    static GcSettings resolve(Integer gcPercent, Long memoryLimit, String godebug, Function<String, String> env) {
        int percent = gcPercent != null ? gcPercent : parseGogc(env.apply("GOGC"));
        long limit = memoryLimit != null ? memoryLimit : parseMemoryLimit(env.apply("GOMEMLIMIT"));
        String debug = godebug != null ? godebug : env.apply("GODEBUG");
        int[] flags = parseGodebug(debug == null ? "" : debug);
        DecommitMode mode = flags[6] > 0 ? DecommitMode.HARD
                : flags[5] == 0 ? DecommitMode.FREE : DecommitMode.DONTNEED;      // as Go reads them
        return new GcSettings(percent, flags[0] > 0, flags[1] != 0, flags[2] > 0, flags[3] > 0, flags[4] > 0, mode,
                limit, flags[7] > 0);
    }

    /** No memory limit (Go's math.MaxInt64). */
    static final long NO_LIMIT = Long.MAX_VALUE;

    /**
     * GOMEMLIMIT: unset, empty or "off" → no limit; else a non-negative integer count of bytes with an optional
     * unit suffix B, KiB, MiB, GiB or TiB (powers of 1024, case as written), e.g. {@code 512MiB}, as Go's. Anything
     * else, and a value beyond {@code Long.MAX_VALUE} bytes, is an {@link IllegalArgumentException} naming the value.
     */
    static long parseMemoryLimit(String value) {
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
            throw new IllegalArgumentException("GOMEMLIMIT=" + value + " is malformed: expected \"off\" or a byte "
                    + "count with an optional unit B, KiB, MiB, GiB or TiB, such as 512MiB");
        }
        long n;
        try {
            n = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("GOMEMLIMIT=" + value + " is larger than " + Long.MAX_VALUE + " bytes");
        }
        if (shift > 0 && n > Long.MAX_VALUE >> shift) {
            throw new IllegalArgumentException("GOMEMLIMIT=" + value + " is larger than " + Long.MAX_VALUE + " bytes");
        }
        return n << shift;
    }

    /** GOGC: unset or empty → 100; "off" → -1; else a non-negative integer. */
    static int parseGogc(String value) {
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
            throw new IllegalArgumentException("GOGC=" + value + " is neither \"off\" nor an integer percentage");
        }
    }

    /**
     * GODEBUG: {@code key=value} pairs separated by commas; returns {gctrace, invalidptr, gccheckmark,
     * gcstoptheworld, scavtrace, madvdontneed, harddecommit, gcpacertrace}. Keys goheap does not know are ignored, as Go ignores
     * them.
     */
    static int[] parseGodebug(String value) {
        int gctrace = 0;
        int invalidptr = 1;
        int gccheckmark = 0;
        int gcstoptheworld = 0;
        int scavtrace = 0;
        int madvdontneed = 1;          // Go's default on Linux
        int harddecommit = 0;
        int gcpacertrace = 0;
        for (String pair : value.split(",")) {
            String p = pair.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("GODEBUG entry \"" + p + "\" is not key=value (in GODEBUG=" + value + ")");
            }
            String key = p.substring(0, eq);
            String v = p.substring(eq + 1);
            if (key.equals("gctrace") || key.equals("invalidptr") || key.equals("gccheckmark")
                    || key.equals("gcstoptheworld") || key.equals("scavtrace") || key.equals("madvdontneed")
                    || key.equals("harddecommit") || key.equals("gcpacertrace")) {
                int n;
                try {
                    n = Integer.parseInt(v.trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("GODEBUG " + key + "=" + v + " is not an integer");
                }
                switch (key) {
                    case "gctrace" -> gctrace = n;
                    case "invalidptr" -> invalidptr = n;
                    case "gcstoptheworld" -> gcstoptheworld = n;
                    case "scavtrace" -> scavtrace = n;
                    case "madvdontneed" -> madvdontneed = n;
                    case "harddecommit" -> harddecommit = n;
                    case "gcpacertrace" -> gcpacertrace = n;
                    default -> gccheckmark = n;
                }
            }
        }
        return new int[] {gctrace, invalidptr, gccheckmark, gcstoptheworld, scavtrace, madvdontneed, harddecommit,
                gcpacertrace};
    }

    /**
     * GOMAXPROCS from the environment: null when unset, empty or below 1 (Go treats {@code GOMAXPROCS=0} and
     * negative values as unset: the CPU count), else an integer in [1, 1024].
     *
     * @throws IllegalArgumentException naming the value when it is not an integer, or above 1024
     */
    static Integer gomaxprocs(Function<String, String> env) {
        String value = env.apply("GOMAXPROCS");
        if (value == null || value.isEmpty()) {
            return null;
        }
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
        throw new IllegalArgumentException("GOMAXPROCS=" + value + " is not an integer of at most 1024 (below 1: the"
                + " number of CPUs)");
    }
}
