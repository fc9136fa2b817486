package gns4j.train;

import com.google.gson.GsonBuilder;
import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.backend.Backends;
import gns4j.backend.NormTracking;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.gns.GnsTracker;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.report.ReportWriter;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The training loop: batches realised as gradient-accumulation micro-batches, per-example norms gathered across
 * them, GNS updated once per optimizer step (before clipping), AdamW with an LR schedule in tokens, validation every
 * eval_interval steps, one metrics.jsonl line per step.
 */
public final class Trainer {
    /** What a finished run reports. */
    public record Result(int steps, long tokens, double loss, Double valLoss, Double gnsTotal, Double gnsLn,
                         double seconds) {}

    private final TrainConfig cfg;
    private final Path dataDir, runDir;
    private final StatusLine status;
    private Consumer<Backend> afterTraining = backend -> {};

    public Trainer(TrainConfig cfg, Path dataDir, Path runDir, StatusLine status) {
        this.cfg = cfg;
        this.dataDir = dataDir;
        this.runDir = runDir;
        this.status = status;
    }

    /**
     * Runs {@code hook} on the trained model after the last step, before the backend closes (e.g. to measure it).
     * The hook may overwrite the backend's gradients; the run's files are complete except summary.json and the report.
     */
    public Trainer afterTraining(Consumer<Backend> hook) {
        this.afterTraining = hook;
        return this;
    }

    public Result run() {
        if (!Files.isDirectory(dataDir)) throw new UserError("data dir not found: " + dataDir);
        DataMeta meta = TokenDataset.readMeta(dataDir);
        ModelConfig model = cfg.modelConfig(meta == null ? 0 : meta.vocabSize());
        TrainConfig resolved = cfg.with("vocab_size=" + model.vocabSize());
        Path valFile = dataDir.resolve(DatasetPreparer.VAL_FILE);
        boolean evaluate = cfg.evalInterval() > 0 && Files.exists(valFile);
        try (TokenDataset train = TokenDataset.open(dataDir.resolve(DatasetPreparer.TRAIN_FILE), model.vocabSize(), model.blockSize());
             TokenDataset val = evaluate ? TokenDataset.open(valFile, model.vocabSize(), model.blockSize()) : null) {
            // Everything that can refuse the run (including the backend) comes before the run folder is made, and
            // notices wait until then, so refused input gives one line on stderr and leaves no files.
            List<String> notices = new ArrayList<>();
            if (cfg.evalInterval() > 0 && !evaluate) notices.add("no " + valFile + ": validation is off");
            try (Backend backend = Backends.open(cfg.device().name().toLowerCase(), model, cfg.microBatchSize(),
                    cfg.threadCount(), notices::add)) {
                prepareRunDir(resolved);
                notices.forEach(status::notice);
                try (MetricsWriter metrics = new MetricsWriter(runDir.resolve("metrics.jsonl"))) {
                    status.notice("model " + model + ", " + String.format("%,d", backend.layout().numParameters())
                            + " parameters, backend " + backend.name());
                    Result result = loop(backend, train, val, metrics);
                    afterTraining.accept(backend);
                    writeSummary(result);
                    status.notice("report: " + ReportWriter.writeForRun(runDir));
                    return result;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Result loop(Backend backend, TokenDataset train, TokenDataset val, MetricsWriter metrics) {
        var layout = backend.layout();
        int micro = cfg.microBatchSize(), T = cfg.blockSize();
        NormTracking tracking = cfg.perExampleNorms();
        BatchSchedule batches = cfg.batchSizeSchedule();
        LrSchedule lrs = cfg.lrSchedule();
        List<ParamTensor> tracked = trackedTensors(layout.tensors, tracking);
        GnsTracker gns = tracked.isEmpty() ? null : new GnsTracker(reindexed(tracked), cfg.gnsAlpha());
        int maxBatch = cfg.batchSize();
        StepStats stats = new StepStats(layout, tracking, Math.max(maxBatch, cfg.batchSizeStart()));
        double[] sq = new double[layout.numTensors() * micro];
        int[] inputs = new int[micro * T], targets = new int[micro * T];
        long[] offsets = new long[micro];
        SplittableRandom rng = new SplittableRandom(cfg.seed());
        backend.initWeights(cfg.seed());

        long tokens = 0, start = System.nanoTime();
        double loss = Double.NaN;
        Double valLoss = null;
        int step = 0, previousBatch = 0;
        Double gnsFed = null;
        while (step < cfg.maxSteps() && (cfg.maxTokens() == 0 || tokens < cfg.maxTokens())) {
            long stepStart = System.nanoTime();
            int B = batches.batchSize(tokens, step);
            Double gnsBefore = gnsFed;
            int accum = B / micro;
            backend.zeroGrad();
            stats.reset();
            double lossSum = 0;
            for (int m = 0; m < accum; m++) {
                train.sampleBatch(rng, micro, T, inputs, targets, offsets);
                lossSum += backend.forwardBackward(inputs, targets, micro, T, 1f / B, tracking, cfg.linearNormMethod(), sq);
                if (tracking != NormTracking.OFF) stats.add(sq, micro);
            }
            loss = lossSum / accum;
            if (!Double.isFinite(loss)) throw new UserError("loss is " + loss + " at step " + (step + 1) + ": training diverged (lower learning_rate?)");
            double[] gradSq = backend.gradSqPerTensor();
            double gradNorm = Math.sqrt(sum(gradSq));
            if (gns != null) {
                gns.update(select(stats.sqSumPerTensor, tracked), B, select(gradSq, tracked));
                // Feeds closed-loop batch schedules; the others ignore it.
                gnsFed = cfg.adaptiveSource() == TrainConfig.AdaptiveSource.TOTAL && tracking == NormTracking.ALL
                        ? gns.gnsTotal() : gns.gnsLn();
                batches.observe(gnsFed);
            }
            if (cfg.gradClip() > 0 && gradNorm > cfg.gradClip()) backend.scaleGrads((float) (cfg.gradClip() / gradNorm));
            tokens += (long) B * T;
            double lr = lrs.lr(tokens);
            backend.adamwStep(cfg.adamW(), lr, ++step);

            double seconds = (System.nanoTime() - start) / 1e9;
            double tokPerS = (double) B * T / ((System.nanoTime() - stepStart) / 1e9);
            boolean last = step == cfg.maxSteps() || (cfg.maxTokens() > 0 && tokens >= cfg.maxTokens());
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("step", step);
            rec.put("tokens", tokens);
            rec.put("loss", loss);
            rec.put("lr", lr);
            rec.put("batch_size", B);
            rec.put("micro_batches", accum);
            rec.put("tok_per_s", tokPerS);
            rec.put("elapsed_s", seconds);
            rec.put("grad_norm", gradNorm);
            if (previousBatch != 0 && B != previousBatch) {
                // The first step with a new batch size says where it came from and the GNS the schedule had seen.
                Map<String, Object> change = new LinkedHashMap<>();
                change.put("from", previousBatch);
                change.put("to", B);
                change.put("gns", gnsBefore);
                rec.put("batch_change", change);
            }
            previousBatch = B;
            Double gnsTotal = gns != null && tracking == NormTracking.ALL ? gns.gnsTotal() : null;
            Double gnsLn = gns != null ? gns.gnsLn() : null;
            rec.put("gns_total", gnsTotal);
            rec.put("gns_ln", gnsLn);
            rec.put("gns_type", gns != null ? gns.gnsByType() : Map.of());
            rec.put("gns_layer", gns != null && tracking == NormTracking.ALL ? gns.gnsByLayer() : Map.of());
            rec.put("pe_norm_total", tracking == NormTracking.ALL ? StepStats.norms(stats.exampleTotalSq, stats.examples) : null);
            rec.put("pe_norm_ln", tracking != NormTracking.OFF ? StepStats.norms(stats.exampleLnSq, stats.examples) : null);
            if (val != null && (step % cfg.evalInterval() == 0 || last)) {
                valLoss = evaluate(backend, val, micro, T);
                rec.put("val_loss", valLoss);
            }
            metrics.write(rec);
            if (step % cfg.logInterval() == 0 || last || rec.containsKey("val_loss"))
                status.step(step, cfg.maxSteps(), loss, valLoss, lr, B, tokPerS, gnsTotal, gnsLn);
        }
        status.done();
        Double gnsTotal = gns != null && tracking == NormTracking.ALL ? gns.gnsTotal() : null;
        return new Result(step, tokens, loss, valLoss, gnsTotal, gns != null ? gns.gnsLn() : null,
                (System.nanoTime() - start) / 1e9);
    }

    private double evaluate(Backend backend, TokenDataset val, int micro, int T) {
        int[] inputs = new int[micro * T], targets = new int[micro * T];
        long batches = Math.min(cfg.evalBatches(), Math.max(1, val.windows(T) / micro));
        double sum = 0;
        for (long i = 0; i < batches; i++) {
            val.sequentialBatch(i, micro, T, inputs, targets);
            sum += backend.evaluate(inputs, targets, micro, T);
        }
        return sum / batches;
    }

    private void prepareRunDir(TrainConfig resolved) throws IOException {
        if (Files.exists(runDir.resolve("metrics.jsonl")))
            throw new UserError("out dir " + runDir + " already holds a run (metrics.jsonl); choose another --out-dir");
        if (Files.exists(runDir) && !Files.isDirectory(runDir)) throw new UserError("out dir " + runDir + " is a file");
        Files.createDirectories(runDir);
        Files.writeString(runDir.resolve("config.json"), resolved.toJson());
    }

    private void writeSummary(Result r) throws IOException {
        Files.writeString(runDir.resolve("summary.json"), new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(r));
    }

    /** The tensors whose per-example norms this run measures. */
    static List<ParamTensor> trackedTensors(List<ParamTensor> all, NormTracking tracking) {
        return switch (tracking) {
            case ALL -> all;
            case LN -> all.stream().filter(t -> t.kind().isNorm()).toList();
            case OFF -> List.of();
        };
    }

    /** The same tensors numbered 0..n-1, as the tracker expects for a subset. */
    private static List<ParamTensor> reindexed(List<ParamTensor> tensors) {
        List<ParamTensor> out = new ArrayList<>();
        for (ParamTensor t : tensors)
            out.add(new ParamTensor(out.size(), t.name(), t.kind(), t.layer(), t.shape(), t.offset(), t.size()));
        return out;
    }

    private static double[] select(double[] perTensor, List<ParamTensor> tensors) {
        double[] out = new double[tensors.size()];
        for (int i = 0; i < out.length; i++) out[i] = perTensor[tensors.get(i).index()];
        return out;
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) s += v;
        return s;
    }
}
