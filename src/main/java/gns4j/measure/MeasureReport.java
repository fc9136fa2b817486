package gns4j.measure;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import gns4j.gns.GnsTracker;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The output of {@code gns4j measure}: a human-readable table ({@link #table}) or one JSON object ({@link #json}).
 *
 * @param measurement what was measured
 * @param results     per group id, GNS with interval (in sequences)
 * @param confidence  nominal coverage of the intervals
 * @param method      interval method
 * @param source      where the weights came from, e.g. "fresh init (seed 1337)"
 * @param device      backend name
 * @param dataFile    the token file the windows came from (offsets refer to it)
 * @param seed        data-sampling and bootstrap seed
 * @param highest     the top-K examples by total norm, with snippets
 * @param lowest      the bottom-K examples by total norm, with snippets
 * @param showTensors whether the table lists every tensor too (JSON always does)
 */
public record MeasureReport(ModelMeasurement measurement, Map<String, GnsResult> results, double confidence,
                            IntervalMethod method, String source, String device, String dataFile, long seed,
                            List<Ranked> highest, List<Ranked> lowest, boolean showTensors) {

    /** An example of the top-K lists with its decoded text. */
    public record Ranked(ExampleNorm example, String snippet) {}

    public MeasureReport {
        results = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(results)); // keeps group order
        highest = List.copyOf(highest);
        lowest = List.copyOf(lowest);
    }

    private static final String TOTAL = GnsTracker.TOTAL, LN = GnsTracker.LN;

    /** The human-readable report. */
    public String table() {
        ModelMeasurement m = measurement;
        int T = m.blockSize(), pct = (int) Math.round(confidence * 100);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "gns4j measure: %d batches x %d sequences x %d tokens = %,d tokens from %s; %s; %s; "
                        + "mean loss %.4f; %.1f s%n", m.batches(), m.batchSize(), T, m.tokens(), dataFile, source, device,
                m.meanLoss(), m.seconds()));
        sb.append(String.format(Locale.ROOT, "GNS = mean tr(Σ) / mean |G|² over the batches (ratio of means), in sequences;"
                + " %d%% interval: %s%s%n%n", pct, method.description(),
                method == IntervalMethod.BOOTSTRAP ? " (" + GnsMeasurement.BOOTSTRAP_RESAMPLES + " resamples)" : ""));
        String head = String.format(Locale.ROOT, "%-24s %10s  %-23s %15s  %10s  %10s  %s%n", "group", "GNS",
                pct + "% interval", "B_simple tokens", "|G|²", "tr(Σ)", "batches to halve");
        sb.append(head);
        for (Map.Entry<String, GnsResult> e : results.entrySet()) {
            if (e.getKey().startsWith("tensor/") && !showTensors) continue;
            GnsResult r = e.getValue();
            sb.append(String.format(Locale.ROOT, "%-24s %10s  %-23s %15s  %10.3e  %10.3e  %s%n", e.getKey(),
                    r.gns() == null ? "-" : num(r.gns()), "[" + num(r.low()) + ", " + num(r.high()) + "]",
                    r.gns() == null ? "-" : String.format(Locale.ROOT, "%,.0f", r.gns() * T), r.gradSq(),
                    r.traceSigma(), r.batchesToHalve() == null ? "-" : r.batchesToHalve().toString()));
        }
        sb.append('\n');
        GnsResult total = results.get(TOTAL);
        if (total.gns() != null) {
            sb.append(String.format(Locale.ROOT, "critical batch size (B_simple, all parameters): %s sequences = %s tokens"
                            + " (%d%% interval %s to %s sequences)%n", num(total.gns()),
                    String.format(Locale.ROOT, "%,.0f", total.gns() * T), pct, num(total.low()), num(total.high())));
            sb.append(total.gns() > m.batchSize()
                    ? String.format(Locale.ROOT, "  above the measured batch of %d: larger batches should still use compute well%n", m.batchSize())
                    : String.format(Locale.ROOT, "  at or below the measured batch of %d: larger batches would mostly waste compute%n", m.batchSize()));
            if (total.batchesToHalve() != null)
                sb.append(String.format(Locale.ROOT, "  about --batches %d would halve the interval's width%n", total.batchesToHalve()));
            else
                sb.append("  the interval is unbounded: measure more batches (or larger ones)\n");
        } else {
            sb.append("critical batch size: undefined, the mean |G|² estimate is <= 0 (noise swamps the signal);"
                    + " measure more or larger batches\n");
        }
        GnsResult ln = results.get(LN);
        if (ln != null && ln.gns() != null && total.gns() != null)
            sb.append(String.format(Locale.ROOT, "  LayerNorm-only GNS %s (ratio to total %.2f)%n", num(ln.gns()), ln.gns() / total.gns()));

        sb.append(String.format(Locale.ROOT, "%nper-example gradient norms, %d examples:%n", m.examples().size()));
        sb.append("  total    ").append(distribution(m.examples(), ExampleNorm::normTotal)).append('\n');
        sb.append("  norms    ").append(distribution(m.examples(), ExampleNorm::normLn)).append('\n');
        ranked(sb, "highest", highest);
        ranked(sb, "lowest", lowest);
        return sb.toString();
    }

    private void ranked(StringBuilder sb, String which, List<Ranked> list) {
        if (list.isEmpty()) return;
        sb.append(String.format(Locale.ROOT, "%n%s total per-example gradient norm (offsets in %s):%n", which, dataFile));
        sb.append(String.format(Locale.ROOT, "  %3s  %10s  %10s  %13s  %s%n", "#", "norm total", "norm LN", "offset", "text"));
        int i = 1;
        for (Ranked r : list)
            sb.append(String.format(Locale.ROOT, "  %3d  %10.4g  %10.4g  %,13d  %s%n", i++, r.example().normTotal(),
                    r.example().normLn(), r.example().offset(), r.snippet()));
    }

    private static String distribution(List<ExampleNorm> ex, Function<ExampleNorm, Double> f) {
        double[] v = ex.stream().mapToDouble(f::apply).sorted().toArray();
        if (v.length == 0) return "-";
        return String.format(Locale.ROOT, "min %.4g  p10 %.4g  median %.4g  p90 %.4g  max %.4g", v[0],
                RatioInterval.quantile(v, 0.1), RatioInterval.quantile(v, 0.5), RatioInterval.quantile(v, 0.9),
                v[v.length - 1]);
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

    /** The report as one pretty-printed JSON object (unbounded interval ends and undefined values are null). */
    public String json() {
        ModelMeasurement m = measurement;
        int T = m.blockSize();
        JsonObject o = new JsonObject();
        o.addProperty("source", source);
        o.addProperty("device", device);
        o.addProperty("data_file", dataFile);
        var c = m.layout().config;
        JsonObject model = new JsonObject();
        model.addProperty("n_layer", c.nLayer());
        model.addProperty("n_head", c.nHead());
        model.addProperty("n_embd", c.nEmbd());
        model.addProperty("block_size", c.blockSize());
        model.addProperty("vocab_size", c.vocabSize());
        model.addProperty("parameters", m.layout().numParameters());
        o.add("model", model);
        o.addProperty("batches", m.batches());
        o.addProperty("batch_size", m.batchSize());
        o.addProperty("micro_batch_size", m.microBatchSize());
        o.addProperty("block_size", T);
        o.addProperty("tokens", m.tokens());
        o.addProperty("seed", seed);
        o.add("mean_loss", number(m.meanLoss()));
        o.addProperty("seconds", m.seconds());
        o.addProperty("estimator", "GNS = mean tr(Sigma) / mean |G|^2 over batches (ratio of means), in sequences");
        JsonObject interval = new JsonObject();
        interval.addProperty("method", method.key());
        interval.addProperty("description", method.description());
        interval.addProperty("confidence", confidence);
        if (method == IntervalMethod.BOOTSTRAP) interval.addProperty("resamples", GnsMeasurement.BOOTSTRAP_RESAMPLES);
        o.add("interval", interval);
        JsonObject groups = new JsonObject();
        for (Map.Entry<String, GnsResult> e : results.entrySet()) {
            GnsResult r = e.getValue();
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
        JsonObject perBatch = new JsonObject();
        for (String id : List.of(TOTAL, LN)) {
            if (!m.groups().groupIds().contains(id)) continue;
            JsonArray arr = new JsonArray();
            for (BatchGnsSample s : m.groups().group(id).samples()) {
                JsonObject b = new JsonObject();
                b.add("grad_sq", number(s.gradSq()));
                b.add("trace_sigma", number(s.traceSigma()));
                arr.add(b);
            }
            perBatch.add(id, arr);
        }
        o.add("per_batch", perBatch);
        JsonArray examples = new JsonArray();
        for (ExampleNorm e : m.examples()) examples.add(example(e, null));
        o.add("examples", examples);
        JsonObject top = new JsonObject();
        top.add("highest", rankedJson(highest));
        top.add("lowest", rankedJson(lowest));
        o.add("top", top);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create().toJson(o);
    }

    private static JsonArray rankedJson(List<Ranked> list) {
        JsonArray arr = new JsonArray();
        for (Ranked r : list) arr.add(example(r.example(), r.snippet()));
        return arr;
    }

    private static JsonObject example(ExampleNorm e, String snippet) {
        JsonObject x = new JsonObject();
        x.addProperty("batch", e.batch());
        x.addProperty("index", e.index());
        x.addProperty("offset", e.offset());
        x.add("norm_total", number(e.normTotal()));
        x.add("norm_ln", number(e.normLn()));
        if (snippet != null) x.addProperty("text", snippet);
        return x;
    }

    private static JsonElement number(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }
}
