package gns4j.train;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.data.DemoCorpus;
import gns4j.data.TokenDataset;
import gns4j.data.Tokenizers;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End-to-end runs of the trainer on the bundled demo corpus (byte tokenizer) with tiny models: learning, the
 * metrics.jsonl contract, gradient accumulation, the linear batch ramp, and the run folder.
 */
class TrainerTest {
    @TempDir static Path tmp;
    static Path data;

    /** The 30-step run that (a) and (d) inspect. */
    static TrainConfig mainConfig;
    static Path mainRun;
    static Trainer.Result mainResult;

    static final StatusLine QUIET = new StatusLine(new PrintStream(OutputStream.nullOutputStream()), false);

    /** Small enough for well under a second per step on one core; vocab_size stays 0 (taken from meta.json). */
    static TrainConfig tiny(String... overrides) {
        return TrainConfig.defaults().with(
                "n_layer=2", "n_head=2", "n_embd=32", "block_size=32", "micro_batch_size=4", "batch_size=8",
                "learning_rate=3e-3", "min_lr=3e-4", "warmup_tokens=512", "eval_interval=0", "eval_sequences=8",
                "log_interval=1000", "threads=2", "seed=7").with(overrides);
    }

    @BeforeAll
    static void prepareDataAndMainRun() {
        data = tmp.resolve("data");
        DemoCorpus.prepare(data, Tokenizers.byName("byte"));
        mainConfig = tiny("max_steps=30", "eval_interval=10", "per_example_norms=all");
        mainRun = tmp.resolve("main-run");
        mainResult = new Trainer(mainConfig, data, mainRun, QUIET).run();
    }

    // ---- (a) a short run ------------------------------------------------------------------------------------------

    @Test
    void shortRunLearnsAndLogsOneCompleteLinePerStep() throws IOException {
        List<JsonObject> m = metrics(mainRun);
        assertEquals(30, m.size(), "one metrics line per optimizer step");
        for (int i = 0; i < m.size(); i++) {
            JsonObject r = m.get(i);
            int step = i + 1;
            for (String key : List.of("step", "tokens", "loss", "lr", "batch_size", "tok_per_s", "grad_norm",
                    "gns_total", "gns_ln", "gns_type"))
                assertTrue(r.has(key), "step " + step + " lacks " + key + ": " + r);
            assertEquals(step, r.get("step").getAsInt());
            assertEquals((long) step * 8 * 32, r.get("tokens").getAsLong());
            assertEquals(8, r.get("batch_size").getAsInt());
            assertFinite(r, "loss");
            assertFinite(r, "lr");
            assertTrue(number(r, "tok_per_s") > 0, r.toString());
            assertTrue(number(r, "grad_norm") > 0, r.toString());
            // B = 8 > 1, so both estimators are defined from the first step on.
            assertFinite(r, "gns_total");
            assertFinite(r, "gns_ln");
            JsonObject byType = r.getAsJsonObject("gns_type");
            assertTrue(byType.has("norm") && byType.has("embedding") && byType.has("mlp_in"), byType.toString());
            boolean evalStep = step % 10 == 0;
            assertEquals(evalStep, r.has("val_loss"), "val_loss exactly on eval steps, step " + step);
            if (evalStep) assertFinite(r, "val_loss");
        }
        double first5 = m.subList(0, 5).stream().mapToDouble(r -> number(r, "loss")).average().orElseThrow();
        double last5 = m.subList(25, 30).stream().mapToDouble(r -> number(r, "loss")).average().orElseThrow();
        assertTrue(last5 < first5 - 0.5, "loss should fall clearly: first 5 " + first5 + ", last 5 " + last5);
        assertTrue(number(m.get(29), "val_loss") < number(m.get(9), "val_loss"), "val loss falls too");
    }

    @Test
    void lnOnlyTrackingGivesLnGnsButNoTotal() throws IOException {
        Path run = tmp.resolve("ln-run");
        new Trainer(tiny("max_steps=3", "per_example_norms=ln"), data, run, QUIET).run();
        for (JsonObject r : metrics(run)) {
            assertTrue(r.has("gns_total") && r.get("gns_total").isJsonNull(), r.toString());
            assertFinite(r, "gns_ln");
            assertEquals(List.of("norm"), List.copyOf(r.getAsJsonObject("gns_type").keySet()), r.toString());
        }
    }

    @Test
    void noTrackingGivesNoGns() throws IOException {
        Path run = tmp.resolve("off-run");
        new Trainer(tiny("max_steps=3", "per_example_norms=off"), data, run, QUIET).run();
        List<JsonObject> m = metrics(run);
        assertEquals(3, m.size());
        for (JsonObject r : m) {
            assertTrue(r.has("gns_total") && r.get("gns_total").isJsonNull(), r.toString());
            assertTrue(r.has("gns_ln") && r.get("gns_ln").isJsonNull(), r.toString());
            assertEquals(0, r.getAsJsonObject("gns_type").size(), r.toString());
            assertFinite(r, "grad_norm");
        }
    }

    // ---- (b) gradient accumulation --------------------------------------------------------------------------------

    @Test
    void samplerDrawsTheSameSequencesWhateverTheMicroBatch() {
        int T = 32;
        try (TokenDataset train = TokenDataset.open(data.resolve("train.bin"), 257, T)) {
            int[] in = new int[8 * T], tg = new int[8 * T];
            long[] whole = new long[8], half = new long[4], split = new long[8];
            train.sampleBatch(new SplittableRandom(7), 8, T, in, tg, whole);
            SplittableRandom rng = new SplittableRandom(7);
            for (int m = 0; m < 2; m++) {
                train.sampleBatch(rng, 4, T, in, tg, half);
                System.arraycopy(half, 0, split, 4 * m, 4);
            }
            assertArrayEquals(whole, split);
        }
    }

    @Test
    void gradientAccumulationMatchesOneBigMicroBatch() throws IOException {
        String[] common = {"max_steps=1", "threads=1", "per_example_norms=all", "batch_size=8"};
        JsonObject accumulated = firstStep(tiny(common).with("micro_batch_size=4"), "accum-4x2");
        JsonObject whole = firstStep(tiny(common).with("micro_batch_size=8"), "accum-8x1");
        assertEquals(2, accumulated.get("micro_batches").getAsInt());
        assertEquals(1, whole.get("micro_batches").getAsInt());
        // Equal losses show both saw the same 8 sequences and the same initial weights.
        assertClose(number(whole, "loss"), number(accumulated, "loss"), 1e-6, "loss");
        assertClose(number(whole, "grad_norm"), number(accumulated, "grad_norm"), 1e-5, "grad_norm");
        assertClose(number(whole, "gns_total"), number(accumulated, "gns_total"), 1e-4, "gns_total");
        assertClose(number(whole, "gns_ln"), number(accumulated, "gns_ln"), 1e-4, "gns_ln");

        // The tolerances discriminate: other sequences (another seed) give clearly other numbers.
        JsonObject other = firstStep(tiny(common).with("micro_batch_size=8", "seed=8"), "accum-other-seed");
        assertTrue(Math.abs(number(other, "loss") - number(whole, "loss")) > 1e-6 * number(whole, "loss")
                && Math.abs(number(other, "gns_total") - number(whole, "gns_total")) > 1e-4 * Math.abs(number(whole, "gns_total")),
                "another seed should change loss and GNS: " + other + " vs " + whole);
    }

    @Test
    void autoMicroBatchRunsTheBatchAsOnePassOrTheFewestEqualPasses() throws IOException {
        String[] common = {"max_steps=1", "threads=1", "per_example_norms=all", "batch_size=8", "micro_batch_size=auto"};
        JsonObject onePass = firstStep(tiny(common), "auto-1");
        JsonObject split = firstStep(tiny(common).with("max_micro_batch=3"), "auto-3-3-2");
        JsonObject given = firstStep(tiny(common).with("micro_batch_size=8"), "given-8");
        assertEquals(1, onePass.get("micro_batches").getAsInt());
        assertEquals(8, onePass.get("micro_batch").getAsInt());
        assertEquals(3, split.get("micro_batches").getAsInt());
        assertEquals(3, split.get("micro_batch").getAsInt());
        // The same 8 sequences whatever the split: unequal passes are weighted by their size.
        assertClose(number(given, "loss"), number(onePass, "loss"), 1e-6, "loss");
        assertClose(number(onePass, "loss"), number(split, "loss"), 1e-6, "loss");
        assertClose(number(onePass, "grad_norm"), number(split, "grad_norm"), 1e-5, "grad_norm");
        assertClose(number(onePass, "gns_total"), number(split, "gns_total"), 1e-4, "gns_total");
        JsonObject cfg = JsonParser.parseString(Files.readString(tmp.resolve("auto-1").resolve("config.json"))).getAsJsonObject();
        assertEquals(8, cfg.get("max_micro_batch").getAsInt(), "the resolved limit is stored for a resume");
    }

    @Test
    void validationScoresTheSameWindowsWhateverTheMicroBatch() throws IOException {
        String[] common = {"max_steps=1", "threads=1", "batch_size=8", "eval_interval=1", "eval_sequences=10",
                "learning_rate=1e-9", "min_lr=0", "warmup_tokens=0"};
        double a = number(firstStep(tiny(common).with("micro_batch_size=2"), "val-2"), "val_loss");
        double b = number(firstStep(tiny(common).with("micro_batch_size=8"), "val-8"), "val_loss");
        double c = number(firstStep(tiny(common).with("micro_batch_size=auto", "max_micro_batch=3"), "val-auto3"), "val_loss");
        assertClose(a, b, 1e-6, "val_loss, micro 2 vs 8");
        assertClose(a, c, 1e-6, "val_loss, micro 2 vs passes of 3");
        double fewer = number(firstStep(tiny(common).with("micro_batch_size=2", "eval_sequences=3"), "val-3seq"), "val_loss");
        assertTrue(Math.abs(fewer - a) > 1e-6 * a, "another set of windows should score differently: " + fewer + " vs " + a);
    }

    // ---- (c) linear batch ramp ------------------------------------------------------------------------------------

    @Test
    void linearRampGrowsTheBatchInMicroBatchesWithLrInTokens() throws IOException {
        int T = 16;
        long ramp = 960, warmup = 256, decay = 4096;
        TrainConfig cfg = tiny("block_size=" + T, "micro_batch_size=2", "batch_size=8", "batch_schedule=linear_ramp",
                "batch_size_start=2", "ramp_tokens=" + ramp, "max_steps=16", "lr_decay=linear",
                "warmup_tokens=" + warmup, "decay_tokens=" + decay, "per_example_norms=ln");
        Path run = tmp.resolve("ramp-run");
        new Trainer(cfg, data, run, QUIET).run();
        List<JsonObject> m = metrics(run);
        assertEquals(16, m.size());

        var expectedBatch = new BatchSchedule.LinearRamp(2, 8, ramp, 2);
        var expectedLr = new LrSchedule(3e-3, 3e-4, LrSchedule.Decay.LINEAR, warmup, decay);
        var seen = new TreeSet<Integer>();
        long tokens = 0;
        int prevB = 0;
        for (int i = 0; i < m.size(); i++) {
            JsonObject r = m.get(i);
            int B = r.get("batch_size").getAsInt();
            seen.add(B);
            assertEquals(expectedBatch.batchSize(tokens, i), B, "batch at step " + (i + 1) + " after " + tokens + " tokens");
            assertEquals(0, B % 2, "a whole number of micro batches");
            assertTrue(B >= prevB, "the ramp never shrinks the batch");
            assertEquals(B / 2, r.get("micro_batches").getAsInt());
            assertEquals(B, r.getAsJsonArray("pe_norm_ln").size(), "one per-example norm per sequence of the step");
            tokens += (long) B * T;
            assertEquals(tokens, r.get("tokens").getAsLong());
            assertEquals(expectedLr.lr(tokens), number(r, "lr"), 1e-15, "lr at step " + (i + 1) + " is the schedule at its tokens");
            prevB = B;
        }
        assertEquals(List.of(2, 4, 6, 8), List.copyOf(seen), "the batch passes through every multiple of 2 from 2 to 8");
        assertTrue(tokens > ramp && m.getLast().get("batch_size").getAsInt() == 8);
    }

    // ---- (d) the run folder ---------------------------------------------------------------------------------------

    @Test
    void runFolderHoldsTheResolvedConfigAndASummary() throws IOException {
        assertEquals(0, mainConfig.model().vocabSize(), "the config leaves the vocabulary to the dataset");
        TrainConfig stored = TrainConfig.fromJson(Files.readString(mainRun.resolve("config.json")));
        assertEquals(mainConfig.with("vocab_size=257"), stored);

        Path summaryFile = mainRun.resolve("summary.json");
        assertTrue(Files.isRegularFile(summaryFile));
        assertFalse(Files.exists(mainRun.resolve(gns4j.checkpoint.RunLock.FILE)), "a finished run leaves no lock file");
        JsonObject summary = JsonParser.parseString(Files.readString(summaryFile)).getAsJsonObject();
        JsonObject last = metrics(mainRun).getLast();
        assertEquals(30, summary.get("steps").getAsInt());
        assertEquals(last.get("tokens").getAsLong(), summary.get("tokens").getAsLong());
        assertEquals(number(last, "loss"), summary.get("loss").getAsDouble());
        assertEquals(number(last, "val_loss"), summary.get("val_loss").getAsDouble());
        assertEquals(mainResult.tokens(), summary.get("tokens").getAsLong());
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private static JsonObject firstStep(TrainConfig cfg, String name) throws IOException {
        Path run = tmp.resolve(name);
        new Trainer(cfg, data, run, QUIET).run();
        return metrics(run).getFirst();
    }

    static List<JsonObject> metrics(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream()
                .map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    private static double number(JsonObject r, String key) {
        JsonElement e = r.get(key);
        assertTrue(e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber(), key + " is not a number in " + r);
        return e.getAsDouble();
    }

    private static void assertFinite(JsonObject r, String key) {
        assertTrue(Double.isFinite(number(r, key)), key + " is not finite in " + r);
    }

    private static void assertClose(double expected, double actual, double relTol, String what) {
        assertEquals(expected, actual, relTol * Math.abs(expected), what + ": " + expected + " vs " + actual);
    }
}
