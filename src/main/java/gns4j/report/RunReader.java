package gns4j.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Reads a run folder (config.json, metrics.jsonl, summary.json) written by the trainer, possibly while it is still
 * running or after it was killed. Nothing here throws on bad content: whatever cannot be used is skipped and
 * described in {@link Run#notes()}, so the report shows what exists and says what does not.
 */
public final class RunReader {
    private RunReader() {}

    public static Run read(Path dir) {
        List<String> notes = new ArrayList<>();
        Map<String, String> config = readConfig(dir.resolve("config.json"), notes);
        List<StepRecord> steps = readMetrics(dir.resolve("metrics.jsonl"), notes);
        Path abs = dir.toAbsolutePath().normalize();
        String name = abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
        return new Run(name, dir, config, List.copyOf(steps), Files.isRegularFile(dir.resolve("summary.json")),
                List.copyOf(notes));
    }

    private static Map<String, String> readConfig(Path file, List<String> notes) {
        if (!Files.isRegularFile(file)) {
            notes.add("config.json missing");
            return Map.of();
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            if (!root.isJsonObject()) throw new IllegalStateException("not a JSON object");
            Map<String, String> config = new LinkedHashMap<>();
            root.getAsJsonObject().entrySet().forEach(e -> config.put(e.getKey(),
                    e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : e.getValue().toString()));
            return config;
        } catch (IOException | RuntimeException e) {
            notes.add("config.json unreadable, ignored");
            return Map.of();
        }
    }

    private static List<StepRecord> readMetrics(Path file, List<String> notes) {
        if (!Files.isRegularFile(file)) {
            notes.add("metrics.jsonl missing: no training metrics");
            return List.of();
        }
        String text;
        try {
            // decoded with replacement rather than Files.readString, which throws on a single bad byte
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            notes.add("metrics.jsonl unreadable: " + e.getMessage());
            return List.of();
        }
        String[] lines = text.split("\n", -1);
        boolean cutShort = !text.endsWith("\n");
        Fields fields = new Fields();
        List<StepRecord> steps = new ArrayList<>();
        List<Integer> badLines = new ArrayList<>();
        Map<String, Integer> events = new TreeMap<>();
        int noStep = 0, superseded = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            JsonObject o;
            try {
                o = JsonParser.parseString(line).getAsJsonObject();
            } catch (RuntimeException e) {
                if (i == lines.length - 1 && cutShort) {
                    notes.add("last line of metrics.jsonl cut short (run killed while writing?), skipped");
                } else {
                    badLines.add(i + 1);
                }
                continue;
            }
            if (o.has("event")) { // e.g. a batch size change; it may carry a step but is no step record
                JsonElement kind = o.get("event");
                events.merge(kind.isJsonPrimitive() ? kind.getAsString() : "?", 1, Integer::sum);
                continue;
            }
            double step = fields.num(o, "step");
            if (!(step >= 1)) {
                noStep++;
                continue;
            }
            StepRecord r = fields.record(o, (long) step);
            // a run resumed from a checkpoint repeats steps; the later records are the ones the model went on with
            while (!steps.isEmpty() && steps.getLast().step() >= r.step()) {
                steps.removeLast();
                superseded++;
            }
            steps.add(r);
        }
        if (!badLines.isEmpty()) {
            String shown = badLines.stream().limit(5).map(String::valueOf).collect(Collectors.joining(", "));
            notes.add("metrics.jsonl: " + badLines.size() + " line(s) not valid JSON, skipped (line " + shown
                    + (badLines.size() > 5 ? ", ..." : "") + ")");
        }
        if (noStep > 0) notes.add(noStep + " record(s) without a numeric step skipped");
        if (superseded > 0) notes.add(superseded + " record(s) replaced by a resumed run repeating their steps");
        if (!events.isEmpty()) {
            notes.add("event records not plotted: " + events.entrySet().stream()
                    .map(e -> e.getKey() + " ×" + e.getValue()).collect(Collectors.joining(", ")));
        }
        if (!fields.junk.isEmpty()) {
            notes.add("non-numeric values ignored: " + fields.junk.entrySet().stream()
                    .map(e -> e.getKey() + " ×" + e.getValue()).collect(Collectors.joining(", ")));
        }
        if (steps.isEmpty()) notes.add("metrics.jsonl has no step records");
        return steps;
    }

    /** Reads values leniently: absent or null is NaN (or empty); anything else that is no finite number is junk. */
    private static final class Fields {
        final Map<String, Integer> junk = new TreeMap<>();

        StepRecord record(JsonObject o, long step) {
            return new StepRecord(step, num(o, "tokens"), num(o, "loss"), num(o, "val_loss"), num(o, "lr"),
                    num(o, "batch_size"), num(o, "micro_batches"), num(o, "tok_per_s"), num(o, "elapsed_s"),
                    num(o, "grad_norm"), num(o, "gns_total"), num(o, "gns_ln"), numMap(o, "gns_type"),
                    numMap(o, "gns_layer"), numArray(o, "pe_norm_total"), numArray(o, "pe_norm_ln"),
                    examples(o, step));
        }

        double num(JsonObject o, String key) { return num(o.get(key), key); }

        private double num(JsonElement e, String key) {
            if (e == null || e.isJsonNull()) return Double.NaN;
            if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
                double v = e.getAsDouble();
                if (Double.isFinite(v)) return v;
            }
            junk.merge(key, 1, Integer::sum);
            return Double.NaN;
        }

        /** The step's pe_examples; an entry without a whole, non-negative offset is junk and skipped. */
        private List<PeExample> examples(JsonObject o, long step) {
            JsonElement e = o.get("pe_examples");
            if (e == null || e.isJsonNull()) return List.of();
            if (!e.isJsonArray()) {
                junk.merge("pe_examples", 1, Integer::sum);
                return List.of();
            }
            List<PeExample> out = new ArrayList<>();
            for (JsonElement el : e.getAsJsonArray()) {
                if (!el.isJsonObject()) {
                    junk.merge("pe_examples", 1, Integer::sum);
                    continue;
                }
                JsonObject x = el.getAsJsonObject();
                double offset = num(x.get("offset"), "pe_examples.offset"); // null or junk: NaN
                if (!(offset >= 0 && offset == Math.rint(offset) && offset < 0x1p53)) {
                    if (!Double.isNaN(offset)) junk.merge("pe_examples.offset", 1, Integer::sum);
                    continue;
                }
                out.add(new PeExample(step, (long) offset, num(x.get("norm_total"), "pe_examples.norm_total"),
                        num(x.get("norm_ln"), "pe_examples.norm_ln")));
            }
            return List.copyOf(out);
        }

        private Map<String, Double> numMap(JsonObject o, String key) {
            JsonElement e = o.get(key);
            if (e == null || e.isJsonNull()) return Map.of();
            if (!e.isJsonObject()) {
                junk.merge(key, 1, Integer::sum);
                return Map.of();
            }
            Map<String, Double> m = new LinkedHashMap<>();
            for (var entry : e.getAsJsonObject().entrySet()) {
                double v = num(entry.getValue(), key);
                if (!Double.isNaN(v)) m.put(entry.getKey(), v);
            }
            return m;
        }

        private double[] numArray(JsonObject o, String key) {
            JsonElement e = o.get(key);
            if (e == null || e.isJsonNull()) return new double[0];
            if (!e.isJsonArray()) {
                junk.merge(key, 1, Integer::sum);
                return new double[0];
            }
            double[] out = new double[e.getAsJsonArray().size()];
            int n = 0;
            for (JsonElement el : e.getAsJsonArray()) {
                if (el.isJsonNull()) continue; // the trainer writes a non-finite norm as null
                double v = num(el, key);
                if (!Double.isNaN(v)) out[n++] = v;
            }
            return Arrays.copyOf(out, n);
        }
    }
}
