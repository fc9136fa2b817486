package gns4j.experiment;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import gns4j.JsonFiles;
import gns4j.UserError;
import gns4j.train.TrainConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The JSON file of {@code gns4j experiment schedule --config FILE}. Relative paths are resolved against the working
 * directory (the repository root when run through {@code ./gns4j}).
 *
 * <pre>{@code
 * {
 *   "out_dir": "runs/schedule-cpu",                 // OUT: OUT/<arm>-seed<s>/ per run, OUT/results.md, ...
 *   "data_dir": "data/schedule-demo-byte",          // prepared dataset; made from "prepare" if it has no train.bin
 *   "prepare": {"inputs": ["demo"], "tokenizer": "byte", "val_fraction": 0.05},
 *                                                   // inputs: files/folders as for `gns4j prepare`, or "demo"
 *   "base": {"n_layer": 2, "max_tokens": 1e6, ...}, // train config keys shared by every arm (max_tokens required)
 *   "fixed_batches": [16, 32, 64, 128, 256],        // the baseline sweep: arms fixed-<B> (at least 2)
 *   "lr_factors": [0.5, 2],                         // the best fixed batch again at these multiples of the peak
 *                                                   // (and floor) LR: arms fixed-<B>-lr<f>, once the sweep is done
 *   "arms": {"ramp": {"batch_schedule": "linear_ramp", ...}, "adaptive": {...}},   // the schedules under test
 *                                                   // (a goodput arm may add "goodput_gpus": N, see GOODPUT_GPUS;
 *                                                   // any arm "lr_factor": f, see LR_FACTOR)
 *   "seeds": [1, 2, 3],                             // every arm runs every seed (at least 2)
 *   "estimators": {"batches": 32, "groups": 4, "batch_size": 32}   // measure pass, or {"batches": 0} for none
 * }
 * }</pre>
 * Arms may not change what must be equal across them: the model, the LR schedule, the token budget and the seed;
 * only the generated LR arms and arms with an explicit {@link #LR_FACTOR} change the LR, by that factor. Arm names starting with {@code fixed-} are reserved for the
 * sweep.
 */
public record ScheduleExperimentConfig(Path outDir, Path dataDir, List<String> prepareInputs, String tokenizer,
                                       double valFraction, Map<String, String> base,
                                       List<Integer> fixedBatches, List<Double> lrFactors,
                                       Map<String, Map<String, String>> arms, List<Long> seeds,
                                       int estimatorBatches, int estimatorGroups, int estimatorBatchSize) {

    /** The prefix of the sweep's arms: fixed-&lt;B&gt; and fixed-&lt;B&gt;-lr&lt;f&gt;. */
    public static final String FIXED = "fixed-";

    /** Keys an arm may not override: every model key, and what makes the runs comparable. */
    public static final Set<String> SHARED_KEYS = Stream.concat(TrainConfig.keys("model").stream(), Stream.of(
            "learning_rate", "min_lr", "lr_decay", "warmup_tokens", "decay_tokens", "max_tokens", "seed",
            "eval_sequences", "eval_interval_tokens", "device")).collect(Collectors.toUnmodifiableSet());

    /**
     * An arm key of the experiment, not of the trainer: a goodput arm with {@code "goodput_gpus": N} weighs the
     * throughput curve projected to N data-parallel GPUs instead of the measured one-device curve (it still trains on
     * one device; the projection of its runs to N GPUs then shows what that batch sequence buys there).
     */
    public static final String GOODPUT_GPUS = "goodput_gpus";

    /**
     * An arm key of the experiment: {@code "lr_factor": f} trains the arm at f times the base's peak and floor LR (the
     * LR arms of the best fixed batch are made this way), so a schedule can be LR-tuned like the fixed baseline it is
     * compared with.
     */
    public static final String LR_FACTOR = "lr_factor";

    /** The special prepare input for the corpus bundled in the jar. */
    public static final String DEMO_INPUT = "demo";

    private static final Set<String> TOP_KEYS = Set.of("out_dir", "data_dir", "prepare", "base", "fixed_batches",
            "lr_factors", "arms", "seeds", "estimators");

    public static ScheduleExperimentConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UserError("cannot read experiment config " + file + ": " + e.getMessage());
        }
        return parse(text, file.toString());
    }

    public static ScheduleExperimentConfig parse(String text, String source) {
        JsonElement parsed = JsonFiles.parse(text, source);
        if (!parsed.isJsonObject()) throw new UserError(source + " must hold one JSON object");
        JsonObject root = parsed.getAsJsonObject();
        for (String k : root.keySet())
            if (!TOP_KEYS.contains(k)) throw new UserError(source + ": unknown key '" + k + "' (expected one of " + TOP_KEYS + ")");
        Path out = path(root, "out_dir", source);
        Path data = path(root, "data_dir", source);
        List<String> inputs = new ArrayList<>();
        String tokenizer = "gpt2";
        double valFraction = 0.05;
        if (root.has("prepare")) {
            JsonObject p = object(root, "prepare", source);
            for (String k : p.keySet())
                if (!Set.of("inputs", "tokenizer", "val_fraction").contains(k))
                    throw new UserError(source + ": unknown key 'prepare." + k + "'");
            if (p.has("inputs"))
                for (JsonElement e : array(p, "inputs", source)) {
                    if (!(e instanceof JsonPrimitive s) || !s.isString())
                        throw new UserError(source + ": prepare.inputs must hold strings, got " + e);
                    inputs.add(s.getAsString());
                }
            tokenizer = string(p, "tokenizer", source, tokenizer);
            if (p.has("val_fraction")) {
                if (!(p.get("val_fraction") instanceof JsonPrimitive f) || !f.isNumber())
                    throw new UserError(source + ": prepare.val_fraction must be a number, got " + p.get("val_fraction"));
                valFraction = f.getAsDouble();
            }
        }
        Map<String, String> base = flat(object(root, "base", source), source + " base");
        for (String k : base.keySet()) if (k.equals("seed")) throw new UserError(source + ": base sets seed; use \"seeds\"");
        if (!base.containsKey("max_tokens"))
            throw new UserError(source + ": base must set max_tokens (the token budget every arm shares)");
        List<Integer> fixedBatches = new ArrayList<>();
        for (JsonElement e : array(root, "fixed_batches", source)) {
            int b = integer(e, source + ": fixed_batches");
            if (b < 1 || fixedBatches.contains(b)) throw new UserError(source + ": fixed_batches must be distinct positive sizes, got " + e);
            fixedBatches.add(b);
        }
        if (fixedBatches.size() < 2) throw new UserError(source + ": fixed_batches needs at least 2 batch sizes (the baseline is the best of a sweep)");
        List<Double> lrFactors = new ArrayList<>();
        if (root.has("lr_factors"))
            for (JsonElement e : array(root, "lr_factors", source)) {
                double f = e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsDouble() : Double.NaN;
                if (!(f > 0) || f == 1 || lrFactors.contains(f))
                    throw new UserError(source + ": lr_factors must be distinct positive numbers other than 1, got " + e);
                lrFactors.add(f);
            }
        Map<String, Map<String, String>> arms = new LinkedHashMap<>();
        JsonObject armsJson = object(root, "arms", source);
        for (String name : armsJson.keySet()) {
            if (!name.matches("[A-Za-z0-9_.-]+"))
                throw new UserError(source + ": arm name '" + name + "' must be letters, digits, '_', '.' or '-'");
            if (name.startsWith(FIXED)) throw new UserError(source + ": arm name '" + name + "' starts with " + FIXED
                    + ", which names the fixed_batches sweep");
            if (!armsJson.get(name).isJsonObject()) throw new UserError(source + ": arm " + name + " must be an object of config keys");
            Map<String, String> o = flat(armsJson.getAsJsonObject(name), source + " arm " + name);
            if (o.containsKey(GOODPUT_GPUS)) {
                int n;
                try {
                    n = Integer.parseInt(o.get(GOODPUT_GPUS));
                } catch (NumberFormatException e) {
                    n = 0;
                }
                if (n < 1 || !"goodput".equals(o.get("adaptive_policy")) || o.containsKey("throughput_curve"))
                    throw new UserError(source + ": arm " + name + ": " + GOODPUT_GPUS + " must be a GPU count >= 1, in an arm with "
                            + "adaptive_policy goodput and no throughput_curve, got " + o.get(GOODPUT_GPUS));
            }
            if (o.containsKey(LR_FACTOR) && !(parseOrNaN(o.get(LR_FACTOR)) > 0))
                throw new UserError(source + ": arm " + name + ": " + LR_FACTOR + " must be a number > 0, got " + o.get(LR_FACTOR));
            for (String k : o.keySet())
                if (SHARED_KEYS.contains(k))
                    throw new UserError(source + ": arm " + name + " overrides " + k
                            + ", which must be the same in every arm (set it in base)");
            arms.put(name, o);
        }
        List<Long> seeds = new ArrayList<>();
        for (JsonElement e : array(root, "seeds", source)) {
            long s;
            try {
                s = e.getAsLong();
            } catch (RuntimeException ex) {
                throw new UserError(source + ": seeds must be integers, got " + e);
            }
            if (seeds.contains(s)) throw new UserError(source + ": seed " + s + " listed twice");
            seeds.add(s);
        }
        if (seeds.size() < 2) throw new UserError(source + ": seeds needs at least 2 seeds, got " + seeds.size());
        int batches = 32, groups = 4, batchSize = 0;
        if (root.has("estimators")) {
            JsonObject e = object(root, "estimators", source);
            for (String k : e.keySet())
                if (!Set.of("batches", "groups", "batch_size").contains(k))
                    throw new UserError(source + ": unknown key 'estimators." + k + "'");
            if (e.has("batches")) batches = integer(e.get("batches"), source + ": estimators.batches");
            if (e.has("groups")) groups = integer(e.get("groups"), source + ": estimators.groups");
            if (e.has("batch_size")) batchSize = integer(e.get("batch_size"), source + ": estimators.batch_size");
        }
        if (batches != 0 && (groups < 2 || batches % (2 * groups) != 0))
            throw new UserError(source + ": estimators.batches (" + batches + ") must be 0 or a multiple of 2 × groups ("
                    + groups + "), groups >= 2");
        ScheduleExperimentConfig c = new ScheduleExperimentConfig(out, data, List.copyOf(inputs), tokenizer, valFraction,
                base, List.copyOf(fixedBatches), List.copyOf(lrFactors), arms, List.copyOf(seeds), batches, groups, batchSize);
        c.trainConfigs(null); // every arm's config must be valid before anything runs
        c.trainConfigs(c.lrArms(fixedBatches.getFirst()), null, List.of());
        return c;
    }

    /**
     * The arms that do not depend on results: fixed-&lt;B&gt; for every batch of the sweep, then the configured arms;
     * each as its overrides of base.
     */
    public Map<String, Map<String, String>> plannedArms() {
        Map<String, Map<String, String>> all = new LinkedHashMap<>();
        for (int b : fixedBatches) all.put(fixedArm(b), Map.of("batch_schedule", "fixed", "batch_size", Integer.toString(b)));
        all.putAll(arms);
        return all;
    }

    /** The LR arms of the best fixed batch {@code best}: fixed-&lt;B&gt;-lr&lt;f&gt;, peak and floor LR times f. */
    public Map<String, Map<String, String>> lrArms(int best) {
        Map<String, Map<String, String>> all = new LinkedHashMap<>();
        for (double f : lrFactors)
            all.put(fixedArm(best) + "-lr" + fmt(f), Map.of("batch_schedule", "fixed", "batch_size", Integer.toString(best),
                    LR_FACTOR, Double.toString(f)));
        return all;
    }

    /** learning_rate and min_lr of base times f, as config overrides. */
    private List<String> scaledLr(double f) {
        double lr = Double.parseDouble(base.getOrDefault("learning_rate", TrainConfig.defaults().optimizer().learningRate() + ""));
        double minLr = Double.parseDouble(base.getOrDefault("min_lr", TrainConfig.defaults().optimizer().minLr() + ""));
        return List.of("learning_rate=" + lr * f, "min_lr=" + minLr * f);
    }

    private static double parseOrNaN(String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    public static String fixedArm(int batch) { return FIXED + batch; }

    private static String fmt(double f) { return f == Math.rint(f) ? Long.toString((long) f) : Double.toString(f); }

    /** Each planned arm's train config for {@code seed} (the first seed when null), in arm order, checked for equal budgets. */
    public Map<String, TrainConfig> trainConfigs(Long seed) {
        return trainConfigs(plannedArms(), seed, List.of());
    }

    /** The train configs of {@code armOverrides} for {@code seed}, with {@code extra} ("key=value") applied to every arm. */
    public Map<String, TrainConfig> trainConfigs(Map<String, Map<String, String>> armOverrides, Long seed, List<String> extra) {
        Map<String, TrainConfig> out = new LinkedHashMap<>();
        for (var arm : armOverrides.entrySet()) {
            List<String> kv = new ArrayList<>();
            base.forEach((k, v) -> kv.add(k + "=" + v));
            arm.getValue().forEach((k, v) -> { if (!k.equals(GOODPUT_GPUS) && !k.equals(LR_FACTOR)) kv.add(k + "=" + v); });
            if (arm.getValue().containsKey(LR_FACTOR)) kv.addAll(scaledLr(Double.parseDouble(arm.getValue().get(LR_FACTOR))));
            kv.add("seed=" + (seed == null ? seeds.getFirst() : seed));
            kv.addAll(extra);
            TrainConfig cfg;
            try {
                // One construction (not defaults().with(...)), so derived defaults such as batch_size_min follow the final values.
                cfg = TrainConfig.load(null, kv);
            } catch (UserError e) {
                throw new UserError("arm " + arm.getKey() + ": " + e.getMessage());
            }
            // max_steps must not end a run before the token budget does, or the arms would not see equal tokens.
            long reachable = cfg.batch().batchSchedule() == TrainConfig.BatchScheduleType.ADAPTIVE
                    ? (long) cfg.run().maxSteps() * cfg.batch().minResolved() * cfg.model().blockSize()
                    : maxStepsTokens(cfg);
            if (reachable < cfg.run().maxTokens())
                throw new UserError("arm " + arm.getKey() + ": max_steps (" + cfg.run().maxSteps() + ") can end the run before max_tokens ("
                        + cfg.run().maxTokens() + "); raise max_steps so that the token budget ends every run");
            out.put(arm.getKey(), cfg);
        }
        return out;
    }

    /** Tokens that max_steps steps of a non-adaptive schedule process. */
    private static long maxStepsTokens(TrainConfig cfg) {
        return cfg.with("max_tokens=0").plannedTokens();
    }

    /** The run folder of one arm and seed. */
    public Path runDir(String arm, long seed) { return outDir.resolve(arm + "-seed" + seed); }

    private static int integer(JsonElement e, String where) {
        try {
            return new java.math.BigDecimal(e.getAsString()).intValueExact();
        } catch (RuntimeException ex) {
            throw new UserError(where + " must be an integer, got " + e);
        }
    }

    private static Map<String, String> flat(JsonObject o, String where) {
        Map<String, String> m = new LinkedHashMap<>();
        for (var e : o.entrySet()) {
            if (!(e.getValue() instanceof JsonPrimitive p))
                throw new UserError(where + ": key " + e.getKey() + " must be a number, string or boolean, got " + e.getValue());
            m.put(e.getKey(), p.getAsString());
        }
        return m;
    }

    private static String string(JsonObject o, String key, String source, String dflt) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            if (dflt == null) throw new UserError(source + ": missing key '" + key + "'");
            return dflt;
        }
        if (!(e instanceof JsonPrimitive p) || !p.isString()) throw new UserError(source + ": " + key + " must be a string");
        return p.getAsString();
    }

    private static Path path(JsonObject o, String key, String source) {
        String text = string(o, key, source, null);
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new UserError(source + ": " + key + " is not a valid path: " + e.getReason());
        }
    }

    private static JsonObject object(JsonObject o, String key, String source) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonObject()) throw new UserError(source + ": '" + key + "' must be a JSON object");
        return e.getAsJsonObject();
    }

    private static JsonArray array(JsonObject o, String key, String source) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonArray()) throw new UserError(source + ": '" + key + "' must be a JSON array");
        return e.getAsJsonArray();
    }
}
