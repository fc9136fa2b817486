package gns4j.measure;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import gns4j.gns.IntervalMethod;

import java.util.Locale;

/**
 * The output of {@code measure --from-stats}: the GNS table of {@code measure} ({@link #table}) or its JSON
 * ({@link #json}) for batch statistics that another program wrote. There are no per-example norms to list.
 *
 * @param stats       the batches read
 * @param confidence  nominal coverage of the intervals
 * @param method      interval method
 * @param seed        bootstrap seed (measure's seed gives measure's intervals on the same batches)
 * @param showTensors whether the table lists the "tensor/" groups too (the JSON always does)
 */
public record StatsReport(GnsStatsFile stats, double confidence, IntervalMethod method, long seed,
                          boolean showTensors) {

    private GnsTable gnsTable() {
        return GnsTable.of(stats.groups(), confidence, method, seed, "examples", stats.meanBatchSize(),
                stats.tokensPerExample(), showTensors);
    }

    public String table() {
        int T = stats.tokensPerExample();
        String batches = stats.minBatchSize() == stats.maxBatchSize()
                ? String.format(Locale.ROOT, "%d batches x %d examples", stats.batches(), stats.minBatchSize())
                : String.format(Locale.ROOT, "%d batches of %d to %d examples (mean %d)", stats.batches(),
                stats.minBatchSize(), stats.maxBatchSize(), stats.meanBatchSize());
        long examples = stats.batchSizes().stream().mapToLong(Integer::longValue).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "gns4j measure --from-stats: %s%s from %s; "
                + "bootstrap seed %d%n", batches,
                T == 0 ? "" : String.format(Locale.ROOT, " x %d tokens = %,d tokens", T, examples * T), stats.file(), seed));
        gnsTable().appendTo(sb);
        return sb.toString();
    }

    /** One pretty-printed JSON object with measure's "groups" and "per_batch" (unknown values are null). */
    public String json() {
        JsonObject o = new JsonObject();
        o.addProperty("source", stats.file().toString());
        o.addProperty("batches", stats.batches());
        o.addProperty("batch_size", stats.meanBatchSize());
        JsonArray range = new JsonArray();
        range.add(stats.minBatchSize());
        range.add(stats.maxBatchSize());
        o.add("batch_size_range", range);
        o.add("tokens_per_example", stats.tokensPerExample() == 0 ? JsonNull.INSTANCE : new JsonPrimitive(stats.tokensPerExample()));
        o.addProperty("seed", seed);
        gnsTable().addTo(o);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create().toJson(o);
    }
}
