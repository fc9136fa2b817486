package gns4j.experiment;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import gns4j.train.RunDir;
import gns4j.train.StatusLine;
import gns4j.train.TrainConfig;
import gns4j.train.Trainer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * What a bigger batch buys on this machine: training tok/s of the experiment's own model and step at each batch
 * size, with the micro-batch following the batch (as in the arms). Measured by short untimed-then-timed runs before
 * the arms and kept in OUT/throughput.json, so a continued experiment reports the curve it ran with.
 *
 * @param points one per batch size, ascending
 */
public record ThroughputCurve(List<Point> points) {
    /** tok/s: median of the timed steps; micro: sequences per pass. */
    public record Point(int batch, int micro, double tokPerS) {}

    static final String FILE = "throughput.json";
    /** Steps per batch size: the first WARM ones are not timed (JIT, kernel selection, allocator). */
    static final int STEPS = 16, WARM = 6;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** Measures {@code batches} with {@code base}'s model and step into scratch folders under {@code scratch}. */
    static ThroughputCurve measure(TrainConfig base, Path dataDir, List<Integer> batches, Path scratch, Consumer<String> log) {
        List<Point> points = new ArrayList<>();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        for (int b : batches.stream().sorted().toList()) {
            Path dir = scratch.resolve("throughput-" + b);
            ScheduleExperiment.deleteTree(dir);
            new Trainer(base.with("batch_schedule=fixed", "batch_size=" + b, "max_steps=" + STEPS, "max_tokens=0",
                    "eval_interval=0", "checkpoint_interval=0", "pe_log_interval=0"), dataDir, dir, new StatusLine(quiet, false)).run();
            List<RunCurve.Point> steps = RunCurve.read(new RunDir(dir).metrics()).points();
            double[] rates = new double[steps.size() - WARM];
            for (int i = WARM; i < steps.size(); i++) {
                RunCurve.Point p = steps.get(i), prev = steps.get(i - 1);
                rates[i - WARM] = (p.tokens() - prev.tokens()) / (p.trainSeconds() - prev.trainSeconds());
            }
            Arrays.sort(rates);
            Point pt = new Point(b, steps.getLast().microBatch(), rates[rates.length / 2]);
            points.add(pt);
            log.accept(String.format(Locale.ROOT, "throughput: batch %d (micro-batch %d): %,.0f tok/s", b, pt.micro(), pt.tokPerS()));
            ScheduleExperiment.deleteTree(dir);
        }
        return new ThroughputCurve(List.copyOf(points));
    }

    /**
     * A run's expected training time: its token budget at the curve's rate for its batch (the start batch of a
     * schedule that changes it, so an upper bound when bigger batches are faster), plus a tenth for evaluations.
     */
    double secondsFor(TrainConfig c) {
        int batch = c.batch().batchSchedule() == TrainConfig.BatchScheduleType.FIXED ? c.batch().batchSize() : c.batch().batchSizeStart();
        Point nearest = points.stream().min(java.util.Comparator.comparingInt(p -> Math.abs(p.batch() - batch))).orElseThrow();
        long tokens = c.run().maxTokens() > 0 ? c.run().maxTokens() : c.plannedTokens();
        return 1.1 * tokens / nearest.tokPerS();
    }

    static ThroughputCurve read(Path out) {
        Path f = out.resolve(FILE);
        if (!Files.exists(f)) return null;
        try {
            return GSON.fromJson(Files.readString(f), ThroughputCurve.class);
        } catch (IOException | RuntimeException e) {
            return null; // measured again
        }
    }

    void write(Path out) {
        try {
            Files.writeString(out.resolve(FILE), GSON.toJson(this));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The Markdown table: batch, micro-batch, tok/s and the speed relative to the smallest batch. */
    String markdown() {
        StringBuilder sb = new StringBuilder("| batch | micro-batch | tok/s | vs smallest batch |\n|---:|---:|---:|---:|\n");
        double first = points.getFirst().tokPerS();
        for (Point p : points)
            sb.append(String.format(Locale.ROOT, "| %d | %d | %,.0f | %.2fx |%n", p.batch(), p.micro(), p.tokPerS(), p.tokPerS() / first));
        return sb.toString();
    }
}
