package gns4j.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One line of metrics.jsonl: what an optimizer step did (the README's table lists the keys). {@code val_loss} is
 * added by the trainer on evaluation steps. Keys are snake_case; values that are not defined yet are null.
 *
 * @param previousBatch the batch of the step before when this step changed it, else null (no batch_change entry)
 * @param gnsBefore     the GNS the schedule had seen when the batch changed
 * @param dataParallel  whether the run has several processes: only then is there a gns_ddp key
 * @param gnsDdp        data parallel only: the DDP-style estimate
 * @param peExamples    every pe_log_interval-th step: one entry per example, else null (no key)
 * @param skipReason    why the step was skipped, or null for a good step
 */
public record StepMetrics(int step, long tokens, double loss, double lr, int batchSize, int microBatches,
                          int microBatch, double tokPerS, double elapsedS, double gradNorm, Integer previousBatch,
                          Double gnsBefore, Double gnsTotal, Double gnsLn, boolean dataParallel, Double gnsDdp, Map<String, Double> gnsType,
                          Map<String, Double> gnsLayer, double[] peNormTotal, double[] peNormLn,
                          List<Map<String, Object>> peExamples, String skipReason) {
    public Map<String, Object> toMap() {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", step);
        rec.put("tokens", tokens);
        rec.put("loss", loss);
        rec.put("lr", lr);
        rec.put("batch_size", batchSize);
        rec.put("micro_batches", microBatches);
        rec.put("micro_batch", microBatch);
        rec.put("tok_per_s", tokPerS);
        rec.put("elapsed_s", elapsedS);
        rec.put("grad_norm", gradNorm);
        if (previousBatch != null) {
            // The first step with a new batch size says where it came from and the GNS the schedule had seen.
            Map<String, Object> change = new LinkedHashMap<>();
            change.put("from", previousBatch);
            change.put("to", batchSize);
            change.put("gns", gnsBefore);
            rec.put("batch_change", change);
        }
        rec.put("gns_total", gnsTotal);
        rec.put("gns_ln", gnsLn);
        if (dataParallel) rec.put("gns_ddp", gnsDdp);
        rec.put("gns_type", gnsType);
        rec.put("gns_layer", gnsLayer);
        rec.put("pe_norm_total", peNormTotal);
        rec.put("pe_norm_ln", peNormLn);
        if (peExamples != null) rec.put("pe_examples", peExamples);
        if (skipReason != null) {
            rec.put("skipped", true);
            rec.put("skip_reason", skipReason);
        }
        return rec;
    }
}
