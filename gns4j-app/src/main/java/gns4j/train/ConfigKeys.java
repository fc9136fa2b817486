package gns4j.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static java.util.Map.entry;

/**
 * One line of meaning per {@link TrainConfig} key: the single source of {@code help train}'s key list and of the
 * config tables in README.md and docs/config.md (a test keeps those tables equal to {@link #markdownRow}).
 */
public final class ConfigKeys {
    private ConfigKeys() {}

    private static final Map<String, String> MEANINGS = Map.ofEntries(
            entry("arch", "`gpt2` or `llama` (RoPE, grouped-query attention, SwiGLU, RMSNorm)"),
            entry("n_layer", "transformer blocks"),
            entry("n_head", "attention heads per block (n_embd must be a multiple)"),
            entry("n_embd", "embedding width"),
            entry("block_size", "context length in tokens (one training sequence)"),
            entry("vocab_size", "0 = from the dataset's meta.json, else 50304"),
            entry("bias", "biases in Linear and LayerNorm layers; `auto`: true for gpt2, false for llama (which has none)"),
            entry("norm", "`layernorm` or `rmsnorm`; `auto`: layernorm for gpt2, rmsnorm for llama (which needs it)"),
            entry("tied_head", "LM head shares the token embedding's weights; `auto`: true for gpt2, false for llama"),
            entry("n_kv_head", "llama: key/value heads, each shared by n_head / n_kv_head query heads (0 = n_head)"),
            entry("rope_theta", "llama: RoPE base"),
            entry("ffn_hidden", "llama: SwiGLU hidden width (0 = 8/3 × n_embd rounded up to a multiple of 64)"),
            entry("micro_batch_size", "sequences per forward/backward pass; `auto`: the whole batch, up to max_micro_batch"),
            entry("max_micro_batch", "largest pass with micro_batch_size=auto; `auto`: what memory holds (estimated)"),
            entry("batch_multiple", "with micro_batch_size=auto: ramp and adaptive batches are multiples of it"),
            entry("batch_size", "sequences per optimizer step (the largest, for ramp and adaptive schedules)"),
            entry("batch_schedule", "`fixed`, `linear_ramp` (start to batch_size over ramp_tokens) or `adaptive` (k × GNS)"),
            entry("batch_size_start", "first batch of a ramp or adaptive run (0 = one unit of batch_multiple/micro_batch_size)"),
            entry("ramp_tokens", "linear_ramp: tokens over which the batch grows to batch_size"),
            entry("batch_size_min", "adaptive: smallest batch, >= 2 (0 = one unit)"),
            entry("adaptive_k", "adaptive: batch = k × GNS (sequences)"),
            entry("adaptive_source", "adaptive: follow the `ln` (norm layers') or `total` GNS"),
            entry("adaptive_interval", "adaptive: at most one batch change per this many steps"),
            entry("adaptive_allow_decrease", "adaptive: let the batch shrink when the GNS falls"),
            entry("adaptive_policy", "adaptive: `k_gns` (batch = k × GNS) or `goodput` (the batch minimising (B + k × GNS) / tok/s(B))"),
            entry("throughput_curve", "goodput: tok/s per batch as `B:tok/s,...` (empty = measured before the first step)"),
            entry("learning_rate", "peak learning rate"),
            entry("min_lr", "learning rate at the end of the decay"),
            entry("lr_decay", "`cosine`, `linear` or `constant`"),
            entry("warmup_tokens", "tokens of linear LR warmup"),
            entry("decay_tokens", "tokens until min_lr (0 = the end of the run)"),
            entry("lr_batch_exponent", "LR × (batch / first batch)^e for a changing batch (0 = off, 0.5 = square-root rule)"),
            entry("weight_decay", "AdamW decay on matrices and embeddings"),
            entry("beta1", "AdamW first-moment factor"),
            entry("beta2", "AdamW second-moment factor"),
            entry("adam_eps", "AdamW epsilon"),
            entry("grad_clip", "global gradient-norm clip (0 = off)"),
            entry("max_steps", "stop after this many optimizer steps"),
            entry("max_tokens", "stop after this many tokens (0 = no limit); whichever limit comes first ends the run"),
            entry("eval_interval", "validation every N steps (0 = off)"),
            entry("eval_interval_tokens", "validation every N tokens instead (0 = by eval_interval)"),
            entry("eval_sequences", "validation windows, the same ones each time, spread over val.bin"),
            entry("log_interval", "a status line every N steps"),
            entry("pe_log_interval", "every N-th step logs each example's offset and gradient norms (0 = off)"),
            entry("seed", "seed of the initial weights and the data order"),
            entry("threads", "CPU threads (0 = all cores)"),
            entry("tensorboard_dir", "also write each step's metrics as a TensorBoard event file into this folder (empty = off)"),
            entry("checkpoint_interval", "steps between checkpoints (0 = only at the end or on a stop)"),
            entry("keep_checkpoints", "newest checkpoints kept"),
            entry("max_bad_steps", "non-finite steps in a row that stop the run"),
            entry("gns_alpha", "EMA factor of the training GNS estimators"),
            entry("per_example_norms", "`all` tensors, `ln` (norm layers only: the cheap LN-GNS) or `off`"),
            entry("linear_norm_method", "Linear per-example norms: `simultaneous`, `ghost` or `auto` (CPU: simultaneous; CUDA: ghost where T·(K+N) < N·K)"),
            entry("device", "`cpu`, `cuda` or `auto` (CUDA when a GPU is found)"),
            entry("grad_overlap", "--gpus N: all-reduce gradient buckets during the backward (false: after it)"),
            entry("grad_bucket_mb", "--gpus N: largest all-reduce bucket in MiB"));

    /** The key's one-line meaning; null for a name that is no config key. */
    public static String meaning(String key) { return MEANINGS.get(key); }

    /** Keys that have a meaning here, whether or not TrainConfig still has them (a test compares both sets). */
    static Set<String> described() { return MEANINGS.keySet(); }

    /** One line per key for {@code help train}: name, default and meaning in aligned columns. */
    public static List<String> helpLines() {
        int keyWidth = TrainConfig.keys().stream().mapToInt(String::length).max().orElse(0);
        int defaultWidth = TrainConfig.keys().stream().mapToInt(k -> TrainConfig.defaultValue(k).length()).max().orElse(0);
        String row = "  %-" + keyWidth + "s  %-" + Math.max(defaultWidth, "default".length()) + "s  %s";
        List<String> lines = new ArrayList<>();
        lines.add(String.format(row, "key", "default", "meaning"));
        for (String k : TrainConfig.keys())
            lines.add(String.format(row, k, TrainConfig.defaultValue(k), meaning(k).replace("`", "")));
        return lines;
    }

    /** The key's row of a markdown table with columns key, default, meaning. */
    public static String markdownRow(String key) {
        return "| `" + key + "` | " + TrainConfig.defaultValue(key) + " | " + meaning(key) + " |";
    }

    /** What each section of {@link TrainConfig} holds, as a heading of docs/config.md. */
    private static final Map<String, String> SECTION_TITLES = Map.of(
            "model", "Model (`ModelSettings`)", "batch", "Batch and its schedule (`BatchSettings`)",
            "optimizer", "Optimizer (`OptimizerSettings`)", "run", "Run: limits, evaluation, logging, checkpoints (`RunSettings`)",
            "gns", "Gradient noise scale (`GnsSettings`)", "dataParallel", "Data parallel, `train --gpus N` (`DataParallelSettings`)");

    /** The markdown tables of every key, one per section of {@link TrainConfig} under its heading, as docs/config.md holds them. */
    public static String markdownTable() {
        StringBuilder md = new StringBuilder();
        for (String section : TrainConfig.sections()) {
            md.append("## ").append(SECTION_TITLES.get(section)).append("\n\n| key | default | meaning |\n|---|---|---|\n");
            for (String key : TrainConfig.keys(section)) md.append(markdownRow(key)).append('\n');
            md.append('\n');
        }
        return md.toString().stripTrailing() + "\n";
    }
}
