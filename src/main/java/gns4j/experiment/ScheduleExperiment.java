package gns4j.experiment;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import gns4j.UserError;
import gns4j.data.DatasetPreparer;
import gns4j.data.DemoCorpus;
import gns4j.data.TokenDataset;
import gns4j.data.Tokenizers;
import gns4j.report.ReportWriter;
import gns4j.train.StatusLine;
import gns4j.train.TrainConfig;
import gns4j.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code gns4j experiment schedule}: the batch-size schedule arms with the same token budget, LR schedule and
 * seeds, run one after the other through {@link Trainer} into OUT/&lt;arm&gt;-seed&lt;s&gt;/, then compared
 * ({@link ScheduleResults}). A run folder that already holds a finished run (summary.json) is reused, so an
 * interrupted experiment continues where it stopped; an unfinished one stops the experiment with a message.
 * After the baseline arm's first seed, while its model is still loaded, the estimators are compared on it
 * ({@link EstimatorComparison}); the result is kept in OUT/estimators.json.
 */
public final class ScheduleExperiment {
    static final String ESTIMATORS_FILE = "estimators.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private final ScheduleExperimentConfig cfg;
    private final List<String> extraOverrides;
    private final PrintStream log;
    private final StatusLine status;

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
    }

    /**
     * Runs (or reuses) every arm and seed, then writes OUT/results.md, results.csv, gns_ln_vs_total.csv and one
     * report-seed&lt;s&gt;.html per seed.
     */
    public ScheduleResults run() {
        Map<String, TrainConfig> check = cfg.trainConfigs(null, extraOverrides); // refuse bad overrides before any work
        prepareData();
        try {
            Files.createDirectories(cfg.outDir());
        } catch (IOException e) {
            throw new UserError("cannot create " + cfg.outDir() + ": " + e.getMessage());
        }
        int total = cfg.arms().size() * cfg.seeds().size(), done = 0;
        EstimatorComparison.Result estimators = readEstimators();
        boolean warmedUp = false;
        for (long seed : cfg.seeds()) {
            Map<String, TrainConfig> configs = cfg.trainConfigs(seed, extraOverrides);
            for (var arm : configs.entrySet()) {
                done++;
                Path dir = cfg.runDir(arm.getKey(), seed);
                if (Files.exists(dir.resolve("summary.json"))) {
                    log.printf("[%d/%d] %s seed %d: finished run found in %s, reused%n", done, total, arm.getKey(), seed, dir);
                    continue;
                }
                if (Files.exists(dir.resolve("metrics.jsonl")))
                    throw new UserError(dir + " holds an unfinished run (metrics.jsonl without summary.json): delete it to rerun");
                if (!warmedUp) {
                    warmUp(arm.getValue());
                    warmedUp = true;
                }
                log.printf("[%d/%d] %s seed %d -> %s%n", done, total, arm.getKey(), seed, dir);
                Trainer trainer = new Trainer(arm.getValue(), cfg.dataDir(), dir, status);
                boolean measureHere = cfg.estimatorBatches() > 0 && estimators == null
                        && arm.getKey().equals(cfg.baseline()) && seed == cfg.seeds().getFirst();
                EstimatorComparison.Result[] measured = {null};
                if (measureHere) trainer.afterTraining(backend -> measured[0] = measureEstimators(backend, arm.getValue()));
                Trainer.Result r = trainer.run();
                log.printf("    %d steps, %,d tokens, val loss %s, %.1f s%n", r.steps(), r.tokens(),
                        r.valLoss() == null ? "-" : String.format("%.4f", r.valLoss()), r.seconds());
                if (measured[0] != null) {
                    estimators = measured[0];
                    writeEstimators(estimators);
                }
            }
        }
        ScheduleResults results = ScheduleResults.analyse(cfg, check, estimators);
        results.write(cfg.outDir());
        ScheduleResults.writeLnVsTotalCsv(cfg, cfg.outDir().resolve("gns_ln_vs_total.csv"));
        // one report per seed overlays its arms: batch schedules, loss vs tokens and time, LN vs total GNS
        for (long seed : cfg.seeds())
            ReportWriter.write(cfg.arms().keySet().stream().map(arm -> cfg.runDir(arm, seed)).toList(),
                    cfg.outDir().resolve(reportFile(seed)));
        return results;
    }

    /**
     * A short untimed run before the first timed one, so that JIT compilation (CPU) or kernel loading (CUDA) is not
     * charged to whichever arm happens to run first. Its folder is deleted afterwards.
     */
    private void warmUp(TrainConfig c) {
        Path dir = cfg.outDir().resolve(".warmup");
        deleteTree(dir);
        log.println("warm-up: " + WARMUP_STEPS + " untimed steps (JIT / kernel loading)");
        PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
        new Trainer(c.with("max_steps=" + WARMUP_STEPS, "eval_interval=0", "max_tokens=0", "batch_schedule=fixed"),
                cfg.dataDir(), dir, new StatusLine(quiet, false)).run();
        deleteTree(dir);
    }

    static final int WARMUP_STEPS = 10;

    /** OUT/report-seed&lt;s&gt;.html: the arms of one seed in one report. */
    public static String reportFile(long seed) { return "report-seed" + seed + ".html"; }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private EstimatorComparison.Result measureEstimators(gns4j.backend.Backend backend, TrainConfig c) {
        int B = cfg.estimatorBatchSize() > 0 ? cfg.estimatorBatchSize() : c.batchSize();
        log.printf("    estimators: %d batches of %d sequences (micro-batches of %d) on the trained model%n",
                cfg.estimatorBatches(), B, c.microBatchSize());
        try (TokenDataset train = TokenDataset.open(cfg.dataDir().resolve(DatasetPreparer.TRAIN_FILE),
                backend.layout().config.vocabSize(), c.blockSize())) {
            return EstimatorComparison.measure(backend, train, cfg.estimatorBatches(), B, c.microBatchSize(),
                    c.blockSize(), cfg.estimatorGroups(), c.linearNormMethod(), new SplittableRandom(c.seed() ^ 0x5EEDL));
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
            log.println("cannot read " + f + " (" + e.getMessage() + "): estimators will be measured again if the baseline runs");
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
