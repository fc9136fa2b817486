package gns4j.measure;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import gns4j.gns.BatchGnsSample;
import gns4j.gns.GnsMeasurement;
import gns4j.gns.GnsResult;
import gns4j.gns.GnsTracker;
import gns4j.gns.IntervalMethod;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The per-group part of {@code measure}'s output, the same for a model measured here and for batch statistics read
 * from a file: the GNS table with intervals, the critical batch size, and their JSON.
 *
 * @param results          per group id, GNS with interval in examples, in table order
 * @param perBatch         the per-batch samples of the groups whose batches the JSON lists
 * @param confidence       nominal coverage of the intervals
 * @param method           interval method
 * @param unit             what an example is, plural, e.g. "sequences"
 * @param batchSize        examples per measured batch (their mean when batches differ)
 * @param tokensPerExample tokens per example, for B_simple in tokens; 0 when unknown
 * @param showTensors      whether the table lists the "tensor/" groups (the JSON always does)
 */
record GnsTable(Map<String, GnsResult> results, Map<String, List<BatchGnsSample>> perBatch, double confidence,
                IntervalMethod method, String unit, int batchSize, int tokensPerExample, boolean showTensors) {

    GnsTable {
        results = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(results)); // keeps group order
        perBatch = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(perBatch));
        if (!results.containsKey(GnsTracker.TOTAL)) throw new IllegalArgumentException("no \"total\" group");
    }

    /** Of a grouped measurement: all its groups, with the per-batch samples of "total" and "ln". */
    static GnsTable of(Map<String, GnsMeasurement> groups, double confidence, IntervalMethod method, long seed,
                       String unit, int batchSize, int tokensPerExample, boolean showTensors) {
        Map<String, GnsResult> results = new java.util.LinkedHashMap<>();
        groups.forEach((id, m) -> results.put(id, m.result(confidence, method, seed)));
        return new GnsTable(results, totalAndLn(groups), confidence, method, unit, batchSize, tokensPerExample,
                showTensors);
    }

    /** The per-batch samples of "total" and of "ln" (where present), the groups whose batches the JSON lists. */
    static Map<String, List<BatchGnsSample>> totalAndLn(Map<String, GnsMeasurement> groups) {
        Map<String, List<BatchGnsSample>> out = new java.util.LinkedHashMap<>();
        for (String id : List.of(GnsTracker.TOTAL, GnsTracker.LN))
            if (groups.containsKey(id)) out.put(id, groups.get(id).samples());
        return out;
    }

    /** The estimator line, the table, and the critical batch size. */
    void appendTo(StringBuilder sb) {
        int pct = (int) Math.round(confidence * 100);
        sb.append(String.format(Locale.ROOT, "GNS = mean tr(Σ) / mean |G|² over the batches (ratio of means), in %s;"
                + " %d%% interval: %s%s%n%n", unit, pct, method.description(),
                method == IntervalMethod.BOOTSTRAP ? " (" + GnsMeasurement.BOOTSTRAP_RESAMPLES + " resamples)" : ""));
        sb.append(String.format(Locale.ROOT, "%-24s %10s  %-23s %15s  %10s  %10s  %s%n", "group", "GNS",
                pct + "% interval", "B_simple tokens", "|G|²", "tr(Σ)", "batches to halve"));
        for (Map.Entry<String, GnsResult> e : results.entrySet()) {
            if (e.getKey().startsWith("tensor/") && !showTensors) continue;
            GnsResult r = e.getValue();
            sb.append(String.format(Locale.ROOT, "%-24s %10s  %-23s %15s  %10.3e  %10.3e  %s%n", e.getKey(),
                    r.gns() == null ? "-" : num(r.gns()), "[" + num(r.low()) + ", " + num(r.high()) + "]",
                    r.gns() == null || tokensPerExample == 0 ? "-" : tokens(r.gns()), r.gradSq(),
                    r.traceSigma(), r.batchesToHalve() == null ? "-" : r.batchesToHalve().toString()));
        }
        sb.append('\n');
        GnsResult total = results.get(GnsTracker.TOTAL);
        if (total.gns() != null) {
            sb.append(String.format(Locale.ROOT, "critical batch size (B_simple, all parameters): %s %s%s (%d%% interval"
                            + " %s to %s %s)%n", num(total.gns()), unit,
                    tokensPerExample == 0 ? "" : " = " + tokens(total.gns()) + " tokens", pct, num(total.low()),
                    num(total.high()), unit));
            sb.append(total.gns() > batchSize
                    ? String.format(Locale.ROOT, "  above the measured batch of %d: larger batches should still use compute well%n", batchSize)
                    : String.format(Locale.ROOT, "  at or below the measured batch of %d: larger batches would mostly waste compute%n", batchSize));
            if (total.batchesToHalve() != null)
                sb.append(String.format(Locale.ROOT, "  about %d batches would halve the interval's width%n", total.batchesToHalve()));
            else
                sb.append("  the interval is unbounded: measure more batches (or larger ones)\n");
        } else {
            sb.append("critical batch size: undefined, the mean |G|² estimate is <= 0 (noise swamps the signal);"
                    + " measure more or larger batches\n");
        }
        GnsResult ln = results.get(GnsTracker.LN);
        if (ln != null && ln.gns() != null && total.gns() != null)
            sb.append(String.format(Locale.ROOT, "  LayerNorm-only GNS %s (ratio to total %.2f)%n", num(ln.gns()), ln.gns() / total.gns()));
    }

    private String tokens(double examples) {
        return String.format(Locale.ROOT, "%,.0f", examples * tokensPerExample);
    }

    /** Adds "estimator", "interval", "groups" and "per_batch" (unbounded ends and undefined values as null). */
    void addTo(JsonObject o) {
        o.addProperty("estimator", "GNS = mean tr(Sigma) / mean |G|^2 over batches (ratio of means), in " + unit);
        JsonObject interval = new JsonObject();
        interval.addProperty("method", method.key());
        interval.addProperty("description", method.description());
        interval.addProperty("confidence", confidence);
        if (method == IntervalMethod.BOOTSTRAP) interval.addProperty("resamples", GnsMeasurement.BOOTSTRAP_RESAMPLES);
        o.add("interval", interval);
        JsonObject groups = new JsonObject();
        for (Map.Entry<String, GnsResult> e : results.entrySet()) {
            GnsResult r = e.getValue();
            double T = tokensPerExample == 0 ? Double.NaN : tokensPerExample;
            JsonObject g = new JsonObject();
            g.add("gns", r.gns() == null ? JsonNull.INSTANCE : number(r.gns()));
            g.add("low", number(r.low()));
            g.add("high", number(r.high()));
            g.add("b_simple_tokens", r.gns() == null ? JsonNull.INSTANCE : number(r.gns() * T));
            g.add("b_simple_tokens_low", number(r.low() * T));
            g.add("b_simple_tokens_high", number(r.high() * T));
            g.add("grad_sq", number(r.gradSq()));
            g.add("trace_sigma", number(r.traceSigma()));
            g.add("batches_to_halve_interval", r.batchesToHalve() == null ? JsonNull.INSTANCE : new JsonPrimitive(r.batchesToHalve()));
            groups.add(e.getKey(), g);
        }
        o.add("groups", groups);
        JsonObject batches = new JsonObject();
        perBatch.forEach((id, samples) -> {
            JsonArray arr = new JsonArray();
            for (BatchGnsSample s : samples) {
                JsonObject b = new JsonObject();
                b.add("grad_sq", number(s.gradSq()));
                b.add("trace_sigma", number(s.traceSigma()));
                arr.add(b);
            }
            batches.add(id, arr);
        });
        o.add("per_batch", batches);
    }

    /** Three significant digits, thousands grouped, "inf" for unbounded ends. */
    static String num(double v) {
        if (Double.isNaN(v)) return "-";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        double a = Math.abs(v);
        if (a >= 100) return String.format(Locale.ROOT, "%,.0f", v);
        if (a >= 10) return String.format(Locale.ROOT, "%.1f", v);
        if (a >= 1) return String.format(Locale.ROOT, "%.2f", v);
        return String.format(Locale.ROOT, "%.3g", v);
    }

    static JsonElement number(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }
}
