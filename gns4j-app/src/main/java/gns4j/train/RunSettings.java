package gns4j.train;

import static gns4j.train.TrainConfig.check;

/**
 * The run keys of a {@link TrainConfig}: when it stops, evaluates, logs and checkpoints, its seed, threads and
 * device. Zero means: {@code max_tokens} no token limit, {@code eval_interval} no evaluation (unless
 * eval_interval_tokens), {@code pe_log_interval} no per-example records, {@code threads} all cores,
 * {@code checkpoint_interval} a checkpoint only at the end of the run or when it is stopped by SIGINT/SIGTERM.
 */
public record RunSettings(int maxSteps, long maxTokens, int evalInterval, long evalIntervalTokens, int evalSequences,
                          int logInterval, int peLogInterval, long seed, int threads, String tensorboardDir,
                          int checkpointInterval, int keepCheckpoints, int maxBadSteps, TrainConfig.Device device) {
    public RunSettings {
        check(maxSteps >= 1, "max_steps", "must be >= 1, got " + maxSteps);
        check(maxTokens >= 0, "max_tokens", "must be >= 0 (0 = unlimited), got " + maxTokens);
        check(evalInterval >= 0, "eval_interval", "must be >= 0 (0 = off), got " + evalInterval);
        check(evalIntervalTokens >= 0, "eval_interval_tokens", "must be >= 0 (0 = by eval_interval), got " + evalIntervalTokens);
        check(evalSequences >= 1, "eval_sequences", "must be >= 1, got " + evalSequences);
        check(logInterval >= 1, "log_interval", "must be >= 1, got " + logInterval);
        check(peLogInterval >= 0, "pe_log_interval", "must be >= 0 (0 = off), got " + peLogInterval);
        check(threads >= 0 && threads <= MAX_THREADS, "threads", "must be in [0, " + MAX_THREADS
                + "] (0 = all cores; more threads than cores only slow a run down), got " + threads);
        check(checkpointInterval >= 0, "checkpoint_interval", "must be >= 0 (0 = only at the end), got " + checkpointInterval);
        check(keepCheckpoints >= 1, "keep_checkpoints", "must be >= 1, got " + keepCheckpoints);
        check(maxBadSteps >= 1, "max_bad_steps", "must be >= 1, got " + maxBadSteps);
    }

    /** The most worker threads a CPU backend takes (its pool's own limit is 32767). */
    public static final int MAX_THREADS = 4096;

    /** Worker threads to use: threads, or every available core when it is 0. */
    public int threadCount() { return threads > 0 ? threads : Runtime.getRuntime().availableProcessors(); }
}
