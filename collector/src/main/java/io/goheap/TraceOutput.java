package io.goheap;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Where the GODEBUG trace lines ({@code gctrace}, {@code gcpacertrace}, {@code scavtrace}) go: standard error by
 * default, as Go prints them, or a {@link System.Logger} chosen with {@link Heap.Builder#traceLogger}. The tracers
 * write to a {@link PrintStream} either way; {@link #toLogger} gives one that logs each complete line as one record
 * at {@link System.Logger.Level#INFO}, the line's text unchanged and without its line break.
 *
 * <p>Thread-safety: {@link PrintStream} serializes its writes on itself, and every tracer writes a whole line with
 * one {@code println}, so the line buffer below is only touched under that stream's lock and records never mix
 * two lines.
 */
final class TraceOutput {
    private TraceOutput() {
    }

    /** A stream whose every line becomes an INFO record of {@code logger}. */
    static PrintStream toLogger(System.Logger logger) {
        return new PrintStream(new LineLogger(Objects.requireNonNull(logger, "logger")), false, StandardCharsets.UTF_8);
    }

    /** Collects bytes up to a line break, then logs them as one line. */
    private static final class LineLogger extends OutputStream {
        private final System.Logger logger;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream(160);

        LineLogger(System.Logger logger) {
            this.logger = logger;
        }

        @Override
        public void write(int b) {
            if (b == '\n') {
                int end = line.size();
                byte[] bytes = line.toByteArray();
                if (end > 0 && bytes[end - 1] == '\r') {
                    end--;
                }
                line.reset();
                logger.log(System.Logger.Level.INFO, new String(bytes, 0, end, StandardCharsets.UTF_8));
            } else {
                line.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            Objects.checkFromIndexSize(off, len, b.length);
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }
    }
}
