package gns4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.backend.MemoryPlan;
import gns4j.backend.select.Backends;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.HfGpt2;
import gns4j.checkpoint.TrainingState;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.data.Tokenizers;
import gns4j.parallel.Communicator;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What a run reads before it starts, each refusing bad input with one line before anything is written: the data
 * dir, the checkpoint a resumed run continues from, pretrained weights, and the largest micro-batch.
 */
record RunInputs(TrainConfig cfg, Path dataDir, RunDir folder) {

    /** meta.json of the data dir (null for plain token files), with a tokenizer that sample and measure can load. */
    DataMeta dataMeta() {
        if (!Files.isDirectory(dataDir)) throw new UserError("data dir not found: " + dataDir);
        DataMeta meta = TokenDataset.readMeta(dataDir);
        if (meta != null && meta.tokenizer() != null && !List.of(Tokenizers.NAMES.split(", ")).contains(meta.tokenizer()))
            throw new UserError(dataDir.resolve("meta.json") + " names the tokenizer '" + meta.tokenizer() + "', which gns4j"
                    + " does not have (valid: " + Tokenizers.NAMES + "); prepare the data again");
        return meta;
    }

    /** The model shape, refused with one line when its parameters do not fit one flat buffer. */
    ModelConfig model(DataMeta meta) {
        ModelConfig m = cfg.model().modelConfig(meta == null ? 0 : meta.vocabSize());
        try {
            new ParameterLayout(m);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage() + "; lower n_embd, n_layer or the vocabulary");
        }
        return m;
    }

    TokenDataset openTrain(ModelConfig model) {
        return TokenDataset.open(dataDir.resolve(DatasetPreparer.TRAIN_FILE), model.vocabSize(), model.blockSize());
    }

    /** val.bin when the config evaluates and the file exists, else null. */
    Path valFile() {
        Path f = dataDir.resolve(DatasetPreparer.VAL_FILE);
        return (cfg.run().evalInterval() > 0 || cfg.run().evalIntervalTokens() > 0) && Files.exists(f) ? f : null;
    }

    /** Keys every checkpoint's config has held: a state.json whose config lacks one is damaged. */
    private static final List<String> ALWAYS_STORED = List.of("n_layer", "n_head", "n_embd", "block_size", "vocab_size",
            "batch_size", "learning_rate", "seed");

    /**
     * The newest checkpoint of the run folder, verified and written with this config (but for {@link Trainer#LENGTH_KEYS});
     * null when there is none.
     */
    CheckpointStore.Checkpoint latestCheckpoint() {
        Path latest = CheckpointStore.latest(folder.path());
        if (latest == null) return null;
        CheckpointStore.Checkpoint from;
        try {
            from = CheckpointStore.load(latest);
        } catch (UserError e) {
            List<Path> all = CheckpointStore.list(folder.path());
            throw new UserError(e.getMessage() + "; nothing was changed"
                    + (all.size() > 1 ? " (delete it to resume from " + all.get(all.size() - 2).getFileName() + ")" : ""), e);
        }
        JsonObject stored = withoutLengthKeys(from.state().config());
        for (String key : ALWAYS_STORED)
            if (!stored.has(key))
                throw new UserError("checkpoint " + latest + " is damaged: the config in its " + CheckpointStore.STATE_FILE
                        + " lacks " + key + "; nothing was changed");
        JsonObject current = withoutLengthKeys(JsonParser.parseString(cfg.toJson()).getAsJsonObject());
        if (!stored.equals(withoutKeysAbsentFrom(current, stored)))
            throw new UserError("checkpoint " + latest + " was written with another config than " + folder.config()
                    + "; nothing was changed");
        return from;
    }

    private static JsonObject withoutLengthKeys(JsonObject config) {
        JsonObject out = config.deepCopy();
        Trainer.LENGTH_KEYS.forEach(out::remove);
        return out;
    }

    /**
     * {@code current} less the keys that {@code stored} lacks: keys added to the config after a checkpoint was
     * written do not stop an older run from resuming; it runs on with their defaults.
     */
    private static JsonObject withoutKeysAbsentFrom(JsonObject current, JsonObject stored) {
        JsonObject out = current.deepCopy();
        for (String k : current.keySet()) if (!stored.has(k)) out.remove(k);
        return out;
    }

    /** A checkpoint checked in full, with its weights and AdamW moments in the model's flat layout. */
    record ResumePoint(CheckpointStore.Checkpoint checkpoint, float[] params, float[] m, float[] v) {
        TrainingState state() { return checkpoint.state(); }
    }

    /**
     * Reads and checks everything of {@code from} that the run will use (seed, counters against max_steps and
     * max_tokens, every tensor's shape, the moments, the GNS and batch-schedule state), so that a resume is refused
     * before it changes a byte of the folder; null for null.
     */
    ResumePoint resumePoint(CheckpointStore.Checkpoint from, ModelConfig model) {
        if (from == null) return null;
        TrainingState s = from.state();
        String where = from.dir().toString();
        try {
            if (s.seed() != cfg.run().seed())
                throw new UserError("checkpoint " + where + " is of seed " + s.seed() + ", but the run's config has seed "
                        + cfg.run().seed());
            if (s.step() > cfg.run().maxSteps())
                throw new UserError("checkpoint " + where + " is at step " + s.step() + ", past max_steps "
                        + cfg.run().maxSteps() + " (a run can be shortened to no fewer steps than it has made)");
            if (cfg.run().maxTokens() > 0 && s.tokens() > cfg.run().maxTokens())
                throw new UserError("checkpoint " + where + " has seen " + s.tokens() + " tokens, more than max_tokens "
                        + cfg.run().maxTokens());
            ParameterLayout layout = new ParameterLayout(model);
            float[] params = from.params(layout), m = new float[layout.totalSize], v = new float[layout.totalSize];
            from.moments(layout, m, v);
            new StepGns(layout, cfg.gns().perExampleNorms(), cfg.gns().gnsAlpha()).restore(s, where);
            new Progress().restore(s, cfg.batch().schedule(), where);
            return new ResumePoint(from, params, m, v);
        } catch (UserError e) {
            throw new UserError(e.getMessage() + "; nothing was changed", e);
        }
    }

    /** Pretrained weights and the SHA-256 of their file. */
    record Pretrained(float[] params, String sha256) {}

    /** The --init-from weights for {@code model}; {@code expectedSha256} (a resumed run's) must match when given. */
    static Pretrained pretrained(Path initFrom, String expectedSha256, ModelConfig model) {
        HfGpt2.Pretrained hf = HfGpt2.open(initFrom);
        String sha = CheckpointStore.sha256(hf.weights());
        if (expectedSha256 != null && !expectedSha256.equals(sha))
            throw new UserError(initFrom + " changed since the run started from it (SHA-256 differs); cannot restart the run exactly");
        return new Pretrained(hf.params(model), sha);
    }

    /**
     * The largest pass of a step: micro_batch_size when given; else the largest batch of the run, capped by
     * max_micro_batch or, when that is auto, by what fits the device's memory ({@link Backends#largestMicroBatch}),
     * the same on every data-parallel rank (the smallest of theirs).
     */
    int maxMicroBatch(String device, ModelConfig model, Communicator comm, int gpu) {
        checkBatchRecords();
        long parameters = new ParameterLayout(model).totalSize;
        if (!cfg.batch().autoMicroBatch() || cfg.batch().maxMicroBatch() > 0) {
            // A given micro-batch is checked against memory before anything is allocated.
            int asked = cfg.batch().autoMicroBatch() ? Math.min(cfg.batch().largest(), cfg.batch().maxMicroBatch()) : cfg.batch().microBatchSize();
            int fit = Backends.largestMicroBatch(device, model, parameters, asked, gpu);
            if (fit < asked)
                throw new UserError(String.format("a micro-batch of %d sequences needs about %,d MiB of activations, but only"
                                + " about %d sequences fit the free memory; lower %s (or set micro_batch_size=auto)", asked,
                        asked * MemoryPlan.bytesPerSequence(device, model) >> 20, fit,
                        cfg.batch().autoMicroBatch() ? "max_micro_batch" : "micro_batch_size"));
            return asked;
        }
        int cap = cfg.batch().largest();
        int fit = Backends.largestMicroBatch(device, model, parameters, cap, gpu);
        if (comm == null) return fit;
        double[] each = new double[comm.worldSize()];
        each[comm.rank()] = fit;
        comm.allReduceSum(each);
        return (int) Arrays.stream(each).min().orElseThrow();
    }

    /**
     * Heap bytes per sequence of a step's batch besides the activations: its per-example squared norms and data
     * offset, and its per-example norms in the metrics line as numbers and as JSON text (about 8 + 16 + 8 + 2·(16 +
     * 24 + 2·24) bytes), rounded up.
     */
    static final long RECORD_BYTES_PER_SEQUENCE = 256;

    /** Refuses a batch whose per-example records alone would not fit half the free heap. */
    private void checkBatchRecords() {
        long need = cfg.batch().largest() * RECORD_BYTES_PER_SEQUENCE, free = MemoryPlan.freeHeap();
        if (need > free / 2)
            throw new UserError(String.format("a batch of %d sequences needs about %,d MiB for its per-example records"
                    + " (norms, data offsets, the metrics line), but the JVM heap has %,d MiB free; lower batch_size (or give"
                    + " Java more heap with GNS4J_JAVA_OPTS=-Xmx...g)", cfg.batch().largest(), need >> 20, free >> 20));
    }

    /** Refuses a step batch of B that gives some of {@code world} data-parallel ranks no pass. */
    static void checkShards(TrainConfig cfg, int B, int step, int world) {
        int passes = cfg.batch().autoMicroBatch() ? B : B / cfg.batch().microBatchSize();
        if (passes < world)
            throw new UserError((step > 0 ? "step " + step + ": " : "") + "batch " + B + " is " + passes
                    + (cfg.batch().autoMicroBatch() ? " sequence(s)" : " micro-batch(es) of " + cfg.batch().microBatchSize())
                    + ", fewer than the " + world + " data-parallel ranks (each needs at least one;"
                    + " raise batch_size" + (cfg.batch().batchSchedule() == TrainConfig.BatchScheduleType.FIXED ? "" : " and the schedule's smallest batch")
                    + (cfg.batch().autoMicroBatch() ? ")" : " or lower micro_batch_size)"));
    }
}
