package gns4j.report;

import java.util.List;
import java.util.Map;

/**
 * One optimizer step of metrics.jsonl. A scalar that is absent, null or not a number is NaN, so that series
 * extraction only has to skip non-finite values; maps and arrays hold only the finite entries;
 * {@code peExamples} holds the examples with a valid offset (empty when the step logged none).
 */
public record StepRecord(long step, double tokens, double loss, double valLoss, double lr, double batchSize,
                         double microBatches, double tokPerS, double elapsedS, double gradNorm, double gnsTotal,
                         double gnsLn, Map<String, Double> gnsType, Map<String, Double> gnsLayer,
                         double[] peNormTotal, double[] peNormLn, List<PeExample> peExamples) {}
