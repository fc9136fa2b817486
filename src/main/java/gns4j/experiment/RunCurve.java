package gns4j.experiment;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;

import java.io.IOException;
import java.nio.file.Files;
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

    /** Reads {@code metrics.jsonl}; lines without "step" (events) are skipped, a partial last line is ignored. */
    public static RunCurve read(Path metricsFile) {
        List<String> lines;
        try {
            lines = Files.readAllLines(metricsFile);
        } catch (IOException e) {
            throw new UserError("cannot read " + metricsFile + ": " + e.getMessage());
        }
        List<Point> points = new ArrayList<>();
        long prevTokens = 0;
        double train = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty()) continue;
            JsonObject o;
            try {
                o = JsonParser.parseString(line).getAsJsonObject();
            } catch (RuntimeException e) {
                if (i == lines.size() - 1) break; // a run killed mid-line
                throw new UserError(metricsFile + " line " + (i + 1) + " is not a JSON object");
            }
            if (!o.has("step")) continue;
            long tokens = o.get("tokens").getAsLong();
            Double tokPerS = number(o, "tok_per_s");
            if (tokPerS != null && tokPerS > 0) train += (tokens - prevTokens) / tokPerS;
            prevTokens = tokens;
            Double elapsed = number(o, "elapsed_s");
            Double micro = number(o, "micro_batch"), lr = number(o, "lr");
            points.add(new Point(o.get("step").getAsInt(), tokens, train, elapsed == null ? train : elapsed,
                    o.get("batch_size").getAsInt(), micro == null ? 0 : micro.intValue(), lr == null ? Double.NaN : lr,
                    number(o, "val_loss"), number(o, "gns_total"), number(o, "gns_ln"), o.has("batch_change")));
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

    private static Double number(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? null : e.getAsDouble();
    }
}
