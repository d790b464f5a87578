package io.goheap;

import java.util.function.Function;

/**
 * GOGC, GODEBUG and GOMAXPROCS as Go reads them, from a builder's values or else the environment. A malformed
 * value is an {@link IllegalArgumentException} naming the variable and the value (Go silently falls back to a
 * default; a JVM service would rather fail at start-up than run with a setting it did not ask for). Immutable.
 */
record GcSettings(int gcPercent, boolean gctrace, boolean invalidptr, boolean gccheckmark, boolean gcstoptheworld,
                  boolean gcpacertrace) {

    static GcSettings resolve(Integer gcPercent, String godebug, Function<String, String> env) {
        int percent = gcPercent != null ? gcPercent : parseGogc(env.apply("GOGC"));
        String debug = godebug != null ? godebug : env.apply("GODEBUG");
        int[] flags = parseGodebug(debug == null ? "" : debug);
        return new GcSettings(percent, flags[0] > 0, flags[1] != 0, flags[2] > 0, flags[3] > 0, flags[4] > 0);   // as Go reads them
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
     * GODEBUG: {@code key=value} pairs separated by commas; returns {gctrace, invalidptr, gccheckmark, gcstoptheworld,
     * gcpacertrace}. Keys
     * goheap does not know are ignored, as Go ignores them.
     */
    static int[] parseGodebug(String value) {
        int gctrace = 0;
        int invalidptr = 1;
        int gccheckmark = 0;
        int gcstoptheworld = 0;
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
                    || key.equals("gcstoptheworld") || key.equals("gcpacertrace")) {
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
                    case "gcpacertrace" -> gcpacertrace = n;
                    default -> gccheckmark = n;
                }
            }
        }
        return new int[] {gctrace, invalidptr, gccheckmark, gcstoptheworld, gcpacertrace};
    }

    /** GOMAXPROCS from the environment: null when unset, else an integer in [1, 1024]. */
    static Integer gomaxprocs(Function<String, String> env) {
        String value = env.apply("GOMAXPROCS");
        if (value == null || value.isEmpty()) {
            return null;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 1 && n <= 1024) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("GOMAXPROCS=" + value + " is not an integer in [1, 1024]");
    }
}
