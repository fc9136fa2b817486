package gns4j.report;

/**
 * One example of a step's {@code pe_examples} in metrics.jsonl: where its window starts in train.bin and its
 * per-example gradient norms (NaN when not tracked or not finite).
 */
public record PeExample(long step, long offset, double normTotal, double normLn) {}
