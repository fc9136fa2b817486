package gns4j.measure;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.gns.GnsMeasurement;
import gns4j.gns.GnsTracker;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-batch gradient statistics written by any program, read for {@code measure --from-stats}: one JSON object per
 * line and batch, {@code {"batch_size": B, "groups": {"total": {"pe_sq_mean": S, "grad_sq": G}, ...}}} with
 * S = (1/B) Σ_b |g_b|² and G = |G_B|² per group, and optionally {@code "tokens_per_example": T}. The format is
 * described in docs/gns-stats-format.md.
 *
 * @param file             the file read
 * @param groups           one measurement per group, in the order of the first line, each with one sample per batch
 * @param batchSizes       B of every batch, in file order
 * @param tokensPerExample T when the file gives it, else 0
 */
public record GnsStatsFile(Path file, Map<String, GnsMeasurement> groups, List<Integer> batchSizes,
                           int tokensPerExample) {

    public GnsStatsFile {
        groups = Collections.unmodifiableMap(new LinkedHashMap<>(groups));
        batchSizes = List.copyOf(batchSizes);
    }

    public int batches() { return batchSizes.size(); }

    public int minBatchSize() { return Collections.min(batchSizes); }

    public int maxBatchSize() { return Collections.max(batchSizes); }

    /** The mean batch size, rounded: what the critical batch size is compared with. */
    public int meanBatchSize() {
        return (int) Math.round(batchSizes.stream().mapToInt(Integer::intValue).average().orElse(0));
    }

    /**
     * Reads and checks every line; blank lines are skipped, keys other than the documented ones ignored.
     *
     * @throws UserError naming file:line for the first bad line, or the file for fewer than 2 batches
     */
    public static GnsStatsFile read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (CharacterCodingException e) {
            throw new UserError(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage());
        }
        Map<String, GnsMeasurement> groups = new LinkedHashMap<>();
        List<Integer> batchSizes = new ArrayList<>();
        int tokensPerExample = -1; // -1: no batch read yet
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            String where = file + ":" + (i + 1) + ": ";
            try {
                Batch b = Batch.parse(lines.get(i));
                if (groups.isEmpty()) {
                    b.groups.keySet().forEach(id -> groups.put(id, new GnsMeasurement()));
                    tokensPerExample = b.tokensPerExample;
                } else if (!b.groups.keySet().equals(groups.keySet())) {
                    throw new IllegalArgumentException("its groups differ from the first batch's: " + difference(groups, b.groups));
                } else if (b.tokensPerExample != tokensPerExample) {
                    throw new IllegalArgumentException("tokens_per_example differs from the first batch's");
                }
                b.groups.forEach((id, s) -> groups.get(id).add(b.batchSize, s[0], s[1]));
                batchSizes.add(b.batchSize);
            } catch (JsonParseException e) {
                throw new UserError(where + "not valid JSON", e);
            } catch (IllegalArgumentException e) { // a value the checks or the estimator refuse
                throw new UserError(where + e.getMessage(), e);
            }
        }
        if (batchSizes.size() < 2)
            throw new UserError(file + ": " + batchSizes.size() + " batch(es); an interval needs at least 2");
        return new GnsStatsFile(file, groups, batchSizes, tokensPerExample);
    }

    private static String difference(Map<String, ?> first, Map<String, ?> line) {
        List<String> missing = first.keySet().stream().filter(k -> !line.containsKey(k)).toList();
        List<String> extra = line.keySet().stream().filter(k -> !first.containsKey(k)).toList();
        return (missing.isEmpty() ? "" : "missing " + missing) + (missing.isEmpty() || extra.isEmpty() ? "" : ", ")
                + (extra.isEmpty() ? "" : "new " + extra);
    }

    /** One line: B, per group {S, G}, and T (0 when absent). */
    private record Batch(int batchSize, Map<String, double[]> groups, int tokensPerExample) {

        static Batch parse(String line) {
            JsonElement root = JsonParser.parseString(line);
            if (!root.isJsonObject()) throw new IllegalArgumentException("not a JSON object");
            JsonObject o = root.getAsJsonObject();
            int batchSize = integer(o, "batch_size", 2);
            int tokens = o.has("tokens_per_example") ? integer(o, "tokens_per_example", 1) : 0;
            JsonElement g = o.get("groups");
            if (g == null || !g.isJsonObject() || g.getAsJsonObject().isEmpty())
                throw new IllegalArgumentException("\"groups\" must be a non-empty object of group -> {pe_sq_mean, grad_sq}");
            Map<String, double[]> groups = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : g.getAsJsonObject().entrySet()) {
                if (e.getKey().isBlank()) throw new IllegalArgumentException("a group without a name");
                if (!e.getValue().isJsonObject())
                    throw new IllegalArgumentException("group \"" + e.getKey() + "\" must be an object {pe_sq_mean, grad_sq}");
                JsonObject s = e.getValue().getAsJsonObject();
                String name = "groups." + e.getKey() + ".";
                groups.put(e.getKey(), new double[]{squaredNorm(s, "pe_sq_mean", name), squaredNorm(s, "grad_sq", name)});
            }
            if (!groups.containsKey(GnsTracker.TOTAL))
                throw new IllegalArgumentException("no \"" + GnsTracker.TOTAL + "\" group (all parameters)");
            return new Batch(batchSize, groups, tokens);
        }

        private static int integer(JsonObject o, String key, int min) {
            double v = number(o, key, key);
            if (v != Math.rint(v) || v < min || v > Integer.MAX_VALUE)
                throw new IllegalArgumentException(key + " must be an integer >= " + min + ", got " + o.get(key));
            return (int) v;
        }

        private static double squaredNorm(JsonObject o, String key, String prefix) {
            double v = number(o, key, prefix + key);
            if (v < 0) throw new IllegalArgumentException(prefix + key + " must be >= 0 (a squared norm), got " + v);
            return v;
        }

        private static double number(JsonObject o, String key, String name) {
            JsonElement e = o.get(key);
            if (e == null) throw new IllegalArgumentException("no " + name);
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber() || !Double.isFinite(e.getAsDouble()))
                throw new IllegalArgumentException(name + " must be a finite number, got " + e);
            return e.getAsDouble();
        }
    }
}
