package gns4j.train;

import com.google.gson.JsonParser;
import gns4j.IoErrors;
import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.backend.select.Backends;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.HfGpt2;
import gns4j.checkpoint.RunInfo;
import gns4j.checkpoint.RunLock;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.parallel.Communicator;
import gns4j.model.ModelConfig;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.UnaryOperator;

/**
 * A training run: its inputs checked before anything is written ({@link RunInputs}), its folder ({@link RunDir}),
 * and the loop — per optimizer step the batch from the schedule, forward and backward with per-example norms
 * ({@link StepRunner}), the GNS update before clipping ({@link StepGns}), AdamW with an LR schedule in tokens,
 * validation when due ({@link Validation}), one metrics.jsonl line ({@link StepMetrics}).
 *
 * <p>Checkpoints ({@link CheckpointStore}) every checkpoint_interval steps and at the end. Step s draws its batches
 * from an RNG seeded by (seed, s) alone, so a run resumed from a checkpoint ({@link #resume}) repeats exactly the
 * steps the uninterrupted run would have made, bit for bit on the CPU. A step whose loss, gradient or per-example
 * norms are not finite is skipped (no GNS or optimizer update), logged with {@code "skipped": true}, and never
 * checkpointed; max_bad_steps of them in a row stop the run. SIGINT/SIGTERM finish the current step, write a
 * checkpoint and end the run cleanly. The run folder is locked ({@link RunLock}) while the run writes it.
 *
 * <p>Data parallel ({@link #dataParallel}): each of W ranks runs this loop on its own backend and its share of each
 * step's passes ({@link StepRunner}); the sums over the ranks make every rank see what one process would, so the
 * weights stay equal. Rank 0 alone writes the run folder and prints; a stop request on any rank stops every rank
 * after the same step.
 */
public final class Trainer {
    /** What a finished run reports. */
    /** device: the backend it trained on, as the run's first line names it (which card a run's seconds are of). */
    public record Result(int steps, long tokens, double loss, Double valLoss, Double gnsTotal, Double gnsLn,
                         double seconds, String device) {}

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

    /** The config keys a resumed run may change: how long it runs. */
    public static final Set<String> LENGTH_KEYS = Set.of("max_steps", "max_tokens");

    private final TrainConfig cfg;
    private final Path dataDir, runDir;
    private final RunDir folder;
    private final RunInputs inputs;
    private StatusLine status;
    /** The data-parallel group, or null for one process; this rank's CUDA device. */
    private Communicator comm;
    private int gpu;
    private final boolean resuming;
    /** A resumed run given another max_steps or max_tokens than its config.json holds. */
    private boolean lengthChanged;
    private Path initFrom;
    private String initFromSha256;
    private Hooks hooks = Hooks.NONE;
    private volatile boolean stopRequested;
    private boolean stopped;
    private TrainConfig resolved;
    private Checkpoints checkpoints;
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
        return resume(runDir, dataDir, status, List.of());
    }

    /**
     * {@link #resume(Path, Path, StatusLine)} with a new length: {@code lengthOverrides} ("max_steps=N",
     * "max_tokens=N") shorten or lengthen the run; its config.json takes them once the resume is accepted.
     *
     * @throws UserError for an override of any other key
     */
    public static Trainer resume(Path runDir, Path dataDir, StatusLine status, List<String> lengthOverrides) {
        RunInfo info = RunInfo.read(runDir);
        RunDir folder = new RunDir(runDir);
        TrainConfig stored = folder.readConfig();
        for (String kv : lengthOverrides) {
            String key = kv.substring(0, Math.max(0, kv.indexOf('='))).trim();
            if (!LENGTH_KEYS.contains(key))
                throw new UserError("a resumed run keeps its config but for max_steps and max_tokens; cannot change '"
                        + key + "'");
        }
        TrainConfig cfg = stored.with(lengthOverrides.toArray(String[]::new));
        Trainer t = new Trainer(cfg, dataDir != null ? dataDir : Path.of(info.dataDir()), runDir, status, true);
        t.lengthChanged = !cfg.equals(stored);
        if (info.initFrom() != null) {
            t.initFrom = Path.of(info.initFrom());
            t.initFromSha256 = info.initFromSha256();
        }
        return t;
    }

    /** Starts from the weights of a Hugging Face GPT-2 or Llama folder (or model.safetensors) instead of a random init. */
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
    public Path lastCheckpoint() { return checkpoints == null ? null : checkpoints.last(); }

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
        CheckpointStore.Checkpoint checkpoint = resuming ? inputs.latestCheckpoint() : null;
        DataMeta meta = inputs.dataMeta();
        ModelConfig model = inputs.model(meta);
        Path valFile = inputs.valFile();
        try (TokenDataset train = inputs.openTrain(model);
             TokenDataset val = valFile != null ? TokenDataset.open(valFile, model.vocabSize(), model.blockSize()) : null) {
            // Everything that can refuse the run (including the backend) comes before the run folder is made, and
            // notices wait until then, so refused input gives one line on stderr and leaves no files.
            List<String> notices = new ArrayList<>();
            if ((cfg.run().evalInterval() > 0 || cfg.run().evalIntervalTokens() > 0) && val == null)
                notices.add("no " + dataDir.resolve(DatasetPreparer.VAL_FILE) + ": validation is off");
            if (comm != null) RunInputs.checkShards(cfg, cfg.batch().schedule().smallest(), 0, comm.worldSize());
            RunInputs.ResumePoint from = inputs.resumePoint(checkpoint, model);
            float[] initParams = null;
            if (from == null && initFrom != null) {
                RunInputs.Pretrained pre = RunInputs.pretrained(initFrom, initFromSha256, model);
                initParams = pre.params();
                initFromSha256 = pre.sha256();
            }
            RunDir.MetricsCut metricsCut = resuming && writer() ? folder.metricsCut(from == null ? 0 : from.state().step()) : null;
            String device = Backends.resolve(cfg.run().device().name().toLowerCase(), model, notices::add);
            int maxMicro = inputs.maxMicroBatch(device, model, comm, gpu);
            resolved = cfg.with("vocab_size=" + model.vocabSize());
            if (cfg.batch().autoMicroBatch()) resolved = resolved.with("max_micro_batch=" + maxMicro); // a resume splits alike
            try (Backend backend = hooks.backend().apply(Backends.open(device, model, maxMicro, cfg.run().threadCount(), gpu,
                    notices::add))) {
                // The event file is made before the run folder, so an unwritable tensorboard_dir leaves no run folder,
                // and removed again when the run folder is refused.
                TensorBoardOutput tensorboard = writer() ? TensorBoardOutput.open(cfg.run().tensorboardDir()) : TensorBoardOutput.NONE;
                RunLock lock;
                try {
                    lock = resuming || !writer() ? resumeLock : folder.create(resolved, new RunInfo(
                            dataDir.toAbsolutePath().normalize().toString(), meta == null ? null : meta.tokenizer(),
                            initFrom == null ? null : initFrom.toString(), initFromSha256), dataDir);
                } catch (RuntimeException e) {
                    tensorboard.remove();
                    throw e;
                }
                try (tensorboard) {
                    notices.forEach(status::notice);
                    if (resuming && writer()) {
                        resumeLock.recordOwner(); // the first change to the folder: nothing above may refuse after it
                        prepareResume(from, metricsCut);
                    }
                    try (MetricsWriter metrics = writer() ? new MetricsWriter(folder.metrics(), hooks.metricsOpener()) : null) {
                        status.notice("model " + model.describe() + ", " + String.format("%,d", backend.layout().numParameters())
                                + " parameters, backend " + backend.name() + ", micro-batch " + (cfg.batch().autoMicroBatch()
                                ? "= batch up to " + maxMicro : Integer.toString(maxMicro))
                                + (comm != null ? ", data parallel over " + comm.worldSize() + " ranks" + (cfg.dataParallel().gradOverlap()
                                ? " (gradient all-reduce overlapped with backward, " + cfg.dataParallel().gradBucketMb() + " MiB buckets)" : "") : "")
                                + (from != null ? "; resuming from " + from.checkpoint().dir().getFileName()
                                : initFrom != null ? "; weights from " + initFrom : ""));
                        Validation validation = val == null ? null : new Validation(val, model.blockSize(), cfg.run().evalSequences());
                        TrainingLoop loop = new TrainingLoop(cfg, backend, comm, status, hooks, metrics, () -> stopRequested,
                                new Checkpoints(new CheckpointStore(runDir, cfg.run().keepCheckpoints(), hooks.checkpointSink()),
                                        backend, writer(), JsonParser.parseString(resolved.toJson()).getAsJsonObject(), null));
                        checkpoints = loop.checkpoints();
                        Result result = loop.run(train, validation, from, initParams, tensorboard.events());
                        stopped = loop.stopped();
                        if (!writer()) return result;
                        if (!stopped) afterTraining.accept(backend);
                        if (!stopped) folder.writeSummary(result); // summary.json marks a run that reached its end
                        return result;
                    }
                } finally {
                    if (!resuming && lock != null) lock.close();
                }
            }
        } catch (IOException e) { // opening or closing metrics.jsonl
            throw new UserError("cannot write " + folder.metrics() + ": " + IoErrors.reason(e), e);
        }
    }

    /**
     * Refuses, as {@link #run} would as one of {@code worldSize} data-parallel ranks, a missing or unreadable data
     * dir, an out dir that holds a run, or a batch schedule with fewer passes than ranks; reads but writes nothing.
     * {@code train --gpus N} calls it before starting the ranks, so bad input is one line from one process.
     */
    public void checkInputs(int worldSize) {
        try (TokenDataset _ = inputs.openTrain(inputs.model(inputs.dataMeta()))) {
            if (!resuming) folder.checkFree(dataDir);
            if (worldSize > 1) RunInputs.checkShards(cfg, cfg.batch().schedule().smallest(), 0, worldSize);
        }
    }

    /**
     * The writes of an accepted resume: temporary checkpoint folders and metrics lines after the checkpoint go; a new
     * length goes into config.json, and the summary.json of an earlier end goes (the new end writes it again).
     */
    private void prepareResume(RunInputs.ResumePoint from, RunDir.MetricsCut metricsCut) {
        new CheckpointStore(runDir, cfg.run().keepCheckpoints(), hooks.checkpointSink()).removeTemporary();
        metricsCut.apply();
        if (lengthChanged) {
            CheckpointStore.writeAtomically(folder.config(), cfg.toJson().getBytes(StandardCharsets.UTF_8));
            folder.removeSummary();
            status.notice("the run continues to max_steps " + cfg.run().maxSteps() + (cfg.run().maxTokens() > 0
                    ? ", max_tokens " + cfg.run().maxTokens() : "") + " (recorded in " + folder.config() + ")");
        }
        if (from == null) status.notice("no checkpoint in " + runDir + " yet: starting the run over");
    }
}
