package gns4j.train;

import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.backend.Backends;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.HfGpt2;
import gns4j.checkpoint.RunInfo;
import gns4j.checkpoint.RunLock;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.dist.Communicator;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
     * create checkpoint files and open metrics.jsonl (e.g. a disk that fills up).
     */
    public record Hooks(UnaryOperator<Backend> backend, IntConsumer afterStep, CheckpointStore.FileSink checkpointSink,
                        MetricsWriter.Opener metricsOpener) {
        public static final Hooks NONE = new Hooks(b -> b, s -> {}, CheckpointStore.DISK);

        public Hooks(UnaryOperator<Backend> backend, IntConsumer afterStep, CheckpointStore.FileSink checkpointSink) {
            this(backend, afterStep, checkpointSink, MetricsWriter.DISK);
        }
    }

    private final TrainConfig cfg;
    private final Path dataDir, runDir;
    private final RunDir folder;
    private final RunInputs inputs;
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
        this.folder = new RunDir(runDir);
        this.inputs = new RunInputs(cfg, dataDir, folder);
        this.status = status;
        this.resuming = resuming;
    }

    /**
     * Continues the run in {@code runDir} with its stored config from its newest checkpoint (or from the start if
     * it has none yet), on the data dir it recorded unless {@code dataDir} is given (moved data).
     */
    public static Trainer resume(Path runDir, Path dataDir, StatusLine status) {
        RunInfo info = RunInfo.read(runDir);
        TrainConfig cfg = new RunDir(runDir).readConfig();
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
            RunLock lock = resuming && writer() ? folder.lock() : null;
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
        CheckpointStore.Checkpoint from = resuming ? inputs.latestCheckpoint() : null;
        DataMeta meta = inputs.dataMeta();
        ModelConfig model = inputs.model(meta);
        Path valFile = inputs.valFile();
        try (TokenDataset train = inputs.openTrain(model);
             TokenDataset val = valFile != null ? TokenDataset.open(valFile, model.vocabSize(), model.blockSize()) : null) {
            // Everything that can refuse the run (including the backend) comes before the run folder is made, and
            // notices wait until then, so refused input gives one line on stderr and leaves no files.
            List<String> notices = new ArrayList<>();
            if ((cfg.evalInterval() > 0 || cfg.evalIntervalTokens() > 0) && val == null)
                notices.add("no " + dataDir.resolve(DatasetPreparer.VAL_FILE) + ": validation is off");
            if (comm != null) inputs.checkShards(cfg.batchSizeSchedule().smallest(), 0, comm.worldSize());
            float[] initParams = null;
            if (from == null && initFrom != null) {
                RunInputs.Pretrained pre = RunInputs.pretrained(initFrom, initFromSha256, model);
                initParams = pre.params();
                initFromSha256 = pre.sha256();
            }
            String device = Backends.resolve(cfg.device().name().toLowerCase(), notices::add);
            int maxMicro = inputs.maxMicroBatch(device, model, comm, gpu);
            resolved = cfg.with("vocab_size=" + model.vocabSize());
            if (cfg.autoMicroBatch()) resolved = resolved.with("max_micro_batch=" + maxMicro); // a resume splits alike
            try (Backend backend = hooks.backend().apply(Backends.open(device, model, maxMicro, cfg.threadCount(), gpu,
                    notices::add))) {
                RunLock lock = resuming || !writer() ? resumeLock : folder.create(resolved, new RunInfo(
                        dataDir.toAbsolutePath().normalize().toString(), meta == null ? null : meta.tokenizer(),
                        initFrom == null ? null : initFrom.toString(), initFromSha256));
                try {
                    notices.forEach(status::notice);
                    if (resuming && writer()) {
                        resumeLock.recordOwner(); // the first change to the folder: nothing above may refuse after it
                        prepareResume(from);
                    }
                    try (MetricsWriter metrics = writer() ? new MetricsWriter(folder.metrics(), hooks.metricsOpener()) : null) {
                        status.notice("model " + model + ", " + String.format("%,d", backend.layout().numParameters())
                                + " parameters, backend " + backend.name() + ", micro-batch " + (cfg.autoMicroBatch()
                                ? "= batch up to " + maxMicro : Integer.toString(maxMicro))
                                + (comm != null ? ", data parallel over " + comm.worldSize() + " ranks" + (cfg.gradOverlap()
                                ? " (gradient all-reduce overlapped with backward, " + cfg.gradBucketMb() + " MiB buckets)" : "") : "")
                                + (from != null ? "; resuming from " + from.dir().getFileName()
                                : initFrom != null ? "; weights from " + initFrom : ""));
                        Validation validation = val == null ? null : new Validation(val, model.blockSize(), cfg.evalSequences());
                        Result result = loop(backend, train, validation, metrics, from, initParams);
                        if (!writer()) return result;
                        if (!stopped) afterTraining.accept(backend);
                        if (!stopped) folder.writeSummary(result); // summary.json marks a run that reached its end
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
     * dir, an out dir that holds a run, or a batch schedule with fewer passes than ranks; reads but writes nothing.
     * {@code train --gpus N} calls it before starting the ranks, so bad input is one line from one process.
     */
    public void checkInputs(int worldSize) {
        try (TokenDataset _ = inputs.openTrain(inputs.model(inputs.dataMeta()))) {
            if (!resuming) folder.checkFree();
            if (worldSize > 1) inputs.checkShards(cfg.batchSizeSchedule().smallest(), 0, worldSize);
        }
    }

    /**
     * The training loop: per step the batch size from the schedule, forward and backward ({@link StepRunner}), the
     * GNS update, clipping and AdamW, validation when due, one metrics line, a checkpoint when due.
     */
    private Result loop(Backend backend, TokenDataset train, Validation val, MetricsWriter metrics,
                        CheckpointStore.Checkpoint from, float[] initParams) {
        BatchSchedule batches = cfg.batchSizeSchedule();
        LrSchedule lrs = cfg.lrSchedule();
        StepGns gns = new StepGns(backend.layout(), cfg.perExampleNorms(), cfg.gnsAlpha());
        StepStats stats = new StepStats(backend.layout(), cfg.perExampleNorms(), cfg.largestBatch());
        StepRunner runner = new StepRunner(cfg, backend, comm, stats, cfg.largestBatch());
        backend.initWeights(cfg.seed());
        if (initParams != null) backend.writeParams(initParams);
        Progress p = new Progress();
        if (from != null) restore(from, backend, gns, batches, p);
        CheckpointStore store = new CheckpointStore(runDir, cfg.keepCheckpoints(), hooks.checkpointSink());
        int checkpointed = from != null ? p.step : -1;
        boolean checkpointPending = false;
        while (!reachedEnd(p) && !(comm == null ? stopRequested : stopAgreed)) {
            long stepStart = System.nanoTime();
            int B = batches.batchSize(p.tokens, p.step);
            if (comm != null) inputs.checkShards(B, p.step + 1, comm.worldSize());
            StepRunner.Result r = runner.run(train, B, stepSeed(cfg.seed(), p.step), stopRequested);
            if (comm != null) stopAgreed = r.stop();
            p.loss = r.loss();
            double gradNorm = Math.sqrt(java.util.Arrays.stream(r.gradSq()).sum());
            double[] exampleSq = gns.exampleSq(stats);
            String bad = badReason(p.loss, gradNorm, exampleSq);
            long tokensBefore = p.tokens;
            p.tokens += (long) B * cfg.blockSize();
            double lr = lrs.lr(p.tokens);
            p.step++;
            Double gnsBefore = p.gnsFed;
            if (bad == null) {
                p.badInARow = 0;
                p.gnsFed = gns.update(exampleSq, B, r.gradSq(), r.ranks(), cfg.adaptiveSource());
                batches.observe(p.gnsFed); // closed-loop schedules follow it; the others ignore it
                if (cfg.gradClip() > 0 && gradNorm > cfg.gradClip()) backend.scaleGrads((float) (cfg.gradClip() / gradNorm));
                backend.adamwStep(cfg.adamW(), lr, ++p.updates);
            } else {
                p.badInARow++;
                p.skipped++;
            }
            double tokPerS = (double) B * cfg.blockSize() / ((System.nanoTime() - stepStart) / 1e9);
            boolean last = reachedEnd(p);
            StepMetrics m = new StepMetrics(p.step, p.tokens, p.loss, lr, B, r.passes(), r.largest(), tokPerS,
                    p.elapsed(), gradNorm, p.previousBatch != 0 && B != p.previousBatch ? p.previousBatch : null, gnsBefore,
                    gns.total(), gns.ln(), comm != null ? gns.ddp() : StepMetrics.ABSENT, gns.byType(), gns.byLayer(),
                    gns.normsTotal(stats), gns.normsLn(stats), cfg.peLogInterval() > 0 && p.step % cfg.peLogInterval() == 0
                    ? gns.examples(runner.offsets(), B, stats) : null, bad);
            p.previousBatch = B;
            Map<String, Object> rec = m.toMap();
            if (val != null && (last || evaluationDue(tokensBefore, p))) {
                p.valLoss = val.loss(backend, comm);
                rec.put("val_loss", p.valLoss);
            }
            if (metrics != null && !metrics.write(rec)) stopRequested = true; // a full disk stops as SIGTERM does
            if (p.step % cfg.logInterval() == 0 || last || rec.containsKey("val_loss"))
                status.step(new StatusLine.Position(p.step, cfg.maxSteps(), p.tokens, cfg.maxTokens(), p.elapsed()),
                        p.loss, p.valLoss, lr, B, tokPerS, m.gnsTotal(), m.gnsLn());
            if (bad != null) {
                status.notice("step " + p.step + " skipped: " + bad + " (" + p.badInARow + " in a row; the run stops at max_bad_steps="
                        + cfg.maxBadSteps() + ")");
                if (p.badInARow >= cfg.maxBadSteps())
                    throw new UserError(p.badInARow + " steps in a row (" + (p.step - p.badInARow + 1) + " to " + p.step
                            + ") had a non-finite loss or gradient (last: " + bad + "): training diverged (lower learning_rate?)"
                            + (lastCheckpoint != null ? "; last checkpoint: " + lastCheckpoint : ""));
            }
            // A checkpoint that falls on a skipped step waits for the next good one.
            if ((cfg.checkpointInterval() > 0 && p.step % cfg.checkpointInterval() == 0) || checkpointPending) {
                checkpointPending = bad != null;
                if (bad == null) {
                    checkpoint(store, backend, gns, p, batches, lrs);
                    checkpointed = p.step;
                }
            }
            hooks.afterStep().accept(p.step);
        }
        status.done();
        // Checkpoint only a step whose metrics line is out; else the last checkpoint stays and a resume redoes the rest.
        if (p.step != checkpointed && (metrics == null || metrics.flush())) checkpoint(store, backend, gns, p, batches, lrs);
        UserError metricsLost = metrics == null ? null : metrics.stopError(p.step, lastCheckpoint, runDir);
        if (metricsLost != null) throw metricsLost;
        if ((comm == null ? stopRequested : stopAgreed) && !reachedEnd(p)) {
            stopped = true;
            status.notice("stopped at step " + p.step + " on request; checkpoint " + lastCheckpoint
                    + "; continue with: ./gns4j train --resume " + runDir);
        }
        return new Result(p.step, p.tokens, p.loss, p.valLoss, gns.total(), gns.ln(), p.elapsed());
    }

    /**
     * Whether the step that ended at {@code p} evaluates: every eval_interval_tokens tokens when that is set (the
     * same token points for every batch schedule), else every eval_interval steps.
     */
    private boolean evaluationDue(long tokensBefore, Progress p) {
        if (cfg.evalIntervalTokens() > 0) return p.tokens / cfg.evalIntervalTokens() > tokensBefore / cfg.evalIntervalTokens();
        return cfg.evalInterval() > 0 && p.step % cfg.evalInterval() == 0;
    }

    /** Whether the run has made all its steps or seen all its tokens. */
    private boolean reachedEnd(Progress p) {
        return p.step >= cfg.maxSteps() || (cfg.maxTokens() > 0 && p.tokens >= cfg.maxTokens());
    }

    /** Why a step must be skipped (a non-finite loss, gradient or per-example norm), or null if it is good. */
    private static String badReason(double loss, double gradNorm, double[] exampleSq) {
        if (!Double.isFinite(loss)) return "loss is " + loss;
        if (!Double.isFinite(gradNorm)) return "gradient norm is " + gradNorm;
        if (exampleSq != null)
            for (double v : exampleSq) if (!Double.isFinite(v)) return "a per-example gradient norm is " + v;
        return null;
    }

    private void restore(CheckpointStore.Checkpoint from, Backend backend, StepGns gns, BatchSchedule batches, Progress p) {
        ParameterLayout layout = backend.layout();
        backend.writeParams(from.params(layout));
        float[] m = new float[layout.totalSize], v = new float[layout.totalSize];
        from.moments(layout, m, v);
        backend.writeOptimizerState(m, v);
        gns.restore(from.state(), from.dir().toString());
        p.restore(from.state(), batches, from.dir().toString());
        lastCheckpoint = from.dir();
    }

    private void checkpoint(CheckpointStore store, Backend backend, StepGns gns, Progress p, BatchSchedule batches,
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
        lastCheckpoint = store.write(layout, params, m, v, p.state(batches, lrs.lr(p.tokens), cfg.seed(), gns.snapshot(),
                JsonParser.parseString(resolved.toJson()).getAsJsonObject()));
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

    /** Cleans what a killed run left: temporary checkpoint folders and metrics lines after the checkpoint. */
    private void prepareResume(CheckpointStore.Checkpoint from) {
        new CheckpointStore(runDir, cfg.keepCheckpoints(), hooks.checkpointSink()).removeTemporary();
        int step = from == null ? 0 : from.state().step();
        folder.truncateMetrics(step);
        if (from == null) status.notice("no checkpoint in " + runDir + " yet: starting the run over");
    }
}
