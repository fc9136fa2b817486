package gns4j.measure;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import gns4j.gns.GnsResult;
import gns4j.gns.IntervalMethod;
import gns4j.gns.Quantiles;

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

    /** The human-readable report. */
    public String table() {
        ModelMeasurement m = measurement;
        int T = m.blockSize();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "gns4j measure: %d batches x %d sequences x %d tokens = %,d tokens from %s; %s; %s; "
                        + "mean loss %.4f; %.1f s%n", m.batches(), m.batchSize(), T, m.tokens(), dataFile, source, device,
                m.meanLoss(), m.seconds()));
        gnsTable().appendTo(sb);
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
                Quantiles.ofSorted(v, 0.1), Quantiles.ofSorted(v, 0.5), Quantiles.ofSorted(v, 0.9),
                v[v.length - 1]);
    }

    /** The group table, in sequences of block_size tokens. */
    private GnsTable gnsTable() {
        return new GnsTable(results, GnsTable.totalAndLn(measurement.groups().byId()), confidence, method, "sequences",
                measurement.batchSize(), measurement.blockSize(), showTensors);
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
        model.addProperty("arch", c.arch().name().toLowerCase());
        model.addProperty("n_layer", c.nLayer());
        model.addProperty("n_head", c.nHead());
        model.addProperty("n_kv_head", c.nKvHead());
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
        o.add("mean_loss", GnsTable.number(m.meanLoss()));
        o.addProperty("seconds", m.seconds());
        gnsTable().addTo(o);
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
        x.add("norm_total", GnsTable.number(e.normTotal()));
        x.add("norm_ln", GnsTable.number(e.normLn()));
        if (snippet != null) x.addProperty("text", snippet);
        return x;
    }
}
