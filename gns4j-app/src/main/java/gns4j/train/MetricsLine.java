package gns4j.train;

import java.util.List;
import java.util.Map;

/**
 * One step line of metrics.jsonl as read back ({@link MetricsFile}); {@link StepMetrics} writes it. Every key of the
 * table in docs/guide.md has a component. Files written by older versions lack some keys: a missing or null scalar is
 * null here, a missing map or list is empty. Per-example norms keep the file's order (the i-th norm is the i-th
 * example of the step); a norm written as null (not finite, or not tracked) is NaN.
 *
 * @param microBatches gradient-accumulation passes of the step
 * @param microBatch   sequences in the largest pass
 * @param gnsType      finite GNS per parameter type (entries written as null are left out)
 * @param gnsLayer     finite GNS per layer (entries written as null are left out)
 * @param peExamples   the examples of a pe_log_interval-th step with a valid offset; empty on other steps
 * @param batchChange  on the step where the batch size changed, else null
 * @param gnsDdp       data parallel only: the DDP-style estimate
 * @param skipReason   on a skipped non-finite step, why; else null
 */
public record MetricsLine(long step, Long tokens, Double loss, Double valLoss, Double lr, Integer batchSize,
                          Integer microBatches, Integer microBatch, Double tokPerS, Double elapsedS, Double gradNorm,
                          Double gnsTotal, Double gnsLn, Map<String, Double> gnsType, Map<String, Double> gnsLayer,
                          double[] peNormTotal, double[] peNormLn, List<PeExample> peExamples,
                          BatchChange batchChange, Double gnsDdp, String skipReason) {

    /** One entry of pe_examples: where the example's window starts in train.bin (tokens) and its norms (NaN: none). */
    public record PeExample(long offset, double normTotal, double normLn) {}

    /** The batch size changed from {@code from} to {@code to} after the schedule had seen {@code gns} (may be null). */
    public record BatchChange(Integer from, Integer to, Double gns) {}

    public boolean skipped() { return skipReason != null; }

    /** A value for arithmetic on series: null becomes NaN, which series skip like any non-finite value. */
    public static double orNaN(Number v) { return v == null ? Double.NaN : v.doubleValue(); }
}
