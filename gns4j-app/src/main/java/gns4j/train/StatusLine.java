package gns4j.train;

import java.io.PrintStream;

/**
 * Progress of a run on stderr: one line rewritten in place on a terminal, one line per report otherwise
 * (logs, CI). Notices are always full lines.
 */
public final class StatusLine {
    private final PrintStream out;
    private final boolean terminal;
    private boolean open;
    /** The first position this line reported: the time left is extrapolated from the pace since then. */
    private Position origin;

    public StatusLine(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    public static StatusLine stderr() { return new StatusLine(System.err, interactive()); }

    /** Whether this process runs on a terminal (since JDK 22 System.console() exists when redirected too). */
    public static boolean interactive() {
        var console = System.console();
        return console != null && console.isTerminal();
    }

    public void notice(String message) {
        done();
        out.println(message);
    }

    /**
     * Where a run stands after a step: its limits are max_steps and max_tokens (0 = none), and the one reached first
     * ends it; {@code elapsedS} is the run's wall time so far.
     */
    record Position(int step, int maxSteps, long tokens, long maxTokens, double elapsedS) {
        /** Share of the run done: the larger of the step and token shares, since the first limit reached ends it. */
        double fraction() {
            double bySteps = (double) step / maxSteps;
            return Math.min(1, maxTokens > 0 ? Math.max(bySteps, (double) tokens / maxTokens) : bySteps);
        }
    }

    /**
     * One report: where the run stands, the step's figures, and the training GNS with the window its moving average
     * spans ({@code window} null while no GNS is defined).
     */
    void step(Position at, double loss, Double valLoss, double lr, int batch, double tokPerS, Double gnsTotal, Double gnsLn,
              GnsWindow window) {
        // A new origin for each run; the first reported step also carries the start-up, so the pace is measured after it.
        if (origin == null || at.step() <= origin.step()) origin = at;
        boolean gnsDefined = gnsTotal != null || gnsLn != null;
        String line = String.format("%s (%s) | loss %.4f%s | lr %.2e | batch %d | %s tok/s | GNS total %s | GNS LN %s%s",
                position(at), progress(origin, at), loss, valLoss == null ? "" : String.format(" | val %.4f", valLoss),
                lr, batch, compact(tokPerS), fmt(gnsTotal), fmt(gnsLn),
                gnsDefined && window != null ? " (" + window.describe() + ")" : "");
        if (terminal) {
            out.print("\r\033[K" + line);
            open = true;
        } else out.println(line);
        out.flush();
    }

    /** "step 5/50", or "step 5, 40.0k/50.0k tokens" when the token budget is what ends the run first. */
    static String position(Position at) {
        boolean byTokens = at.maxTokens() > 0 && (double) at.tokens() / at.maxTokens() >= (double) at.step() / at.maxSteps();
        return byTokens ? String.format("step %d, %s/%s tokens", at.step(), compact(at.tokens()), compact(at.maxTokens()))
                : "step " + at.step() + "/" + at.maxSteps();
    }

    /** "80%, 12s left": percent done and the time left at the pace from {@code from} to {@code at}; no time until known. */
    static String progress(Position from, Position at) {
        double done = at.fraction(), gained = done - from.fraction();
        String percent = (int) Math.floor(done * 100) + "%";
        if (gained <= 0 || done >= 1) return percent;
        double left = (at.elapsedS() - from.elapsedS()) / gained * (1 - done);
        return percent + ", " + duration(left) + " left";
    }

    /** 45s, 4m05s, 2h03m. */
    public static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return String.format("%dm%02ds", s / 60, s % 60);
        return String.format("%dh%02dm", s / 3600, s % 3600 / 60);
    }

    void done() {
        if (open) out.println();
        open = false;
    }

    private static String fmt(Double v) { return v == null ? "-" : String.format("%.4g", v); }

    /** 950, 12.3k, 4.1M. */
    static String compact(double v) {
        return v >= 1e6 ? String.format("%.1fM", v / 1e6) : v >= 1e4 ? String.format("%.1fk", v / 1e3) : String.format("%.0f", v);
    }
}
