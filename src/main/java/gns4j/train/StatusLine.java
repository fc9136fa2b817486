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

    void step(int step, int maxSteps, double loss, Double valLoss, double lr, int batch, double tokPerS,
              Double gnsTotal, Double gnsLn) {
        String line = String.format("step %d/%d | loss %.4f%s | lr %.2e | batch %d | %s tok/s | GNS total %s | GNS LN %s",
                step, maxSteps, loss, valLoss == null ? "" : String.format(" | val %.4f", valLoss), lr, batch,
                compact(tokPerS), fmt(gnsTotal), fmt(gnsLn));
        if (terminal) {
            out.print("\r\033[K" + line);
            open = true;
        } else out.println(line);
        out.flush();
    }

    void done() {
        if (open) out.println();
        open = false;
    }

    private static String fmt(Double v) { return v == null ? "-" : String.format("%.4g", v); }

    private static String compact(double v) { return v >= 1e4 ? String.format("%.1fk", v / 1e3) : String.format("%.0f", v); }
}
