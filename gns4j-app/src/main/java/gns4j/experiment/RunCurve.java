package gns4j.experiment;

import gns4j.UserError;
import gns4j.train.MetricsFile;
import gns4j.train.MetricsLine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One run's metrics.jsonl as the experiment needs it: per optimizer step the tokens, the cumulative training time,
 * the batch size, the GNS and (on evaluation steps) the validation loss.
 *
 * <p>Training time is the sum of the steps' own durations (tokens of the step / its {@code tok_per_s}): forward,
 * backward, GNS and optimizer, without the validation passes. Arms differ in how many validation passes they make
 * (eval_interval counts steps, and the arms take different numbers of steps), so counting them would favour the arm
 * with the fewest steps. {@code elapsed_s}, which does include them, is kept as {@link Point#elapsedSeconds()}.
 */
public record RunCurve(List<Point> points) {

    /**
     * One optimizer step; valLoss, gnsTotal and gnsLn are null where the run has none; microBatch is 0 in files
     * written before it was recorded.
     */
    public record Point(int step, long tokens, double trainSeconds, double elapsedSeconds, int batchSize, int microBatch,
                        double lr, Double valLoss, Double gnsTotal, Double gnsLn, boolean batchChange) {}

    /**
     * Reads {@code metrics.jsonl} through {@link MetricsFile}; a damaged line, or a step without tokens or batch size,
     * is a {@link UserError}: a time-to-target table must not rest on a guess.
     */
    public static RunCurve read(Path metricsFile) {
        List<Point> points = new ArrayList<>();
        long prevTokens = 0;
        double train = 0;
        for (MetricsLine m : MetricsFile.read(metricsFile).requireIntact().steps()) {
            if (m.tokens() == null || m.batchSize() == null)
                throw new UserError(metricsFile + ": step " + m.step() + " has no tokens or batch_size");
            long tokens = m.tokens();
            if (m.tokPerS() != null && m.tokPerS() > 0) train += (tokens - prevTokens) / m.tokPerS();
            prevTokens = tokens;
            points.add(new Point(Math.toIntExact(m.step()), tokens, train, m.elapsedS() == null ? train : m.elapsedS(),
                    m.batchSize(), m.microBatch() == null ? 0 : m.microBatch(), MetricsLine.orNaN(m.lr()), m.valLoss(),
                    m.gnsTotal(), m.gnsLn(), m.batchChange() != null));
        }
        return new RunCurve(List.copyOf(points));
    }

    /** The steps that have a validation loss, in order. */
    public List<Point> valPoints() { return points.stream().filter(p -> p.valLoss() != null).toList(); }

    public Point last() {
        if (points.isEmpty()) throw new IllegalStateException("empty run");
        return points.getLast();
    }

    /** Batch-size changes over the run (records with a batch_change field). */
    public int batchChanges() { return (int) points.stream().filter(Point::batchChange).count(); }
}
