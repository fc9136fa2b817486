package gns4j.experiment;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import gns4j.Folders;
import gns4j.UserError;
import gns4j.data.DatasetPreparer;
import gns4j.data.DemoCorpus;
import gns4j.data.TokenDataset;
import gns4j.data.Tokenizers;
import gns4j.report.ReportWriter;
import gns4j.schedule.BatchSchedule;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Timer;
import java.util.TimerTask;
import java.util.function.Predicate;

/**
 * {@code gns4j experiment schedule}: a sweep of fixed batches (the baseline), the best of them at other peak LRs,
 * and the batch-size schedules under test, all with the same token budget, LR schedule and seeds, run one after the
 * other through {@link Trainer} into OUT/&lt;arm&gt;-seed&lt;s&gt;/, then compared ({@link ScheduleResults}).
 *
 * <p>Order: the throughput curve ({@link ThroughputCurve}), then per seed the sweep and the schedule arms, then the
 * LR arms, which need the whole sweep (every seed) to know the best batch. Experiments longer than one call: a finished
 * run (summary.json) is reused, an unfinished one is resumed from its newest checkpoint (or started over when it has
 * none); {@code arms} and {@code seeds} select a subset, and a time limit stops the run in progress with a checkpoint
 * and starts no other. After the first seed of the estimators' arm the estimators are compared on its trained model
 * ({@link EstimatorComparison}); the result is kept in OUT/estimators.json.
 */
public final class ScheduleExperiment {
    static final String ESTIMATORS_FILE = "estimators.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private final ScheduleExperimentConfig cfg;
    private final List<String> extraOverrides;
    private final PrintStream log;
    private final StatusLine status;
    private Predicate<String> armFilter = arm -> true;
    private List<Long> seeds;
    private long deadlineNanos = Long.MAX_VALUE;
    private boolean warmedUp, timeUp;
    private ThroughputCurve throughput;
    private ScheduleResults.ProjectionSettings projection = ScheduleResults.ProjectionSettings.defaults();
    private int runsDone, runsPlanned;

    /**
     * @param extraOverrides "key=value" applied to every run after the config (e.g. device=cuda)
     * @param log            progress lines
     * @param status         the trainer's status line
     */
    public ScheduleExperiment(ScheduleExperimentConfig cfg, List<String> extraOverrides, PrintStream log, StatusLine status) {
        this.cfg = cfg;
        this.extraOverrides = List.copyOf(extraOverrides);
        this.log = log;
        this.status = status;
        this.seeds = cfg.seeds();
    }

    /** Runs only these of the config's seeds; the best fixed batch and L* still need every seed's runs. */
    public ScheduleExperiment seeds(List<Long> selected) {
        if (!cfg.seeds().containsAll(selected))
            throw new UserError("--seeds " + selected + " are not all among the config's seeds " + cfg.seeds());
        if (new java.util.HashSet<>(selected).size() != selected.size())
            throw new UserError("--seeds " + selected + " lists a seed twice");
        this.seeds = List.copyOf(selected);
        return this;
    }

    /** Runs only the arms {@code filter} accepts (the analysis still reads every finished run). */
    public ScheduleExperiment arms(Predicate<String> filter) {
        this.armFilter = filter;
        return this;
    }

    /**
     * Stops the run in progress (with a checkpoint) after {@code minutes}, and starts no run that the throughput
     * curve says would not end before then.
     */
    public ScheduleExperiment timeLimitMinutes(double minutes) {
        this.deadlineNanos = System.nanoTime() + (long) (minutes * 60e9);
        return this;
    }

    /** The GPU counts and bus bandwidth of the data-parallel projection. */
    public ScheduleExperiment projection(ScheduleResults.ProjectionSettings settings) {
        this.projection = settings;
        return this;
    }

    /** Whether the last {@link #run} stopped at its time limit with runs left. */
    public boolean timeUp() { return timeUp; }

    /**
     * Runs (or reuses) the selected arms and seeds, then writes OUT/results.md, results.csv, curves.csv,
     * gns_ln_vs_total.csv and one report-seed&lt;s&gt;.html per seed, from every finished run in OUT.
     */
    public ScheduleResults run() {
        Map<String, TrainConfig> check = cfg.trainConfigs(cfg.plannedArms(), null, extraOverrides); // refuse bad overrides first
        prepareData();
        try {
            Files.createDirectories(cfg.outDir());
        } catch (IOException e) {
            throw new UserError("cannot create " + cfg.outDir() + ": " + e.getMessage());
        }
        TrainConfig first = check.values().iterator().next();
        throughput = ThroughputCurve.read(cfg.outDir());
        if (throughput == null) {
            warmUp(first);
            throughput = ThroughputCurve.measure(first, cfg.dataDir(), cfg.fixedBatches(), cfg.outDir(), log::println);
            throughput.write(cfg.outDir());
        }
        EstimatorComparison.Result estimators = readEstimators();
        runsPlanned = plannedRuns();
        for (long seed : seeds)
            for (var arm : cfg.trainConfigs(cfg.plannedArms(), seed, extraOverrides).entrySet())
                estimators = runOne(arm.getKey(), arm.getValue(), seed, estimators);
        Integer best = ScheduleResults.bestFixedBatch(cfg);
        if (!cfg.lrFactors().isEmpty() && best == null)
            log.println("LR arms wait for the whole fixed-batch sweep (seeds " + cfg.seeds() + ") to pick the best batch");
        if (best != null)
            for (long seed : seeds)
                for (var arm : cfg.trainConfigs(cfg.lrArms(best), seed, extraOverrides).entrySet())
                    estimators = runOne(arm.getKey(), arm.getValue(), seed, estimators);
        ScheduleResults results = ScheduleResults.analyse(cfg, throughput, estimators, projection);
        results.write(cfg.outDir());
        for (long seed : cfg.seeds()) {
            List<Path> dirs = results.runs().stream().filter(r -> r.seed() == seed).map(r -> cfg.runDir(r.arm(), seed)).toList();
            if (!dirs.isEmpty()) ReportWriter.write(dirs, cfg.outDir().resolve(reportFile(seed)));
        }
        return results;
    }

    /** Runs, resumes or reuses one arm's run; returns the estimators (measured after it when it is their arm). */
    private EstimatorComparison.Result runOne(String arm, TrainConfig c, long seed, EstimatorComparison.Result estimators) {
        RunDir dir = new RunDir(cfg.runDir(arm, seed));
        if (dir.finished()) {
            log.printf("%s seed %d: finished run found in %s, reused%n", arm, seed, dir.path());
            return estimators;
        }
        if (!armFilter.test(arm)) return estimators;
        double estimate = throughput == null ? 0 : throughput.secondsFor(c);
        if (System.nanoTime() + (long) (estimate * 1e9) >= deadlineNanos) {
            timeUp = true;
            log.printf("time limit: %s seed %d (about %.0f s) left for the next call%n", arm, seed, estimate);
            return estimators;
        }
        if (!warmedUp) warmUp(c);
        boolean resume = dir.hasRun();
        log.printf("run %d of %d: %s seed %d -> %s%s%n", ++runsDone, Math.max(runsDone, runsPlanned), arm, seed, dir.path(),
                resume ? " (resuming)" : "");
        Trainer trainer = resume ? Trainer.resume(dir.path(), cfg.dataDir(), status)
                : new Trainer(withGoodputCurve(arm, c), cfg.dataDir(), dir.path(), status);
        boolean measureHere = cfg.estimatorBatches() > 0 && estimators == null && arm.equals(estimatorArm())
                && seed == cfg.seeds().getFirst();
        EstimatorComparison.Result[] measured = {null};
        if (measureHere) trainer.afterTraining(backend -> measured[0] = measureEstimators(backend, c));
        Timer timer = new Timer(true);
        long left = deadlineNanos - System.nanoTime();
        if (deadlineNanos != Long.MAX_VALUE)
            timer.schedule(new TimerTask() {
                @Override
                public void run() { trainer.requestStop(); }
            }, Math.max(1, left / 1_000_000));
        Trainer.Result r;
        try {
            r = trainer.run();
        } finally {
            timer.cancel();
        }
        if (trainer.stopped()) {
            timeUp = true;
            log.printf("time limit: %s seed %d stopped at step %d with a checkpoint; the same command continues it%n", arm, seed, r.steps());
            return estimators;
        }
        ReportWriter.writeForRun(dir.path());
        log.printf("    %d steps, %,d tokens, val loss %s, %.1f s%n", r.steps(), r.tokens(),
                r.valLoss() == null ? "-" : String.format("%.4f", r.valLoss()), r.seconds());
        if (measured[0] != null) writeEstimators(measured[0]);
        return measured[0] != null ? measured[0] : estimators;
    }

    /**
     * The runs this call expects to make: the selected seeds of every planned arm and LR arm that the arm filter
     * accepts and that have not finished (LR arms counted before the sweep has picked their batch).
     */
    private int plannedRuns() {
        Integer best = ScheduleResults.bestFixedBatch(cfg);
        Map<String, Map<String, String>> arms = new java.util.LinkedHashMap<>(cfg.plannedArms());
        int lrPending = 0;
        if (best != null) arms.putAll(cfg.lrArms(best));
        else lrPending = cfg.lrFactors().size() * seeds.size();
        int n = 0;
        for (String arm : arms.keySet())
            for (long seed : seeds)
                if (armFilter.test(arm) && !new RunDir(cfg.runDir(arm, seed)).finished()) n++;
        return n + lrPending;
    }

    /**
     * A goodput arm without a throughput_curve weighs the experiment's curve ({@link ScheduleResults#curve}: the fixed
     * runs' rates once the sweep has them), or with goodput_gpus N that curve projected to N GPUs; written into the
     * run's config.json, so a resumed run keeps it.
     */
    private TrainConfig withGoodputCurve(String arm, TrainConfig c) {
        var b = c.batch();
        if (b.batchSchedule() != TrainConfig.BatchScheduleType.ADAPTIVE || b.adaptivePolicy() != BatchSchedule.Adaptive.Policy.GOODPUT
                || !b.throughputCurve().isEmpty() || throughput == null) return c;
        String gpus = cfg.arms().getOrDefault(arm, Map.of()).get(ScheduleExperimentConfig.GOODPUT_GPUS);
        ThroughputCurve oneDevice = ScheduleResults.curve(cfg, throughput);
        boolean fromRuns = oneDevice != throughput;
        Throughput curve = gpus == null ? oneDevice.asThroughput()
                : ScheduleResults.projectionFor(cfg, c, oneDevice, fromRuns, projection).model()
                        .curve(Integer.parseInt(gpus), b.minResolved(), b.largest(), b.granularity());
        log.printf("    goodput weighs %s%s: %s (B:tok/s)%n", fromRuns ? "the fixed runs' rates" : "the short-run throughput curve",
                gpus == null ? "" : " projected to " + gpus + " GPUs", curve.spec());
        return c.with("throughput_curve=" + curve.spec());
    }

    /** The fixed arm whose trained model the estimators are compared on: estimators.batch_size's, else the largest. */
    private String estimatorArm() {
        int b = cfg.fixedBatches().contains(cfg.estimatorBatchSize()) ? cfg.estimatorBatchSize()
                : cfg.fixedBatches().stream().max(Comparator.naturalOrder()).orElseThrow();
        return ScheduleExperimentConfig.fixedArm(b);
    }

    /**
     * A short untimed run before the first timed one, so that JIT compilation (CPU) or kernel loading (CUDA) is not
     * charged to whichever arm happens to run first. Its folder is deleted afterwards.
     */
    private void warmUp(TrainConfig c) {
        Path dir = cfg.outDir().resolve(".warmup");
        deleteTree(dir);
        log.println("warm-up: " + WARMUP_STEPS + " untimed steps (JIT / kernel loading)");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        new Trainer(c.with("max_steps=" + WARMUP_STEPS, "eval_interval=0", "max_tokens=0", "batch_schedule=fixed"),
                cfg.dataDir(), dir, new StatusLine(quiet, false)).run();
        deleteTree(dir);
        warmedUp = true;
    }

    static final int WARMUP_STEPS = 10;

    /** OUT/report-seed&lt;s&gt;.html: the arms of one seed in one report. */
    public static String reportFile(long seed) { return "report-seed" + seed + ".html"; }

    /** {@link Folders#deleteTree}, its I/O failure unchecked (scratch folders of the experiment). */
    static void deleteTree(Path dir) {
        try {
            Folders.deleteTree(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private EstimatorComparison.Result measureEstimators(gns4j.backend.Backend backend, TrainConfig c) {
        int B = cfg.estimatorBatchSize() > 0 ? cfg.estimatorBatchSize() : c.batch().batchSize();
        // At least two equal micro-batches: the micro-batch estimator compares them.
        int micro = Math.max(1, Math.min(B / 2, backend.maxMicroBatch()));
        while (B % micro != 0) micro--;
        log.printf("    estimators: %d batches of %d sequences (micro-batches of %d) on the trained model%n",
                cfg.estimatorBatches(), B, micro);
        try (TokenDataset train = TokenDataset.open(cfg.dataDir().resolve(DatasetPreparer.TRAIN_FILE),
                backend.layout().config.vocabSize(), c.model().blockSize())) {
            return EstimatorComparison.measure(backend, train, cfg.estimatorBatches(), B, micro,
                    c.model().blockSize(), cfg.estimatorGroups(), c.gns().linearNormMethod(), new SplittableRandom(c.run().seed() ^ 0x5EEDL));
        } catch (IllegalArgumentException e) {
            throw new UserError("estimators: " + e.getMessage());
        }
    }

    private void prepareData() {
        Path data = cfg.dataDir();
        if (Files.exists(data.resolve(DatasetPreparer.TRAIN_FILE))) return;
        if (cfg.prepareInputs().isEmpty())
            throw new UserError("no " + data.resolve(DatasetPreparer.TRAIN_FILE) + " and no \"prepare\" inputs in the experiment config");
        log.printf("preparing %s from %s (%s tokenizer)%n", data, cfg.prepareInputs(), cfg.tokenizer());
        var tok = Tokenizers.byName(cfg.tokenizer());
        if (cfg.prepareInputs().equals(List.of(ScheduleExperimentConfig.DEMO_INPUT))) {
            DemoCorpus.prepare(data, tok);
        } else {
            List<Path> inputs = new ArrayList<>();
            for (String s : cfg.prepareInputs()) inputs.add(Path.of(s));
            DatasetPreparer.prepare(inputs, data, tok, cfg.valFraction(), false, (docs, tokens) -> {});
        }
    }

    private EstimatorComparison.Result readEstimators() {
        Path f = cfg.outDir().resolve(ESTIMATORS_FILE);
        if (!Files.exists(f)) return null;
        try {
            return GSON.fromJson(Files.readString(f), EstimatorComparison.Result.class);
        } catch (IOException | RuntimeException e) {
            log.println("cannot read " + f + " (" + e.getMessage() + "): estimators will be measured again if their arm runs");
            return null;
        }
    }

    private void writeEstimators(EstimatorComparison.Result r) {
        try {
            Files.writeString(cfg.outDir().resolve(ESTIMATORS_FILE), GSON.toJson(r));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
