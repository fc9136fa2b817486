package gns4j.train;

import gns4j.schedule.BatchSchedule;
import gns4j.schedule.Throughput;

import static gns4j.train.TrainConfig.check;

/**
 * The batch keys of a {@link TrainConfig}: the step's batch, how it is split into passes, and the schedule that
 * changes it (linear ramp, or adaptive: k × GNS or the goodput batch on the {@code throughput_curve}, which the
 * trainer measures before the first step when it is empty). {@code micro_batch_size} and {@code max_micro_batch} are
 * written {@code auto} for 0: the micro-batch follows the step's batch up to the largest that fits the backend's memory
 * ({@link MicroBatches}). {@code batch_size_start} 0 is one {@link #granularity()} (resolved here, so the stored config
 * holds the number used); {@code batch_size_min} 0 is one granularity too, but stays 0 ({@link #minResolved()}).
 */
public record BatchSettings(int microBatchSize, int maxMicroBatch, int batchMultiple, int batchSize,
                            TrainConfig.BatchScheduleType batchSchedule, int batchSizeStart, long rampTokens,
                            int batchSizeMin, double adaptiveK, TrainConfig.AdaptiveSource adaptiveSource,
                            int adaptiveInterval, boolean adaptiveAllowDecrease,
                            BatchSchedule.Adaptive.Policy adaptivePolicy, String throughputCurve) {
    public BatchSettings {
        check(microBatchSize >= 0, "micro_batch_size", "must be auto or >= 1, got " + microBatchSize);
        check(maxMicroBatch >= 0, "max_micro_batch", "must be auto or >= 1, got " + maxMicroBatch);
        check(batchMultiple >= 1, "batch_multiple", "must be >= 1, got " + batchMultiple);
        int granularity = microBatchSize > 0 ? microBatchSize : batchMultiple;
        // A fixed batch with an automatic micro-batch may be any size; a given micro-batch or a changing batch
        // needs whole units of the granularity.
        if (microBatchSize > 0 || batchSchedule != TrainConfig.BatchScheduleType.FIXED)
            check(batchSize >= 1 && batchSize % granularity == 0, "batch_size", "must be a positive multiple of "
                    + (microBatchSize > 0 ? "micro_batch_size" : "batch_multiple") + " (" + granularity + "), got " + batchSize);
        check(batchSize >= 1, "batch_size", "must be >= 1, got " + batchSize);
        if (batchSizeStart == 0) batchSizeStart = derivedStart(granularity, batchSize);
        // Need not be a multiple: the ramp rounds to whole units, so changing micro_batch_size alone stays valid.
        check(batchSizeStart >= 1 && batchSizeStart <= batchSize, "batch_size_start",
                "must be in [1, batch_size (" + batchSize + ")], got " + batchSizeStart);
        check(rampTokens >= 0, "ramp_tokens", "must be >= 0, got " + rampTokens);
        check(batchSchedule != TrainConfig.BatchScheduleType.LINEAR_RAMP || rampTokens > 0, "ramp_tokens",
                "must be > 0 with batch_schedule=linear_ramp");
        // 0 stays 0 ("one unit", see minResolved) so that changing micro_batch_size alone stays valid.
        check(batchSizeMin == 0 || (batchSizeMin % granularity == 0 && batchSizeMin <= batchSize), "batch_size_min",
                "must be 0 (one unit) or a multiple of " + granularity + " in [1, batch_size (" + batchSize + ")], got "
                        + batchSizeMin);
        check(batchSizeMin >= 0, "batch_size_min", "must be >= 0, got " + batchSizeMin);
        check(adaptiveK > 0, "adaptive_k", "must be > 0, got " + adaptiveK);
        check(adaptiveInterval >= 1, "adaptive_interval", "must be >= 1, got " + adaptiveInterval);
        if (batchSchedule == TrainConfig.BatchScheduleType.ADAPTIVE) {
            int min = batchSizeMin > 0 ? batchSizeMin : granularity;
            check(min >= 2, "batch_size_min",
                    "must be >= 2 with batch_schedule=adaptive (the GNS needs two examples per step), got " + min);
            check(batchSizeStart >= min, "batch_size_start",
                    "must be >= batch_size_min (" + min + ") with batch_schedule=adaptive, got " + batchSizeStart);
        }
        check(batchSchedule != TrainConfig.BatchScheduleType.ADAPTIVE || adaptivePolicy != BatchSchedule.Adaptive.Policy.GOODPUT
                        || batchSize > (batchSizeMin > 0 ? batchSizeMin : granularity), "batch_size",
                "must exceed batch_size_min with adaptive_policy=goodput (a choice of batches)");
        if (!throughputCurve.isEmpty())
            try {
                Throughput.parse(throughputCurve);
            } catch (IllegalArgumentException e) {
                check(false, "throughput_curve", "must be empty or BATCH:TOK_PER_S,... (at least 2 batches): " + e.getMessage());
            }
    }

    /** The batch-size schedule chosen by batch_schedule. */
    public BatchSchedule schedule() {
        return switch (batchSchedule) {
            case FIXED -> new BatchSchedule.Fixed(batchSize);
            case LINEAR_RAMP -> new BatchSchedule.LinearRamp(batchSizeStart, batchSize, rampTokens, granularity());
            case ADAPTIVE -> new BatchSchedule.Adaptive(adaptiveK, minResolved(), batchSize, batchSizeStart,
                    granularity(), adaptiveInterval, adaptiveAllowDecrease, adaptivePolicy,
                    throughputCurve.isEmpty() ? null : Throughput.parse(throughputCurve));
        };
    }

    /** What batch_size_start 0 stands for: one granularity unit, at most the whole batch. */
    private static int derivedStart(int granularity, int batchSize) { return Math.min(granularity, batchSize); }

    /**
     * Whether batch_size_start is what 0 stands for with these values, so that {@link TrainConfig#with} derives it
     * again from the new ones (as one construction from the command line does) instead of carrying it over.
     */
    boolean startIsDerived() { return batchSizeStart == derivedStart(granularity(), batchSize); }

    /** The adaptive schedule's smallest batch: batch_size_min, or one granularity unit when it is 0. */
    public int minResolved() { return batchSizeMin > 0 ? batchSizeMin : granularity(); }

    /**
     * What ramp and adaptive batches are whole multiples of: micro_batch_size when it is given (every step is then
     * whole micro-batches), else batch_multiple (the micro-batch follows the batch).
     */
    public int granularity() { return microBatchSize > 0 ? microBatchSize : batchMultiple; }

    /** The batch of the run's first step, as the schedule rounds batch_size_start. */
    public int first() { return schedule().batchSize(0, 0); }

    /** The largest batch any step of this run can have. */
    public int largest() { return batchSize; } // every schedule stays within it: batch_size_start <= batch_size is checked

    /** Whether the micro-batch follows the batch (micro_batch_size=auto). */
    public boolean autoMicroBatch() { return microBatchSize == 0; }
}
