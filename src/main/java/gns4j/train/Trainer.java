package gns4j.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.backend.Backends;
import gns4j.backend.NormTracking;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.HfGpt2;
import gns4j.checkpoint.RunInfo;
import gns4j.checkpoint.RunLock;
import gns4j.checkpoint.TrainingState;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.dist.Communicator;
import gns4j.dist.DistributedGnsStats;
import gns4j.gns.Ema;
import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsTracker;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.report.ReportWriter;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.UnaryOperator;

/**
 * The training loop: batches realised as gradient-accumulation micro-batches, per-example norms gathered across
 * them, GNS updated once per optimizer step (before clipping), AdamW with an LR schedule in tokens, validation every
 * eval_interval steps, one metrics.jsonl line per step.
 *
 * <p>Checkpoints ({@link CheckpointStore}) every checkpoint_interval steps and at the end. Step s draws its batches
 * from an RNG seeded by (seed, s) alone, so a run resumed from a checkpoint ({@link #resume}) repeats exactly the
 * steps the uninterrupted run would have made, bit for bit on the CPU. A step whose loss, gradient or per-example
 * norms are not finite is skipped (no GNS or optimizer update), logged with {@code "skipped": true}, and never
 * checkpointed; max_bad_steps of them in a row stop the run. SIGINT/SIGTERM finish the current step, write a
 * checkpoint and end the run cleanly. The run folder is locked ({@link RunLock}) while the run writes it.
 *
 * <p>Data parallel ({@link #dataParallel}): each of W ranks runs this loop on its own backend. Every rank draws the
 * whole global batch from the same RNG (so the batch is that of one process) and runs forward/backward on its
 * contiguous share of the micro-batches, [⌊a·r/W⌋, ⌊a·(r+1)/W⌋) of the step's a, with the global scale 1/B; then the
 * gradient, the per-tensor Σ_b|g_b|², the example counts, the loss and the per-example norms are summed over the
 * ranks, and every rank takes rank 0's |G_B|² of the summed gradient, so the GNS update, clipping and AdamW see what
 * one process would, with the same bits on every rank, and the weights stay equal on every rank.
 * Rank 0 alone writes the run folder and prints; a stop request on any rank stops every rank after the same step.
 */
public final class Trainer {
    /** What a finished run reports. */
    public record Result(int steps, long tokens, double loss, Double valLoss, Double gnsTotal, Double gnsLn,
                         double seconds) {}

    /**
     * Seams for tests: wrap the backend (fault injection), act after each step (e.g. throw to simulate a kill), and
     * create checkpoint files (e.g. a disk that fills up).
     */
    public record Hooks(UnaryOperator<Backend> backend, IntConsumer afterStep, CheckpointStore.FileSink checkpointSink) {
        public static final Hooks NONE = new Hooks(b -> b, s -> {}, CheckpointStore.DISK);
    }

    private final TrainConfig cfg;
    private final Path dataDir, runDir;
    private StatusLine status;
    /** The data-parallel group, or null for one process; this rank's CUDA device. */
    private Communicator comm;
    private int gpu;
    /** The stop request all ranks agreed on at the last step (data parallel). */
    private boolean stopAgreed;
    private final boolean resuming;
    private Path initFrom;
    private String initFromSha256;
    private Hooks hooks = Hooks.NONE;
    private volatile boolean stopRequested;
    private boolean stopped;
    private TrainConfig resolved;
    private Path lastCheckpoint;
    private SignalStop signals;
    private Consumer<Backend> afterTraining = backend -> {};

    /** A new run of {@code cfg} on {@code dataDir} into {@code runDir}, which must not hold a run yet. */
    public Trainer(TrainConfig cfg, Path dataDir, Path runDir, StatusLine status) {
        this(cfg, dataDir, runDir, status, false);
    }

    private Trainer(TrainConfig cfg, Path dataDir, Path runDir, StatusLine status, boolean resuming) {
        this.cfg = cfg;
        this.dataDir = dataDir;
        this.runDir = runDir;
        this.status = status;
        this.resuming = resuming;
    }

    /**
     * Continues the run in {@code runDir} with its stored config from its newest checkpoint (or from the start if
     * it has none yet), on the data dir it recorded unless {@code dataDir} is given (moved data).
     */
    public static Trainer resume(Path runDir, Path dataDir, StatusLine status) {
        RunInfo info = RunInfo.read(runDir);
        Path file = runDir.resolve("config.json");
        TrainConfig cfg;
        try {
            cfg = TrainConfig.fromJson(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new UserError(runDir + " has no config.json; cannot resume");
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        }
        Trainer t = new Trainer(cfg, dataDir != null ? dataDir : Path.of(info.dataDir()), runDir, status, true);
        if (info.initFrom() != null) {
            t.initFrom = Path.of(info.initFrom());
            t.initFromSha256 = info.initFromSha256();
        }
        return t;
    }

    /** Starts from the weights of a Hugging Face GPT-2 folder (or model.safetensors) instead of a random init. */
    public Trainer initFrom(Path hfModel) {
        if (resuming) throw new IllegalStateException("a resumed run keeps the weights it started from");
        this.initFrom = HfGpt2.weightsFile(hfModel).toAbsolutePath();
        return this;
    }

    /**
     * Runs {@code hook} on the trained model after the last step, before the backend closes (e.g. to measure it).
     * The hook may overwrite the backend's gradients; the run's files are complete except summary.json and the report.
     */
    public Trainer afterTraining(Consumer<Backend> hook) {
        this.afterTraining = hook;
        return this;
    }

    /**
     * Makes this trainer rank {@code comm.rank()} of a data-parallel run (see the class comment) on CUDA device
     * {@code gpu} (its LOCAL_RANK; ignored on the CPU). Ranks other than 0 write no files and print nothing.
     */
    public Trainer dataParallel(Communicator comm, int gpu) {
        this.comm = comm;
        this.gpu = gpu;
        if (comm.rank() != 0) status = new StatusLine(new PrintStream(OutputStream.nullOutputStream()), false);
        return this;
    }

    /** Whether this process writes the run folder: rank 0, or the only process. */
    boolean writer() { return comm == null || comm.rank() == 0; }

    public Trainer hooks(Hooks hooks) {
        this.hooks = hooks;
        return this;
    }

    /** The config this trainer runs (a resumed run's stored one). */
    public TrainConfig config() { return cfg; }

    /** Asks the loop to stop after the current step and write a checkpoint (what SIGINT/SIGTERM do). */
    public void requestStop() { stopRequested = true; }

    /** Whether the last {@link #run} ended early on a stop request. */
    public boolean stopped() { return stopped; }

    /** The checkpoint the last {@link #run} wrote last, or null. */
    public Path lastCheckpoint() { return lastCheckpoint; }

    public Result run() {
        SignalStop own = signals == null ? new SignalStop(this) : null;
        try {
            RunLock lock = resuming && writer() ? RunLock.acquire(runDir) : null;
            try {
                return runLocked(lock);
            } finally {
                if (lock != null) lock.close();
            }
        } catch (RuntimeException | Error e) {
            if (comm != null) {
                try {
                    comm.abort(e); // the other ranks' collectives fail instead of waiting for this one
                } catch (RuntimeException abortFailed) {
                    e.addSuppressed(abortFailed);
                }
            }
            throw e;
        } finally {
            if (own != null) own.close();
        }
    }

    /** A signal handler installed around {@link #run} by the caller ({@link SignalStop#install}). */
    void signals(SignalStop s) { this.signals = s; }

    private Result runLocked(RunLock resumeLock) {
        // A resumed run verifies its checkpoint before anything else, so a damaged one changes nothing.
        CheckpointStore.Checkpoint from = null;
        if (resuming) {
            Path latest = CheckpointStore.latest(runDir);
            if (latest != null) {
                try {
                    from = CheckpointStore.load(latest);
                } catch (UserError e) {
                    List<Path> all = CheckpointStore.list(runDir);
                    throw new UserError(e.getMessage() + "; nothing was changed"
                            + (all.size() > 1 ? " (delete it to resume from " + all.get(all.size() - 2).getFileName() + ")" : ""), e);
                }
                if (!from.state().config().equals(withoutKeysAbsentFrom(JsonParser.parseString(cfg.toJson()).getAsJsonObject(),
                        from.state().config())))
                    throw new UserError("checkpoint " + latest + " was written with another config than " + runDir.resolve("config.json")
                            + "; nothing was changed");
            }
        }
        DataMeta meta = dataMeta();
        ModelConfig model = cfg.modelConfig(meta == null ? 0 : meta.vocabSize());
        resolved = cfg.with("vocab_size=" + model.vocabSize());
        Path valFile = dataDir.resolve(DatasetPreparer.VAL_FILE);
        boolean evaluate = cfg.evalInterval() > 0 && Files.exists(valFile);
        try (TokenDataset train = openTrain(model);
             TokenDataset val = evaluate ? TokenDataset.open(valFile, model.vocabSize(), model.blockSize()) : null) {
            // Everything that can refuse the run (including the backend) comes before the run folder is made, and
            // notices wait until then, so refused input gives one line on stderr and leaves no files.
            List<String> notices = new ArrayList<>();
            if (cfg.evalInterval() > 0 && !evaluate) notices.add("no " + valFile + ": validation is off");
            if (comm != null) checkShards(cfg.batchSizeSchedule().smallest(), 0, comm.worldSize());
            float[] initParams = from == null && initFrom != null ? pretrained(model) : null;
            try (Backend backend = hooks.backend().apply(Backends.open(cfg.device().name().toLowerCase(), model,
                    cfg.microBatchSize(), cfg.threadCount(), gpu, notices::add))) {
                RunLock lock = resuming || !writer() ? resumeLock : prepareRunDir(resolved, meta);
                try {
                    notices.forEach(status::notice);
                    if (resuming && writer()) prepareResume(from);
                    try (MetricsWriter metrics = writer() ? new MetricsWriter(runDir.resolve("metrics.jsonl")) : null) {
                        status.notice("model " + model + ", " + String.format("%,d", backend.layout().numParameters())
                                + " parameters, backend " + backend.name()
                                + (comm != null ? ", data parallel over " + comm.worldSize() + " ranks" + (cfg.gradOverlap()
                                ? " (gradient all-reduce overlapped with backward, " + cfg.gradBucketMb() + " MiB buckets)" : "") : "")
                                + (from != null ? "; resuming from " + from.dir().getFileName()
                                : initFrom != null ? "; weights from " + initFrom : ""));
                        Result result = loop(backend, train, val, metrics, from, initParams);
                        if (!writer()) return result;
                        if (!stopped) afterTraining.accept(backend);
                        if (!stopped) writeSummary(result); // summary.json marks a run that reached its end
                        status.notice("report: " + ReportWriter.writeForRun(runDir));
                        return result;
                    }
                } finally {
                    if (!resuming && lock != null) lock.close();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Refuses, as {@link #run} would as one of {@code worldSize} data-parallel ranks, a missing or unreadable data
     * dir, an out dir that holds a run, or a batch schedule with fewer micro-batches than ranks; reads but writes
     * nothing. {@code train --gpus N} calls it before starting the ranks, so bad input is one line from one process.
     */
    public void checkInputs(int worldSize) {
        DataMeta meta = dataMeta();
        try (TokenDataset _ = openTrain(cfg.modelConfig(meta == null ? 0 : meta.vocabSize()))) {
            if (!resuming) checkOutDir();
            if (worldSize > 1) checkShards(cfg.batchSizeSchedule().smallest(), 0, worldSize);
        }
    }

    private DataMeta dataMeta() {
        if (!Files.isDirectory(dataDir)) throw new UserError("data dir not found: " + dataDir);
        return TokenDataset.readMeta(dataDir);
    }

    private TokenDataset openTrain(ModelConfig model) {
        return TokenDataset.open(dataDir.resolve(DatasetPreparer.TRAIN_FILE), model.vocabSize(), model.blockSize());
    }

    /**
     * {@code current} less the keys that {@code stored} lacks: keys added to the config after a checkpoint was
     * written (e.g. pe_log_interval) do not stop an older run from resuming; it runs on with their defaults.
     */
    private static com.google.gson.JsonObject withoutKeysAbsentFrom(com.google.gson.JsonObject current,
                                                                     com.google.gson.JsonObject stored) {
        com.google.gson.JsonObject out = current.deepCopy();
        for (String k : current.keySet()) if (!stored.has(k)) out.remove(k);
        return out;
    }

    /** The --init-from weights for {@code model}; on resume, checked to be the very file the run started from. */
    private float[] pretrained(ModelConfig model) {
        HfGpt2.Pretrained hf = HfGpt2.open(initFrom);
        String sha = CheckpointStore.sha256(hf.weights());
        if (initFromSha256 != null && !initFromSha256.equals(sha))
            throw new UserError(initFrom + " changed since the run started from it (SHA-256 differs); cannot restart the run exactly");
        initFromSha256 = sha;
        return hf.params(model);
    }

    /** Mutable counters of the loop, saved in checkpoints. */
    private static final class Progress {
        int step, updates, badInARow, skipped, previousBatch;
        long tokens;
        double loss = Double.NaN, elapsedBefore;
        Double valLoss, gnsFed;
        long segmentStart = System.nanoTime();

        double elapsed() { return elapsedBefore + (System.nanoTime() - segmentStart) / 1e9; }
    }

    private Result loop(Backend backend, TokenDataset train, TokenDataset val, MetricsWriter metrics,
                        CheckpointStore.Checkpoint from, float[] initParams) {
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
        long[] stepOffsets = new long[Math.max(maxBatch, cfg.batchSizeStart())]; // token offset of each example of the step
        backend.initWeights(cfg.seed());
        if (initParams != null) backend.writeParams(initParams);

        Progress p = new Progress();
        if (from != null) restore(from, backend, gns, batches, p);
        CheckpointStore store = new CheckpointStore(runDir, cfg.keepCheckpoints(), hooks.checkpointSink());
        int checkpointed = from != null ? p.step : -1;
        boolean checkpointPending = false;
        int rank = comm == null ? 0 : comm.rank(), world = comm == null ? 1 : comm.worldSize();
        // The DDP-style two-batch GNS (local batch vs global batch), smoothed as the tracker smooths its estimates.
        Ema ddpGradSq = new Ema(cfg.gnsAlpha()), ddpTrace = new Ema(cfg.gnsAlpha());
        while (!reachedEnd(p) && !(comm == null ? stopRequested : stopAgreed)) {
            long stepStart = System.nanoTime();
            int B = batches.batchSize(p.tokens, p.step);
            Double gnsBefore = p.gnsFed;
            int accum = B / micro;
            if (comm != null) checkShards(B, p.step + 1, world);
            int first = (int) ((long) accum * rank / world), end = (int) ((long) accum * (rank + 1) / world);
            SplittableRandom rng = new SplittableRandom(stepSeed(cfg.seed(), p.step));
            backend.zeroGrad();
            stats.reset(first * micro);
            double lossSum = 0;
            for (int m = 0; m < accum; m++) {
                // Every rank draws every micro-batch: the RNG stream and the step's offsets are those of one process.
                train.sampleBatch(rng, micro, T, inputs, targets, offsets);
                System.arraycopy(offsets, 0, stepOffsets, m * micro, micro);
                if (m < first || m >= end) continue;
                // This rank's last micro-batch finishes the gradient: its backward may start the all-reduce.
                if (comm != null && cfg.gradOverlap() && m == end - 1) backend.overlapGradReduce(comm, cfg.gradBucketBytes());
                lossSum += backend.forwardBackward(inputs, targets, micro, T, 1f / B, tracking, cfg.linearNormMethod(), sq);
                if (tracking != NormTracking.OFF) stats.add(sq, micro);
            }
            DistributedGnsStats.Sums sums = null;
            double[] gradSq;
            if (comm != null) {
                int local = (end - first) * micro;
                // This rank's gradient is (1/B)·Σ_local g_b = (n_r/B)·G_r: |G_r|² for the two-batch estimate (still
                // the local one with grad_overlap: allReduceGrads completes the sum).
                double[] localGradSq = backend.gradSqPerTensor();
                double f = (double) B / local;
                for (int t = 0; t < localGradSq.length; t++) localGradSq[t] *= f * f;
                backend.allReduceGrads(comm); // the gradient sum is complete from here on
                // The summed gradient is the same on every rank, but its norms, reduced on the GPU with atomics, may
                // differ in the last bits; they feed the GNS, the batch schedule and clipping, so every rank takes
                // rank 0's (summed with zeros, which is exact).
                int nt = layout.numTensors();
                double[] slots = stats.exampleSlots(B), extra = new double[2 + nt + slots.length];
                extra[0] = lossSum;
                extra[1] = stopRequested ? 1 : 0;
                if (rank == 0) System.arraycopy(backend.gradSqPerTensor(), 0, extra, 2, nt);
                System.arraycopy(slots, 0, extra, 2 + nt, slots.length);
                sums = DistributedGnsStats.reduceSums(comm, stats.sqSumPerTensor, local, localGradSq, extra);
                if (sums.examples() != B)
                    throw new IllegalStateException("rank " + rank + ": the ranks disagree on the batch of step " + (p.step + 1)
                            + " (" + sums.examples() + " examples in all, " + B + " expected)");
                stats.setBatch(sums.perExampleSqSum(), extra, 2 + nt, B);
                lossSum = extra[0];
                stopAgreed = extra[1] > 0;
                gradSq = java.util.Arrays.copyOfRange(extra, 2, 2 + nt);
            } else {
                gradSq = backend.gradSqPerTensor();
            }
            p.loss = lossSum / accum;
            double gradNorm = Math.sqrt(sum(gradSq));
            double[] exampleSq = gns != null ? select(stats.sqSumPerTensor, tracked) : null;
            String bad = badReason(p.loss, gradNorm, exampleSq);
            p.tokens += (long) B * T;
            double lr = lrs.lr(p.tokens);
            p.step++;
            int step = p.step;
            if (bad == null) {
                p.badInARow = 0;
                if (gns != null) {
                    gns.update(exampleSq, B, select(gradSq, tracked));
                    // Feeds closed-loop batch schedules; the others ignore it.
                    p.gnsFed = cfg.adaptiveSource() == TrainConfig.AdaptiveSource.TOTAL && tracking == NormTracking.ALL
                            ? gns.gnsTotal() : gns.gnsLn();
                    batches.observe(p.gnsFed);
                }
                GnsEstimator.Estimate ddp = sums != null ? sums.result(gradSq).twoBatchEstimate() : null;
                if (ddp != null) {
                    ddpGradSq.update(ddp.gradSq());
                    ddpTrace.update(ddp.traceSigma());
                }
                if (cfg.gradClip() > 0 && gradNorm > cfg.gradClip()) backend.scaleGrads((float) (cfg.gradClip() / gradNorm));
                backend.adamwStep(cfg.adamW(), lr, ++p.updates);
            } else {
                p.badInARow++;
                p.skipped++;
            }

            double seconds = p.elapsed();
            double tokPerS = (double) B * T / ((System.nanoTime() - stepStart) / 1e9);
            boolean last = reachedEnd(p);
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("step", step);
            rec.put("tokens", p.tokens);
            rec.put("loss", p.loss);
            rec.put("lr", lr);
            rec.put("batch_size", B);
            rec.put("micro_batches", accum);
            rec.put("tok_per_s", tokPerS);
            rec.put("elapsed_s", seconds);
            rec.put("grad_norm", gradNorm);
            if (p.previousBatch != 0 && B != p.previousBatch) {
                // The first step with a new batch size says where it came from and the GNS the schedule had seen.
                Map<String, Object> change = new LinkedHashMap<>();
                change.put("from", p.previousBatch);
                change.put("to", B);
                change.put("gns", gnsBefore);
                rec.put("batch_change", change);
            }
            p.previousBatch = B;
            Double gnsTotal = gnsTotal(gns, tracking), gnsLn = gns != null ? gns.gnsLn() : null;
            rec.put("gns_total", gnsTotal);
            rec.put("gns_ln", gnsLn);
            if (comm != null) rec.put("gns_ddp", ddpTrace.value() == null ? null : GnsEstimator.bSimple(ddpTrace.value(), ddpGradSq.value()));
            rec.put("gns_type", gns != null ? gns.gnsByType() : Map.of());
            rec.put("gns_layer", gns != null && tracking == NormTracking.ALL ? gns.gnsByLayer() : Map.of());
            rec.put("pe_norm_total", tracking == NormTracking.ALL ? StepStats.norms(stats.exampleTotalSq, stats.examples) : null);
            rec.put("pe_norm_ln", tracking != NormTracking.OFF ? StepStats.norms(stats.exampleLnSq, stats.examples) : null);
            if (cfg.peLogInterval() > 0 && step % cfg.peLogInterval() == 0)
                rec.put("pe_examples", peExamples(stepOffsets, B, stats, tracking));
            if (bad != null) {
                rec.put("skipped", true);
                rec.put("skip_reason", bad);
            }
            if (val != null && (step % cfg.evalInterval() == 0 || last)) {
                p.valLoss = evaluate(backend, val, micro, T, rank, world);
                rec.put("val_loss", p.valLoss);
            }
            if (metrics != null) metrics.write(rec);
            if (step % cfg.logInterval() == 0 || last || rec.containsKey("val_loss"))
                status.step(step, cfg.maxSteps(), p.loss, p.valLoss, lr, B, tokPerS, gnsTotal, gnsLn);
            if (bad != null) {
                status.notice("step " + step + " skipped: " + bad + " (" + p.badInARow + " in a row; the run stops at max_bad_steps="
                        + cfg.maxBadSteps() + ")");
                if (p.badInARow >= cfg.maxBadSteps())
                    throw new UserError(p.badInARow + " steps in a row (" + (step - p.badInARow + 1) + " to " + step
                            + ") had a non-finite loss or gradient (last: " + bad + "): training diverged (lower learning_rate?)"
                            + (lastCheckpoint != null ? "; last checkpoint: " + lastCheckpoint : ""));
            }
            // A checkpoint that falls on a skipped step waits for the next good one.
            if ((cfg.checkpointInterval() > 0 && step % cfg.checkpointInterval() == 0) || checkpointPending) {
                checkpointPending = bad != null;
                if (bad == null) {
                    checkpoint(store, backend, gns, p, batches, lrs);
                    checkpointed = step;
                }
            }
            hooks.afterStep().accept(step);
        }
        status.done();
        if (p.step != checkpointed) checkpoint(store, backend, gns, p, batches, lrs);
        if ((comm == null ? stopRequested : stopAgreed) && !reachedEnd(p)) {
            stopped = true;
            status.notice("stopped at step " + p.step + " on request; checkpoint " + lastCheckpoint
                    + "; continue with: ./gns4j train --resume " + runDir);
        }
        return new Result(p.step, p.tokens, p.loss, p.valLoss, gnsTotal(gns, tracking), gns != null ? gns.gnsLn() : null,
                p.elapsed());
    }

    /** Whether the run has made all its steps or seen all its tokens. */
    private boolean reachedEnd(Progress p) {
        return p.step >= cfg.maxSteps() || (cfg.maxTokens() > 0 && p.tokens >= cfg.maxTokens());
    }

    /** The total GNS, defined only when every tensor is tracked. */
    private static Double gnsTotal(GnsTracker gns, NormTracking tracking) {
        return gns != null && tracking == NormTracking.ALL ? gns.gnsTotal() : null;
    }

    /**
     * The examples of a step in batch order: where each window starts in train.bin and its per-example gradient
     * norms over all tensors (null unless per_example_norms=all) and over the norm layers (null when tracking is off).
     * The backend reports no per-example loss, so none is recorded.
     */
    private static List<Map<String, Object>> peExamples(long[] offsets, int B, StepStats stats, NormTracking tracking) {
        List<Map<String, Object>> out = new ArrayList<>(B);
        for (int b = 0; b < B; b++) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("offset", offsets[b]);
            e.put("norm_total", tracking == NormTracking.ALL ? Math.sqrt(stats.exampleTotalSq[b]) : null);
            e.put("norm_ln", tracking != NormTracking.OFF ? Math.sqrt(stats.exampleLnSq[b]) : null);
            out.add(e);
        }
        return out;
    }

    /** Why a step must be skipped (a non-finite loss, gradient or per-example norm), or null if it is good. */
    private static String badReason(double loss, double gradNorm, double[] exampleSq) {
        if (!Double.isFinite(loss)) return "loss is " + loss;
        if (!Double.isFinite(gradNorm)) return "gradient norm is " + gradNorm;
        if (exampleSq != null)
            for (double v : exampleSq) if (!Double.isFinite(v)) return "a per-example gradient norm is " + v;
        return null;
    }

    private void restore(CheckpointStore.Checkpoint from, Backend backend, GnsTracker gns, BatchSchedule batches, Progress p) {
        ParameterLayout layout = backend.layout();
        TrainingState s = from.state();
        backend.writeParams(from.params(layout));
        float[] m = new float[layout.totalSize], v = new float[layout.totalSize];
        from.moments(layout, m, v);
        backend.writeOptimizerState(m, v);
        if (gns != null) {
            if (s.gns() == null) throw new UserError("checkpoint " + from.dir() + " has no GNS state");
            try {
                gns.restore(s.gns());
            } catch (IllegalArgumentException e) {
                throw new UserError("checkpoint " + from.dir() + ": " + e.getMessage(), e);
            }
        }
        p.step = s.step();
        p.tokens = s.tokens();
        p.updates = s.updates();
        p.badInARow = s.badStepsInARow();
        p.skipped = s.skippedSteps();
        p.elapsedBefore = s.elapsedS();
        p.loss = s.loss() == null ? Double.NaN : s.loss();
        p.valLoss = s.valLoss();
        TrainingState.Schedule sched = s.schedule();
        if (sched != null) {
            p.previousBatch = sched.lastBatch();
            p.gnsFed = sched.gnsFed();
            if (batches instanceof BatchSchedule.Adaptive a) {
                if (sched.adaptiveBatch() == null) throw new UserError("checkpoint " + from.dir() + " has no adaptive batch state");
                try {
                    a.restore(sched.adaptiveBatch(), sched.adaptiveLastChange(), sched.adaptiveGns());
                } catch (IllegalArgumentException e) {
                    throw new UserError("checkpoint " + from.dir() + ": " + e.getMessage(), e);
                }
            }
        }
        lastCheckpoint = from.dir();
    }

    private void checkpoint(CheckpointStore store, Backend backend, GnsTracker gns, Progress p, BatchSchedule batches,
                            LrSchedule lrs) {
        if (!writer()) return;
        ParameterLayout layout = backend.layout();
        float[] params = new float[layout.totalSize], m = new float[layout.totalSize], v = new float[layout.totalSize];
        backend.readParams(params);
        backend.readOptimizerState(m, v);
        for (float x : params)
            if (!Float.isFinite(x))
                throw new UserError("the weights are no longer finite at step " + p.step + "; not checkpointed"
                        + (lastCheckpoint != null ? " (last good checkpoint: " + lastCheckpoint + ")" : ""));
        JsonElement config = JsonParser.parseString(resolved.toJson());
        BatchSchedule.Adaptive adaptive = batches instanceof BatchSchedule.Adaptive a ? a : null;
        TrainingState.Schedule sched = new TrainingState.Schedule(p.previousBatch, finiteOrNull(p.gnsFed),
                adaptive != null ? adaptive.current() : null, adaptive != null ? adaptive.lastChangeStep() : 0,
                adaptive != null ? adaptive.lastGns() : null);
        TrainingState state = new TrainingState(TrainingState.FORMAT, p.step, p.tokens, p.updates, p.badInARow, p.skipped,
                p.elapsed(), finiteOrNull(p.loss), finiteOrNull(p.valLoss), lrs.lr(p.tokens), sched,
                TrainingState.RNG_SCHEME, cfg.seed(), gns != null ? gns.snapshot() : null, config.getAsJsonObject());
        lastCheckpoint = store.write(layout, params, m, v, state);
    }

    /**
     * The seed of step {@code step}'s data RNG: the splitmix64 finaliser of seed + (step+1)·golden gamma, so each
     * step's batches depend on (seed, step) only.
     */
    static long stepSeed(long seed, long step) {
        long z = seed + (step + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Mean loss over the validation batches; rank r of W evaluates batches r, r + W, … and the sums are all-reduced. */
    private double evaluate(Backend backend, TokenDataset val, int micro, int T, int rank, int world) {
        int[] inputs = new int[micro * T], targets = new int[micro * T];
        long batches = Math.min(cfg.evalBatches(), Math.max(1, val.windows(T) / micro));
        double[] sum = {0};
        for (long i = rank; i < batches; i += world) {
            val.sequentialBatch(i, micro, T, inputs, targets);
            sum[0] += backend.evaluate(inputs, targets, micro, T);
        }
        if (comm != null) comm.allReduceSum(sum);
        return sum[0] / batches;
    }

    /** Every one of {@code world} ranks needs at least one micro-batch of each step's batch of B. */
    private void checkShards(int B, int step, int world) {
        int accum = B / cfg.microBatchSize();
        if (accum < world)
            throw new UserError((step > 0 ? "step " + step + ": " : "") + "batch " + B + " is " + accum + " micro-batch(es) of "
                    + cfg.microBatchSize() + ", fewer than the " + world + " data-parallel ranks (each needs at least one;"
                    + " raise batch_size" + (cfg.batchSchedule() == TrainConfig.BatchScheduleType.FIXED ? "" : " and the schedule's smallest batch")
                    + " or lower micro_batch_size)");
    }

    /** Creates the run folder, locks it, and records config.json and run.json; returns the lock. */
    private RunLock prepareRunDir(TrainConfig resolved, DataMeta meta) throws IOException {
        checkOutDir();
        Files.createDirectories(runDir);
        RunLock lock = RunLock.acquire(runDir);
        try {
            checkOutDir(); // again under the lock: another run may have started there meanwhile
            Files.writeString(runDir.resolve("config.json"), resolved.toJson());
            new RunInfo(dataDir.toAbsolutePath().normalize().toString(), meta == null ? null : meta.tokenizer(),
                    initFrom == null ? null : initFrom.toString(), initFromSha256).write(runDir);
            return lock;
        } catch (RuntimeException | IOException e) {
            lock.close();
            throw e;
        }
    }

    /** Refuses an out dir that is a file or already holds a run. */
    private void checkOutDir() {
        if (Files.exists(runDir) && !Files.isDirectory(runDir)) throw new UserError("out dir " + runDir + " is a file");
        if (Files.exists(runDir.resolve("metrics.jsonl")))
            throw new UserError("out dir " + runDir + " already holds a run (metrics.jsonl); choose another --out-dir"
                    + " or continue it with --resume " + runDir);
    }

    /** Cleans what a killed run left: temporary checkpoint folders and metrics lines after the checkpoint. */
    private void prepareResume(CheckpointStore.Checkpoint from) {
        new CheckpointStore(runDir, cfg.keepCheckpoints(), hooks.checkpointSink()).removeTemporary();
        int step = from == null ? 0 : from.state().step();
        truncateMetrics(runDir.resolve("metrics.jsonl"), step);
        if (from == null) status.notice("no checkpoint in " + runDir + " yet: starting the run over");
    }

    /**
     * Keeps the lines of metrics.jsonl up to and including {@code step} (and drops a partial last line), replacing
     * the file atomically if anything changes; the resumed run then logs the later steps again, with the same values.
     */
    static void truncateMetrics(Path file, int step) {
        if (!Files.exists(file)) return;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        }
        int keep = 0;
        for (int start = 0; start < bytes.length; ) {
            int nl = start;
            while (nl < bytes.length && bytes[nl] != '\n') nl++;
            if (nl == bytes.length) break; // partial last line
            String line = new String(bytes, start, nl - start, StandardCharsets.UTF_8);
            try {
                JsonElement e = JsonParser.parseString(line);
                if (e.isJsonObject() && e.getAsJsonObject().has("step") && e.getAsJsonObject().get("step").getAsDouble() > step)
                    break;
            } catch (RuntimeException ex) {
                break; // a damaged line: it and everything after it are redone
            }
            start = nl + 1;
            keep = start;
        }
        if (keep < bytes.length) CheckpointStore.writeAtomically(file, java.util.Arrays.copyOf(bytes, keep));
    }

    private void writeSummary(Result r) throws IOException {
        var o = new com.google.gson.JsonObject();
        o.addProperty("steps", r.steps());
        o.addProperty("tokens", r.tokens());
        o.addProperty("loss", finiteOrNull(r.loss()));
        o.addProperty("valLoss", finiteOrNull(r.valLoss()));
        o.addProperty("gnsTotal", finiteOrNull(r.gnsTotal()));
        o.addProperty("gnsLn", finiteOrNull(r.gnsLn()));
        o.addProperty("seconds", r.seconds());
        Files.writeString(runDir.resolve("summary.json"), new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o));
    }

    private static Double finiteOrNull(Double v) { return v != null && Double.isFinite(v) ? v : null; }

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
