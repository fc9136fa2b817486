package gns4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.train.MetricsLine.BatchChange;
import gns4j.train.MetricsLine.PeExample;

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

/**
 * The one reader of metrics.jsonl, for a run that may still be writing it or was killed. It keeps what can be used
 * and says what it skipped, so that the report can show a damaged run and an experiment can refuse one
 * ({@link #requireIntact}).
 *
 * @param steps       the step lines in increasing step order; a resumed run's repeated steps keep the later copy
 * @param damaged     lines that are no JSON object, and values of the wrong type (which read as missing)
 * @param cutShort    whether the last line was partial (a run killed while writing it); it is not read
 * @param events      lines with an "event" key by kind: no step lines
 * @param withoutStep lines without a whole, positive step
 * @param superseded  step lines replaced by a later line with the same or an earlier step
 */
public record MetricsFile(Path file, List<MetricsLine> steps, List<Damage> damaged, boolean cutShort,
                          Map<String, Integer> events, int withoutStep, int superseded) {

    /** A damaged line ({@code key} null) or a value of the wrong type under {@code key}; lines count from 1. */
    public record Damage(int line, String key) {
        @Override
        public String toString() { return "line " + line + (key == null ? " is not a JSON object" : ": bad " + key); }
    }

    /** Reads {@code file}; a missing or unreadable file is a {@link UserError}, bad content is not. */
    public static MetricsFile read(Path file) {
        String text;
        try {
            // decoded with replacement rather than Files.readString, which throws on a single bad byte
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        }
        String[] lines = text.split("\n", -1);
        boolean partialLast = !text.endsWith("\n"), cutShort = false;
        List<MetricsLine> steps = new ArrayList<>();
        List<Damage> damaged = new ArrayList<>();
        Map<String, Integer> events = new TreeMap<>();
        int withoutStep = 0, superseded = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            JsonObject o;
            try {
                o = JsonParser.parseString(line).getAsJsonObject();
            } catch (RuntimeException e) {
                if (i == lines.length - 1 && partialLast) cutShort = true;
                else damaged.add(new Damage(i + 1, null));
                continue;
            }
            if (o.has("event")) { // e.g. a batch size change; it may carry a step but is no step line
                JsonElement kind = o.get("event");
                events.merge(kind.isJsonPrimitive() ? kind.getAsString() : "?", 1, Integer::sum);
                continue;
            }
            Fields f = new Fields(o, i + 1, damaged);
            Double step = f.num("step");
            if (step == null || !(step >= 1) || step != Math.rint(step)) {
                withoutStep++;
                continue;
            }
            MetricsLine m = f.line(step.longValue());
            while (!steps.isEmpty() && steps.getLast().step() >= m.step()) {
                steps.removeLast();
                superseded++;
            }
            steps.add(m);
        }
        return new MetricsFile(file, List.copyOf(steps), List.copyOf(damaged), cutShort, events, withoutStep,
                superseded);
    }

    /** Throws a one-line {@link UserError} naming the file and line of the first damage, if any. */
    public MetricsFile requireIntact() {
        if (!damaged.isEmpty()) throw new UserError(file + ": " + damaged.getFirst());
        return this;
    }

    /** Reads the keys of one line; a value of the wrong type is recorded as damage and read as missing. */
    private record Fields(JsonObject o, int line, List<Damage> damaged) {
        MetricsLine line(long step) {
            return new MetricsLine(step, whole("tokens"), num("loss"), num("val_loss"), num("lr"),
                    integer("batch_size"), integer("micro_batches"), integer("micro_batch"), num("tok_per_s"),
                    num("elapsed_s"), num("grad_norm"), num("gns_total"), num("gns_ln"), numMap("gns_type"),
                    numMap("gns_layer"), numArray("pe_norm_total"), numArray("pe_norm_ln"), examples(),
                    batchChange(), num("gns_ddp"), string("skip_reason"));
        }

        Double num(String key) { return num(o.get(key), key); }

        private Double num(JsonElement e, String key) {
            if (e == null || e.isJsonNull()) return null;
            if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
                double v = e.getAsDouble();
                if (Double.isFinite(v)) return v;
            }
            damaged.add(new Damage(line, key));
            return null;
        }

        private Long whole(String key) {
            Double v = num(key);
            if (v == null) return null;
            if (v == Math.rint(v) && Math.abs(v) < 0x1p53) return v.longValue();
            damaged.add(new Damage(line, key));
            return null;
        }

        private Integer integer(String key) {
            Long v = whole(key);
            if (v == null || v == v.intValue()) return v == null ? null : v.intValue();
            damaged.add(new Damage(line, key));
            return null;
        }

        private String string(String key) {
            JsonElement e = o.get(key);
            if (e == null || e.isJsonNull()) return null;
            if (e.isJsonPrimitive()) return e.getAsString();
            damaged.add(new Damage(line, key));
            return null;
        }

        private JsonElement member(String key, boolean object) {
            JsonElement e = o.get(key);
            if (e == null || e.isJsonNull()) return null;
            if (object ? e.isJsonObject() : e.isJsonArray()) return e;
            damaged.add(new Damage(line, key));
            return null;
        }

        private Map<String, Double> numMap(String key) {
            JsonElement e = member(key, true);
            if (e == null) return Map.of();
            Map<String, Double> m = new LinkedHashMap<>();
            for (var entry : e.getAsJsonObject().entrySet()) {
                Double v = num(entry.getValue(), key);
                if (v != null) m.put(entry.getKey(), v);
            }
            return m;
        }

        private double[] numArray(String key) {
            JsonElement e = member(key, false);
            if (e == null) return new double[0];
            double[] out = new double[e.getAsJsonArray().size()];
            int n = 0;
            for (JsonElement el : e.getAsJsonArray()) out[n++] = MetricsLine.orNaN(num(el, key));
            return out;
        }

        /** The step's pe_examples; an entry without a whole, non-negative offset is damage and left out. */
        private List<PeExample> examples() {
            JsonElement e = member("pe_examples", false);
            if (e == null) return List.of();
            List<PeExample> out = new ArrayList<>();
            for (JsonElement el : e.getAsJsonArray()) {
                if (!el.isJsonObject()) {
                    damaged.add(new Damage(line, "pe_examples"));
                    continue;
                }
                JsonObject x = el.getAsJsonObject();
                Double offset = num(x.get("offset"), "pe_examples.offset");
                if (offset == null) continue;
                if (!(offset >= 0 && offset == Math.rint(offset) && offset < 0x1p53)) {
                    damaged.add(new Damage(line, "pe_examples.offset"));
                    continue;
                }
                out.add(new PeExample(offset.longValue(), MetricsLine.orNaN(num(x.get("norm_total"), "pe_examples.norm_total")),
                        MetricsLine.orNaN(num(x.get("norm_ln"), "pe_examples.norm_ln"))));
            }
            return List.copyOf(out);
        }

        private BatchChange batchChange() {
            JsonElement e = member("batch_change", true);
            if (e == null) return null;
            Fields c = new Fields(e.getAsJsonObject(), line, damaged);
            return new BatchChange(c.integer("from"), c.integer("to"), c.num("gns"));
        }
    }
}
