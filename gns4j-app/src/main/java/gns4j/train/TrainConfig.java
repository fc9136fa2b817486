package gns4j.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.backend.NormTracking;
import gns4j.model.Arch;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.util.Map.entry;

/**
 * Every setting of a training run, in sections: {@link ModelSettings}, {@link BatchSettings},
 * {@link OptimizerSettings}, {@link RunSettings}, {@link GnsSettings} and {@link DataParallelSettings}. Users type
 * flat keys: each component of a section is one key, spelled in snake_case in JSON files and {@code --set key=value}
 * overrides ({@code nEmbd} is {@code n_embd}); the sections' order, then their components', is the order of
 * {@link #toJson()}. Each section validates its own keys on construction and this record the rules that span
 * sections, so a TrainConfig that exists is usable; every problem is a one-line {@link UserError} that names the key.
 *
 * <p>{@code bias}, {@code norm} and {@code tied_head} default to {@code auto}, the architecture's own choice
 * ({@link #ARCH_DEFAULTS}); the record holds the resolved value. The trainer stores the max_micro_batch it resolved in
 * the run's config.json, so a resumed run splits its batches the same way.
 */
public record TrainConfig(ModelSettings model, BatchSettings batch, OptimizerSettings optimizer, RunSettings run,
                          GnsSettings gns, DataParallelSettings dataParallel) {

    public enum BatchScheduleType { FIXED, LINEAR_RAMP, ADAPTIVE }

    /** Which smoothed GNS drives the adaptive batch schedule: the norm layers' alone (the paper's) or all tensors'. */
    public enum AdaptiveSource { LN, TOTAL }

    public enum Device { CPU, CUDA, AUTO }

    static final Map<String, String> DEFAULTS = Map.ofEntries(
            entry("arch", "gpt2"), entry("n_layer", "4"), entry("n_head", "4"), entry("n_embd", "128"),
            entry("block_size", "128"), entry("vocab_size", "0"), entry("bias", "auto"), entry("norm", "auto"),
            entry("tied_head", "auto"), entry("n_kv_head", "0"), entry("rope_theta", "10000"), entry("ffn_hidden", "0"),
            entry("micro_batch_size", "auto"), entry("max_micro_batch", "auto"), entry("batch_multiple", "8"),
            entry("batch_size", "8"), entry("batch_schedule", "fixed"),
            entry("batch_size_start", "0"), entry("ramp_tokens", "0"),
            entry("batch_size_min", "0"), entry("adaptive_k", "1.0"), entry("adaptive_source", "ln"),
            entry("adaptive_interval", "50"), entry("adaptive_allow_decrease", "false"),
            entry("adaptive_policy", "k_gns"), entry("throughput_curve", ""),
            entry("learning_rate", "6e-4"), entry("min_lr", "6e-5"), entry("lr_decay", "cosine"),
            entry("warmup_tokens", "0"), entry("decay_tokens", "0"), entry("lr_batch_exponent", "0"), entry("weight_decay", "0.1"),
            entry("beta1", "0.9"), entry("beta2", "0.95"), entry("adam_eps", "1e-8"), entry("grad_clip", "1.0"),
            entry("max_steps", "1000"), entry("max_tokens", "0"), entry("eval_interval", "100"),
            entry("eval_interval_tokens", "0"), entry("eval_sequences", "80"), entry("log_interval", "1"), entry("pe_log_interval", "10"),
            entry("seed", "1337"), entry("threads", "0"), entry("tensorboard_dir", ""),
            entry("checkpoint_interval", "250"), entry("keep_checkpoints", "3"), entry("max_bad_steps", "5"), entry("device", "cpu"),
            entry("gns_alpha", "0.99"), entry("per_example_norms", "all"), entry("linear_norm_method", "auto"),
            entry("grad_overlap", "true"), entry("grad_bucket_mb", "25"));

    /** What {@code auto} means for bias, norm and tied_head, per architecture: GPT-2's, and Llama's (untied head). */
    static final Map<Arch, Map<String, String>> ARCH_DEFAULTS = Map.of(
            Arch.GPT2, Map.of("bias", "true", "norm", "layernorm", "tied_head", "true"),
            Arch.LLAMA, Map.of("bias", "false", "norm", "rmsnorm", "tied_head", "false"));

    /** Integer keys whose 0 ("derive it") is written and read as {@code auto}. */
    static final java.util.Set<String> AUTO_KEYS = java.util.Set.of("micro_batch_size", "max_micro_batch");

    /** One config key: the section that holds it and its component there. */
    private record Slot(String key, RecordComponent section, RecordComponent field) {
        Object get(TrainConfig c) {
            try {
                return field.getAccessor().invoke(section.getAccessor().invoke(c));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static final RecordComponent[] SECTIONS = TrainConfig.class.getRecordComponents();
    private static final List<Slot> SLOTS = slots();
    static final List<String> KEYS = SLOTS.stream().map(Slot::key).toList();

    private static List<Slot> slots() {
        List<Slot> slots = new ArrayList<>();
        for (RecordComponent section : SECTIONS)
            for (RecordComponent field : section.getType().getRecordComponents())
                slots.add(new Slot(snake(field.getName()), section, field));
        return slots;
    }

    /** The rules that span sections. */
    public TrainConfig {
        if (batch.batchSchedule() == BatchScheduleType.ADAPTIVE) {
            check(run.maxTokens() > 0, "max_tokens",
                    "must be > 0 with batch_schedule=adaptive: it is the token budget and the LR schedule's horizon");
            check(gns.perExampleNorms() != NormTracking.OFF, "per_example_norms",
                    "must be ln or all with batch_schedule=adaptive (the schedule follows the GNS)");
            check(batch.adaptiveSource() != AdaptiveSource.TOTAL || gns.perExampleNorms() == NormTracking.ALL,
                    "adaptive_source", "total needs per_example_norms=all (got " + format(gns.perExampleNorms()) + ")");
        }
    }

    /** All defaults. */
    public static TrainConfig defaults() { return fromMap(new LinkedHashMap<>(DEFAULTS)); }

    /** Every config key, in section order. */
    public static List<String> keys() { return KEYS; }

    /** Every config key of the section {@code section} (a component of this record: model, batch, ...), in order. */
    public static List<String> keys(String section) {
        return SLOTS.stream().filter(s -> s.section().getName().equals(section)).map(Slot::key).toList();
    }

    /** The sections' names (model, batch, optimizer, run, gns, dataParallel), in order. */
    public static List<String> sections() { return Arrays.stream(SECTIONS).map(RecordComponent::getName).toList(); }

    /** A key's default as written in a config file (0 for "derive it", auto for the micro-batch keys). */
    public static String defaultValue(String key) { return DEFAULTS.get(key); }

    /**
     * Defaults, then the flat JSON object in {@code json} (null for none), then {@code overrides} ("key=value",
     * later ones win). One construction at the end, so derived defaults follow the final values.
     */
    public static TrainConfig load(Path json, List<String> overrides) {
        Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
        if (json != null) {
            ConfigText.putJson(values, ConfigText.read(json), json.toString());
        }
        ConfigText.putOverrides(values, overrides);
        return fromMap(values);
    }

    /** Defaults overlaid with a flat JSON object such as {@link #toJson()} wrote. */
    public static TrainConfig fromJson(String json) {
        Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
        ConfigText.putJson(values, json, "config JSON");
        return fromMap(values);
    }

    /**
     * This config with {@code overrides} ("key=value") applied, as the command line applies them: values that were
     * derived (auto, a batch_size_start of 0) are derived again from the new values. A batch_size_start given equal
     * to the derived one counts as derived.
     */
    public TrainConfig with(String... overrides) {
        Map<String, String> values = toMap();
        ConfigText.putOverrides(values, List.of(overrides));
        return fromMap(values);
    }

    /** The exact settings as a pretty-printed flat JSON object; {@link #load} and {@link #fromJson} read it back. */
    public String toJson() {
        JsonObject o = new JsonObject();
        for (Slot slot : SLOTS) {
            Object v = slot.get(this);
            switch (v) {
                case Integer n when n == 0 && AUTO_KEYS.contains(slot.key()) -> o.addProperty(slot.key(), "auto");
                case Number n -> o.addProperty(slot.key(), n);
                case Boolean b -> o.addProperty(slot.key(), b);
                default -> o.addProperty(slot.key(), format(v));
            }
        }
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }

    /** The LR schedule; with decay_tokens 0 it decays until {@link #plannedTokens()}. */
    public LrSchedule lrSchedule() {
        OptimizerSettings o = optimizer;
        return new LrSchedule(o.learningRate(), o.minLr(), o.lrDecay(), o.warmupTokens(),
                o.decayTokens() > 0 ? o.decayTokens() : plannedTokens());
    }

    /** The LR of a step of batch {@code batchSize} after {@code tokensSeen} tokens: the schedule's, coupled to the batch. */
    public double lr(LrSchedule schedule, long tokensSeen, int batchSize) {
        double e = optimizer.lrBatchExponent();
        return schedule.lr(tokensSeen) * (e == 0 ? 1 : Math.pow((double) batchSize / batch.first(), e));
    }

    /**
     * Tokens the run will process: max_tokens or max_steps steps of the batch schedule, whichever ends it first.
     * With batch_schedule=adaptive the steps do not fix the tokens, so this is max_tokens (required there).
     */
    public long plannedTokens() {
        if (batch.batchSchedule() == BatchScheduleType.ADAPTIVE) return run.maxTokens();
        BatchSchedule schedule = batch.schedule();
        int T = model.blockSize(), maxSteps = run.maxSteps();
        long tokens = 0;
        int step = 0;
        // Walk the steps only while a ramp may still change the batch; after that every step has batch_size.
        for (; step < maxSteps && tokens < batch.rampTokens(); step++) tokens += (long) schedule.batchSize(tokens, step) * T;
        tokens += (long) (maxSteps - step) * batch.batchSize() * T;
        return run.maxTokens() > 0 ? Math.min(run.maxTokens(), tokens) : tokens;
    }

    /**
     * The values as text, with the derived ones as their defaults so that they follow the other keys: an
     * architecture-dependent key at its architecture's choice is auto, and a batch_size_start equal to what 0 gives is 0.
     */
    private Map<String, String> toMap() {
        Map<String, String> values = new LinkedHashMap<>();
        for (Slot slot : SLOTS) {
            String key = slot.key(), v = format(slot.get(this));
            boolean auto = AUTO_KEYS.contains(key) ? v.equals("0") : v.equals(ARCH_DEFAULTS.get(model.arch()).get(key));
            values.put(key, auto ? "auto" : v);
        }
        if (batch.startIsDerived()) values.put("batch_size_start", "0");
        return values;
    }

    private static TrainConfig fromMap(Map<String, String> values) {
        Arch arch = (Arch) ConfigText.parse("arch", Arch.class, values.get("arch"));
        ARCH_DEFAULTS.get(arch).forEach((key, value) -> values.computeIfPresent(key,
                (k, v) -> v.trim().equalsIgnoreCase("auto") ? value : v));
        Object[] sections = new Object[SECTIONS.length];
        for (int i = 0; i < SECTIONS.length; i++) {
            RecordComponent[] fields = SECTIONS[i].getType().getRecordComponents();
            Object[] args = new Object[fields.length];
            for (int j = 0; j < fields.length; j++) {
                String key = snake(fields[j].getName());
                args[j] = ConfigText.parse(key, fields[j].getType(), values.get(key));
            }
            sections[i] = construct(SECTIONS[i].getType(), fields, args);
        }
        return construct(TrainConfig.class, SECTIONS, sections);
    }

    /** The record {@code type} from its canonical constructor; a validation error comes out as itself. */
    private static <T> T construct(Class<T> type, RecordComponent[] components, Object[] args) {
        try {
            Constructor<T> ctor = type.getDeclaredConstructor(
                    Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new));
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    static String format(Object v) { return v instanceof Enum<?> e ? e.name().toLowerCase() : String.valueOf(v); }

    static void check(boolean ok, String key, String message) {
        if (!ok) throw new UserError("config key " + key + " " + message);
    }

    static String snake(String camel) { return camel.replaceAll("([A-Z])", "_$1").toLowerCase(); }
}
