package gns4j.experiment;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import gns4j.schedule.Throughput;
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
    /** tok/s: median of the timed steps of the last, stable round; micro: sequences per pass. */
    public record Point(int batch, int micro, double tokPerS) {}

    static final String FILE = "throughput.json";
    /**
     * Each batch size runs rounds of STEPS steps (the first SKIP of a round untimed: the run's start) until the
     * medians of two rounds in a row agree within TOLERANCE, at most MAX_ROUNDS rounds: on the CPU the JIT compiles the
     * kernels of a new shape over the first hundreds of steps, so a single short run reads a fraction of the rate the
     * arms train at.
     */
    static final int STEPS = 16, SKIP = 2, MAX_ROUNDS = 8;
    static final double TOLERANCE = 0.05;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** Measures {@code batches} with {@code base}'s model and step into scratch folders under {@code scratch}. */
    static ThroughputCurve measure(TrainConfig base, Path dataDir, List<Integer> batches, Path scratch, Consumer<String> log) {
        List<Point> points = new ArrayList<>();
        for (int b : batches.stream().sorted().toList()) {
            double previous = Double.NaN, rate = Double.NaN;
            int micro = 0, rounds = 0;
            while (rounds < MAX_ROUNDS && !(Math.abs(rate - previous) <= TOLERANCE * rate)) {
                previous = rate;
                RunCurve steps = timedRound(base, dataDir, b, scratch.resolve("throughput-" + b));
                rate = medianRate(steps);
                micro = steps.last().microBatch();
                rounds++;
            }
            Point pt = new Point(b, micro, rate);
            points.add(pt);
            log.accept(String.format(Locale.ROOT, "throughput: batch %d (micro-batch %d): %,.0f tok/s (%d rounds of %d steps%s)",
                    b, pt.micro(), pt.tokPerS(), rounds, STEPS, rounds == MAX_ROUNDS ? ", not yet stable" : ""));
        }
        return new ThroughputCurve(List.copyOf(points));
    }

    /** One short fixed-batch run in a scratch folder, deleted afterwards; its per-step curve. */
    private static RunCurve timedRound(TrainConfig base, Path dataDir, int batch, Path dir) {
        ScheduleExperiment.deleteTree(dir);
        new Trainer(base.with("batch_schedule=fixed", "batch_size=" + batch, "max_steps=" + STEPS, "max_tokens=0",
                "eval_interval=0", "checkpoint_interval=0", "pe_log_interval=0"), dataDir, dir,
                new StatusLine(new PrintStream(OutputStream.nullOutputStream()), false)).run();
        RunCurve steps = RunCurve.read(new RunDir(dir).metrics());
        ScheduleExperiment.deleteTree(dir);
        return steps;
    }

    /** The median tok/s of a round's steps after the first SKIP. */
    static double medianRate(RunCurve round) {
        List<RunCurve.Point> steps = round.points();
        double[] rates = new double[steps.size() - SKIP];
        for (int i = SKIP; i < steps.size(); i++) {
            RunCurve.Point p = steps.get(i), prev = steps.get(i - 1);
            rates[i - SKIP] = (p.tokens() - prev.tokens()) / (p.trainSeconds() - prev.trainSeconds());
        }
        Arrays.sort(rates);
        return rates.length % 2 == 1 ? rates[rates.length / 2] : (rates[rates.length / 2 - 1] + rates[rates.length / 2]) / 2;
    }

    /** The curve as the goodput policy and the projection read it. */
    public Throughput asThroughput() {
        return new Throughput(points.stream().map(p -> new Throughput.Point(p.batch(), p.tokPerS())).toList());
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

    /**
     * The Markdown table: batch, micro-batch, tok/s, the speed relative to the smallest batch, and beside them the rate
     * the runs of {@code trainedAt} (batch -> tok/s of each fixed-batch run at the base LR) trained at.
     */
    String markdown(java.util.Map<Integer, double[]> trainedAt) {
        StringBuilder sb = new StringBuilder("| batch | micro-batch | tok/s (curve) | vs smallest batch | runs trained at (tok/s, mean over seeds) | runs / curve |\n"
                + "|---:|---:|---:|---:|---:|---:|\n");
        double first = points.getFirst().tokPerS();
        for (Point p : points) {
            double[] runs = trainedAt.getOrDefault(p.batch(), new double[0]);
            double m = ScheduleResults.mean(runs);
            sb.append(String.format(Locale.ROOT, "| %d | %d | %,.0f | %.2fx | %s | %s |%n", p.batch(), p.micro(), p.tokPerS(),
                    p.tokPerS() / first, runs.length == 0 ? "-" : String.format(Locale.ROOT, "%,.0f (%d runs)", m, runs.length),
                    runs.length == 0 ? "-" : String.format(Locale.ROOT, "%.2f", m / p.tokPerS())));
        }
        return sb.toString();
    }
}
