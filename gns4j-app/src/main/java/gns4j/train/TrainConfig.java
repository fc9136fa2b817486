package gns4j.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.backend.AdamWSettings;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.backend.select.Backends;
import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.util.Map.entry;

/**
 * Every setting of a training run. Each record component is one config key, spelled in snake_case in JSON files and
 * {@code --set key=value} overrides ({@code nEmbd} is {@code n_embd}); the component order is the order of
 * {@link #toJson()}. Values are validated on construction, so a TrainConfig that exists is usable; every problem is
 * a one-line {@link UserError} that names the key.
 *
 * <p>{@code bias}, {@code norm} and {@code tied_head} default to {@code auto}, the architecture's own choice
 * ({@link #ARCH_DEFAULTS}); the record holds the resolved value.
 *
 * <p>Zero means "derive it" for: {@code vocab_size} (from the dataset, see {@link #modelConfig}),
 * {@code n_kv_head} (n_head), {@code ffn_hidden} (4·n_embd for GPT-2, {@link ModelConfig#defaultFfnHidden} for Llama),
 * {@code decay_tokens} (the end of the run, see {@link #lrSchedule}), {@code max_tokens} (no token limit),
 * {@code threads} (all cores), {@code eval_interval} (no evaluation), {@code pe_log_interval} (no per-example
 * records), {@code grad_clip} (no clipping),
 * {@code batch_size_start} (one {@link #batchGranularity()}; resolved here so the stored config holds the number used),
 * {@code batch_size_min} (one granularity; kept as 0, see {@link #batchSizeMinResolved()}) and
 * {@code checkpoint_interval} (a checkpoint only at the end of the run, or when it is stopped by SIGINT/SIGTERM).
 * {@code micro_batch_size} and {@code max_micro_batch} are written {@code auto} for 0: the micro-batch follows the
 * step's batch up to the largest that fits the backend's memory ({@link MicroBatches}); the trainer stores the
 * max_micro_batch it resolved in the run's config.json, so a resumed run splits its batches the same way.
 */
public record TrainConfig(
        // model
        Arch arch, int nLayer, int nHead, int nEmbd, int blockSize, int vocabSize, boolean bias, NormType norm,
        boolean tiedHead, int nKvHead, double ropeTheta, int ffnHidden,
        // batch
        int microBatchSize, int maxMicroBatch, int batchMultiple, int batchSize, BatchScheduleType batchSchedule,
        int batchSizeStart, long rampTokens,
        // adaptive batch schedule
        int batchSizeMin, double adaptiveK, AdaptiveSource adaptiveSource, int adaptiveInterval,
        boolean adaptiveAllowDecrease,
        // optimisation
        double learningRate, double minLr, LrSchedule.Decay lrDecay, long warmupTokens, long decayTokens,
        double weightDecay, double beta1, double beta2, double adamEps, double gradClip,
        // run
        int maxSteps, long maxTokens, int evalInterval, long evalIntervalTokens, int evalSequences, int logInterval,
        int peLogInterval, long seed,
        int threads, String tensorboardDir,
        // checkpoints and faults
        int checkpointInterval, int keepCheckpoints, int maxBadSteps,
        // gradient noise scale
        double gnsAlpha, NormTracking perExampleNorms, LinearNormMethod linearNormMethod, Device device,
        // data parallel (train --gpus N): the gradient all-reduce after backward, or bucketed and overlapped with it
        boolean gradOverlap, double gradBucketMb) {

    /** Vocabulary used when neither the config nor the dataset gives one (GPT-2's 50257 padded to a multiple of 64). */
    public static final int DEFAULT_VOCAB = 50304;

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
            entry("learning_rate", "6e-4"), entry("min_lr", "6e-5"), entry("lr_decay", "cosine"),
            entry("warmup_tokens", "0"), entry("decay_tokens", "0"), entry("weight_decay", "0.1"),
            entry("beta1", "0.9"), entry("beta2", "0.95"), entry("adam_eps", "1e-8"), entry("grad_clip", "1.0"),
            entry("max_steps", "1000"), entry("max_tokens", "0"), entry("eval_interval", "100"),
            entry("eval_interval_tokens", "0"), entry("eval_sequences", "80"), entry("log_interval", "1"), entry("pe_log_interval", "10"),
            entry("seed", "1337"), entry("threads", "0"), entry("tensorboard_dir", ""),
            entry("checkpoint_interval", "250"), entry("keep_checkpoints", "3"), entry("max_bad_steps", "5"),
            entry("gns_alpha", "0.99"), entry("per_example_norms", "all"), entry("linear_norm_method", "auto"),
            entry("device", "cpu"), entry("grad_overlap", "true"), entry("grad_bucket_mb", "25"));

    /** What {@code auto} means for bias, norm and tied_head, per architecture: GPT-2's, and Llama's (untied head). */
    static final Map<Arch, Map<String, String>> ARCH_DEFAULTS = Map.of(
            Arch.GPT2, Map.of("bias", "true", "norm", "layernorm", "tied_head", "true"),
            Arch.LLAMA, Map.of("bias", "false", "norm", "rmsnorm", "tied_head", "false"));

    /** Integer keys whose 0 ("derive it") is written and read as {@code auto}. */
    static final java.util.Set<String> AUTO_KEYS = java.util.Set.of("micro_batch_size", "max_micro_batch");

    private static final RecordComponent[] COMPONENTS = TrainConfig.class.getRecordComponents();
    static final List<String> KEYS = Arrays.stream(COMPONENTS).map(c -> snake(c.getName())).toList();

    public TrainConfig {
        // Model shape: ModelConfig owns these rules; a 0 vocab is filled in later, so check the shape with the default.
        check(nKvHead >= 0, "n_kv_head", "must be >= 0 (0 = n_head), got " + nKvHead);
        check(ffnHidden >= 0, "ffn_hidden", "must be >= 0 (0 = the architecture's default), got " + ffnHidden);
        modelConfig(arch, nLayer, nHead, nEmbd, blockSize, vocabSize == 0 ? DEFAULT_VOCAB : vocabSize, bias, norm, tiedHead,
                nKvHead, ropeTheta, ffnHidden);
        check(microBatchSize >= 0, "micro_batch_size", "must be auto or >= 1, got " + microBatchSize);
        check(maxMicroBatch >= 0, "max_micro_batch", "must be auto or >= 1, got " + maxMicroBatch);
        check(batchMultiple >= 1, "batch_multiple", "must be >= 1, got " + batchMultiple);
        int granularity = microBatchSize > 0 ? microBatchSize : batchMultiple;
        // A fixed batch with an automatic micro-batch may be any size; a given micro-batch or a changing batch
        // needs whole units of the granularity.
        if (microBatchSize > 0 || batchSchedule != BatchScheduleType.FIXED)
            check(batchSize >= 1 && batchSize % granularity == 0, "batch_size", "must be a positive multiple of "
                    + (microBatchSize > 0 ? "micro_batch_size" : "batch_multiple") + " (" + granularity + "), got " + batchSize);
        check(batchSize >= 1, "batch_size", "must be >= 1, got " + batchSize);
        if (batchSizeStart == 0) batchSizeStart = Math.min(granularity, batchSize);
        // Need not be a multiple: the ramp rounds to whole units, so changing micro_batch_size alone stays valid.
        check(batchSizeStart >= 1 && batchSizeStart <= batchSize, "batch_size_start",
                "must be in [1, batch_size (" + batchSize + ")], got " + batchSizeStart);
        check(rampTokens >= 0, "ramp_tokens", "must be >= 0, got " + rampTokens);
        check(batchSchedule != BatchScheduleType.LINEAR_RAMP || rampTokens > 0, "ramp_tokens",
                "must be > 0 with batch_schedule=linear_ramp");
        // 0 stays 0 ("one unit", see batchSizeMinResolved) so that changing micro_batch_size alone stays valid.
        check(batchSizeMin == 0 || (batchSizeMin % granularity == 0 && batchSizeMin <= batchSize), "batch_size_min",
                "must be 0 (one unit) or a multiple of " + granularity + " in [1, batch_size (" + batchSize + ")], got "
                        + batchSizeMin);
        check(batchSizeMin >= 0, "batch_size_min", "must be >= 0, got " + batchSizeMin);
        check(adaptiveK > 0, "adaptive_k", "must be > 0, got " + adaptiveK);
        check(adaptiveInterval >= 1, "adaptive_interval", "must be >= 1, got " + adaptiveInterval);
        if (batchSchedule == BatchScheduleType.ADAPTIVE) {
            int min = batchSizeMin > 0 ? batchSizeMin : granularity;
            check(min >= 2, "batch_size_min",
                    "must be >= 2 with batch_schedule=adaptive (the GNS needs two examples per step), got " + min);
            check(batchSizeStart >= min, "batch_size_start",
                    "must be >= batch_size_min (" + min + ") with batch_schedule=adaptive, got " + batchSizeStart);
            check(maxTokens > 0, "max_tokens",
                    "must be > 0 with batch_schedule=adaptive: it is the token budget and the LR schedule's horizon");
            check(perExampleNorms != NormTracking.OFF, "per_example_norms",
                    "must be ln or all with batch_schedule=adaptive (the schedule follows the GNS)");
            check(adaptiveSource != AdaptiveSource.TOTAL || perExampleNorms == NormTracking.ALL, "adaptive_source",
                    "total needs per_example_norms=all (got " + format(perExampleNorms) + ")");
        }
        check(learningRate > 0, "learning_rate", "must be > 0, got " + learningRate);
        check(minLr >= 0 && minLr <= learningRate, "min_lr",
                "must be in [0, learning_rate (" + learningRate + ")], got " + minLr);
        check(warmupTokens >= 0, "warmup_tokens", "must be >= 0, got " + warmupTokens);
        check(decayTokens >= 0, "decay_tokens", "must be >= 0, got " + decayTokens);
        check(decayTokens == 0 || decayTokens >= warmupTokens, "decay_tokens",
                "must be 0 or >= warmup_tokens (" + warmupTokens + "), got " + decayTokens);
        check(weightDecay >= 0, "weight_decay", "must be >= 0, got " + weightDecay);
        check(beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1), got " + beta1);
        check(beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1), got " + beta2);
        check(adamEps > 0, "adam_eps", "must be > 0, got " + adamEps);
        check(gradClip >= 0, "grad_clip", "must be >= 0 (0 = off), got " + gradClip);
        check(maxSteps >= 1, "max_steps", "must be >= 1, got " + maxSteps);
        check(maxTokens >= 0, "max_tokens", "must be >= 0 (0 = unlimited), got " + maxTokens);
        check(evalInterval >= 0, "eval_interval", "must be >= 0 (0 = off), got " + evalInterval);
        check(evalIntervalTokens >= 0, "eval_interval_tokens", "must be >= 0 (0 = by eval_interval), got " + evalIntervalTokens);
        check(evalSequences >= 1, "eval_sequences", "must be >= 1, got " + evalSequences);
        check(logInterval >= 1, "log_interval", "must be >= 1, got " + logInterval);
        check(peLogInterval >= 0, "pe_log_interval", "must be >= 0 (0 = off), got " + peLogInterval);
        check(threads >= 0, "threads", "must be >= 0 (0 = all cores), got " + threads);
        check(checkpointInterval >= 0, "checkpoint_interval", "must be >= 0 (0 = only at the end), got " + checkpointInterval);
        check(keepCheckpoints >= 1, "keep_checkpoints", "must be >= 1, got " + keepCheckpoints);
        check(maxBadSteps >= 1, "max_bad_steps", "must be >= 1, got " + maxBadSteps);
        check(arch == Arch.GPT2 || device != Device.CUDA, "device", "cuda: " + Backends.CUDA_GPT2_ONLY);
        check(gnsAlpha > 0 && gnsAlpha < 1, "gns_alpha", "must be in (0, 1), got " + gnsAlpha);
        check(gradBucketMb * (1 << 20) >= 4 && gradBucketMb <= 1 << 20, "grad_bucket_mb",
                "must hold at least one float and be at most 1 TB, got " + gradBucketMb);
    }

    /** All defaults. */
    public static TrainConfig defaults() { return fromMap(new LinkedHashMap<>(DEFAULTS)); }

    /** Every config key, in record-component order. */
    public static List<String> keys() { return KEYS; }

    /** A key's default as written in a config file (0 for "derive it", auto for the micro-batch keys). */
    public static String defaultValue(String key) { return DEFAULTS.get(key); }

    /**
     * Defaults, then the flat JSON object in {@code json} (null for none), then {@code overrides} ("key=value",
     * later ones win). One construction at the end, so derived defaults follow the final values.
     */
    public static TrainConfig load(Path json, List<String> overrides) {
        Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
        if (json != null) {
            String text;
            try {
                text = Files.readString(json);
            } catch (IOException e) {
                throw new UserError("cannot read config file " + json + ": " + e.getMessage());
            }
            ConfigText.putJson(values, text, json.toString());
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

    /** This config with {@code overrides} ("key=value") applied. */
    public TrainConfig with(String... overrides) {
        Map<String, String> values = toMap();
        ConfigText.putOverrides(values, List.of(overrides));
        return fromMap(values);
    }

    /** The exact settings as a pretty-printed flat JSON object; {@link #load} and {@link #fromJson} read it back. */
    public String toJson() {
        JsonObject o = new JsonObject();
        for (int i = 0; i < COMPONENTS.length; i++) {
            Object v = get(COMPONENTS[i]);
            String key = KEYS.get(i);
            switch (v) {
                case Integer n when n == 0 && AUTO_KEYS.contains(key) -> o.addProperty(key, "auto");
                case Number n -> o.addProperty(key, n);
                case Boolean b -> o.addProperty(key, b);
                default -> o.addProperty(key, format(v));
            }
        }
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }

    /** The model shape, taking the vocabulary from the dataset when vocab_size is 0 ({@code vocabFromData} <= 0: none). */
    public ModelConfig modelConfig(int vocabFromData) {
        if (vocabSize > 0 && vocabFromData > 0 && vocabSize < vocabFromData)
            throw new UserError("config key vocab_size (" + vocabSize + ") is smaller than the dataset's vocabulary ("
                    + vocabFromData + ")");
        int vocab = vocabSize > 0 ? vocabSize : vocabFromData > 0 ? vocabFromData : DEFAULT_VOCAB;
        return modelConfig(arch, nLayer, nHead, nEmbd, blockSize, vocab, bias, norm, tiedHead, nKvHead, ropeTheta, ffnHidden);
    }

    /** The LR schedule; with decay_tokens 0 it decays until {@link #plannedTokens()}. */
    public LrSchedule lrSchedule() {
        return new LrSchedule(learningRate, minLr, lrDecay, warmupTokens, decayTokens > 0 ? decayTokens : plannedTokens());
    }

    /** The batch-size schedule chosen by batch_schedule. */
    public BatchSchedule batchSizeSchedule() {
        return switch (batchSchedule) {
            case FIXED -> new BatchSchedule.Fixed(batchSize);
            case LINEAR_RAMP -> new BatchSchedule.LinearRamp(batchSizeStart, batchSize, rampTokens, batchGranularity());
            case ADAPTIVE -> new BatchSchedule.Adaptive(adaptiveK, batchSizeMinResolved(), batchSize, batchSizeStart,
                    batchGranularity(), adaptiveInterval, adaptiveAllowDecrease);
        };
    }

    /**
     * Tokens the run will process: max_tokens or max_steps steps of the batch schedule, whichever ends it first.
     * With batch_schedule=adaptive the steps do not fix the tokens, so this is max_tokens (required there).
     */
    public long plannedTokens() {
        if (batchSchedule == BatchScheduleType.ADAPTIVE) return maxTokens;
        BatchSchedule schedule = batchSizeSchedule();
        long tokens = 0;
        int step = 0;
        // Walk the steps only while a ramp may still change the batch; after that every step has batch_size.
        for (; step < maxSteps && tokens < rampTokens; step++) tokens += (long) schedule.batchSize(tokens, step) * blockSize;
        tokens += (long) (maxSteps - step) * batchSize * blockSize;
        return maxTokens > 0 ? Math.min(maxTokens, tokens) : tokens;
    }

    /** The adaptive schedule's smallest batch: batch_size_min, or one granularity unit when it is 0. */
    public int batchSizeMinResolved() { return batchSizeMin > 0 ? batchSizeMin : batchGranularity(); }

    /**
     * What ramp and adaptive batches are whole multiples of: micro_batch_size when it is given (every step is then
     * whole micro-batches), else batch_multiple (the micro-batch follows the batch).
     */
    public int batchGranularity() { return microBatchSize > 0 ? microBatchSize : batchMultiple; }

    /** The largest batch any step of this run can have. */
    public int largestBatch() { return batchSize; } // every schedule stays within it: batch_size_start <= batch_size is checked

    /** Whether the micro-batch follows the batch (micro_batch_size=auto). */
    public boolean autoMicroBatch() { return microBatchSize == 0; }

    public AdamWSettings adamW() { return new AdamWSettings(beta1, beta2, adamEps, weightDecay); }

    /** grad_bucket_mb in bytes (MiB, as PyTorch's bucket_cap_mb). */
    public long gradBucketBytes() { return (long) (gradBucketMb * (1 << 20)); }

    /** Worker threads to use: threads, or every available core when it is 0. */
    public int threadCount() { return threads > 0 ? threads : Runtime.getRuntime().availableProcessors(); }

    /** The values as text; an architecture-dependent key at its architecture's choice is auto, so it follows arch. */
    private Map<String, String> toMap() {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < COMPONENTS.length; i++) {
            String key = KEYS.get(i), v = format(get(COMPONENTS[i]));
            boolean auto = AUTO_KEYS.contains(key) ? v.equals("0") : v.equals(ARCH_DEFAULTS.get(arch).get(key));
            values.put(key, auto ? "auto" : v);
        }
        return values;
    }

    private Object get(RecordComponent c) {
        try {
            return c.getAccessor().invoke(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static TrainConfig fromMap(Map<String, String> values) {
        Arch arch = (Arch) ConfigText.parse("arch", Arch.class, values.get("arch"));
        ARCH_DEFAULTS.get(arch).forEach((key, value) -> values.computeIfPresent(key,
                (k, v) -> v.trim().equalsIgnoreCase("auto") ? value : v));
        Object[] args = new Object[COMPONENTS.length];
        for (int i = 0; i < COMPONENTS.length; i++)
            args[i] = ConfigText.parse(KEYS.get(i), COMPONENTS[i].getType(), values.get(KEYS.get(i)));
        try {
            Constructor<TrainConfig> ctor = TrainConfig.class.getDeclaredConstructor(
                    Arrays.stream(COMPONENTS).map(RecordComponent::getType).toArray(Class<?>[]::new));
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    static String format(Object v) { return v instanceof Enum<?> e ? e.name().toLowerCase() : String.valueOf(v); }

    private static ModelConfig modelConfig(Arch arch, int nLayer, int nHead, int nEmbd, int blockSize, int vocab,
                                           boolean bias, NormType norm, boolean tiedHead, int nKvHead, double ropeTheta,
                                           int ffnHidden) {
        boolean llama = arch == Arch.LLAMA;
        int ffn = ffnHidden > 0 ? ffnHidden : llama ? ModelConfig.defaultFfnHidden(nEmbd) : 4 * nEmbd;
        try {
            return new ModelConfig(nLayer, nHead, nEmbd, blockSize, vocab, bias, norm, tiedHead, arch,
                    nKvHead > 0 ? nKvHead : nHead, llama ? ropeTheta : 0, ffn);
        } catch (IllegalArgumentException e) {
            throw new UserError("invalid model config: " + e.getMessage());
        }
    }

    private static void check(boolean ok, String key, String message) {
        if (!ok) throw new UserError("config key " + key + " " + message);
    }

    static String snake(String camel) { return camel.replaceAll("([A-Z])", "_$1").toLowerCase(); }

}
