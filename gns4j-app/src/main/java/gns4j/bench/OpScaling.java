package gns4j.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import gns4j.backend.cpu.Profile;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SortedMap;

/**
 * The per-op thread-scaling table of {@code bench cpu} with -Dgns4j.cpu.profile=true: each op's wall ms per measured
 * step at every thread count n, its share of the step at the most threads N, and its scaling efficiency
 * n0·t(n0) / (n·t(n)) against the fewest threads n0 (1 unless --threads leaves it out). Rows are sorted by the wall time
 * lost to imperfect scaling at N, t(N) − n0·t(n0)/N (the order of N·t(N) − n0·t(n0)), so the top row is the first to
 * fix; the step time no op covers is its own row, {@value #UNATTRIBUTED}, and ops that never ran are left out.
 */
record OpScaling(int[] threads, List<Row> rows, Row step) {
    static final String UNATTRIBUTED = "(unattributed)";

    /** One op's wall milliseconds per step at each thread count of {@link #threads}. */
    record Row(String op, double[] ms) {}

    /** The table of one profile sample per thread count, each summed over {@code steps} measured steps. */
    static OpScaling of(SortedMap<Integer, Profile.Sample> samples, int steps) {
        int[] threads = samples.keySet().stream().mapToInt(Integer::intValue).toArray();
        List<Profile.Sample> s = List.copyOf(samples.values());
        List<Row> rows = new ArrayList<>();
        for (String op : s.getFirst().ms().keySet()) {
            double[] ms = new double[threads.length];
            for (int i = 0; i < ms.length; i++) ms[i] = s.get(i).ms().get(op) / steps;
            if (Arrays.stream(ms).anyMatch(x -> x > 0)) rows.add(new Row(op, ms));
        }
        double[] wall = new double[threads.length], rest = new double[threads.length];
        for (int i = 0; i < wall.length; i++) {
            wall[i] = s.get(i).wallMs() / steps;
            rest[i] = wall[i] - s.get(i).ms().values().stream().mapToDouble(Double::doubleValue).sum() / steps;
        }
        rows.add(new Row(UNATTRIBUTED, rest));
        OpScaling table = new OpScaling(threads, rows, new Row("step", wall));
        rows.sort(Comparator.comparingDouble(table::lost).reversed());
        return table;
    }

    /** n0·t(n0) / (n·t(n)) at the i-th thread count; NaN where the op took no time. */
    double efficiency(Row r, int i) { return r.ms[i] > 0 ? threads[0] * r.ms[0] / (threads[i] * r.ms[i]) : Double.NaN; }

    /** Wall ms per step the op loses to imperfect scaling at the most threads N: t(N) − n0·t(n0)/N. */
    double lost(Row r) {
        int last = threads.length - 1;
        return r.ms[last] - threads[0] * r.ms[0] / threads[last];
    }

    /** The op's share of the step at the most threads. */
    double share(Row r) { return r.ms[threads.length - 1] / step.ms[threads.length - 1]; }

    void print(PrintStream out) {
        int n = threads.length, most = threads[n - 1];
        out.printf("  per-op profile, norms off, wall ms per measured step; eff = %d·t(%d)/(n·t(n)); lost = t(%d) − %d·t(%d)/%d%n",
                threads[0], threads[0], most, threads[0], threads[0], most);
        StringBuilder head = new StringBuilder(String.format("    %-36s", "operation"));
        for (int t : threads) head.append(String.format(" %9s", "ms@" + t));
        head.append(String.format(" %7s", "share"));
        for (int i = 1; i < n; i++) head.append(String.format(" %7s", "eff@" + threads[i]));
        out.println(head.append(String.format(" %9s", "lost ms")));
        for (Row r : rows) printRow(out, r);
        printRow(out, step);
    }

    private void printRow(PrintStream out, Row r) {
        StringBuilder line = new StringBuilder(String.format("    %-36s", r.op));
        for (double ms : r.ms) line.append(String.format(" %9.2f", ms));
        line.append(String.format(" %6.1f%%", 100 * share(r)));
        for (int i = 1; i < threads.length; i++) line.append(String.format(" %6.0f%%", 100 * efficiency(r, i)));
        out.println(line.append(String.format(" %9.2f", lost(r))));
    }

    /**
     * {"threads": [..], "rows": [{"op", "ms_per_step": {"n": ms}, "share", "efficiency": {"n": e}, "lost_ms"}, ..],
     * "step": the same for the whole step}, rows in printed order.
     */
    JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray t = new JsonArray(), rowsJson = new JsonArray();
        for (int n : threads) t.add(n);
        o.add("threads", t);
        for (Row r : rows) rowsJson.add(rowJson(r));
        o.add("rows", rowsJson);
        o.add("step", rowJson(step));
        return o;
    }

    private JsonObject rowJson(Row r) {
        JsonObject o = new JsonObject(), ms = new JsonObject(), eff = new JsonObject();
        o.addProperty("op", r.op);
        for (int i = 0; i < threads.length; i++) {
            ms.addProperty("" + threads[i], round(r.ms[i]));
            if (i > 0 && r.ms[i] > 0) eff.addProperty("" + threads[i], round(efficiency(r, i)));
        }
        o.add("ms_per_step", ms);
        o.addProperty("share", round(share(r)));
        o.add("efficiency", eff);
        o.addProperty("lost_ms", round(lost(r)));
        return o;
    }

    private static double round(double x) { return Math.round(x * 1000) / 1000.0; }
}
