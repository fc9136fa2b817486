package gns4j.checkpoint;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.backend.Backend;
import gns4j.backend.DelegatingBackend;
import gns4j.cli.TrainCommand;
import gns4j.model.ModelConfig;
import gns4j.train.TestRuns;
import gns4j.train.TrainConfig;
import gns4j.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static gns4j.checkpoint.SampleTest.cli;
import static org.junit.jupiter.api.Assertions.*;

/** --init-from: training starts from Hugging Face GPT-2 weights; the command line around it and --resume. */
class InitFromTest {
    @TempDir static Path tmp;
    static Path data, hf;
    static final HfFixture.Spec SPEC = new HfFixture.Spec(1, 2, 16, 32, 260, true, true, false, 1e-5, "gelu_new");

    @BeforeAll
    static void fixtures() throws Exception {
        data = TestRuns.demoData(tmp.resolve("data"));
        hf = HfFixture.write(tmp.resolve("hf"), SPEC, 21);
    }

    static TrainConfig config(String... overrides) {
        TrainConfig base = TestRuns.tiny(overrides);
        return TrainCommand.pretrainedShape(base, HfGpt2.open(hf).config(), Set.of("block_size"), hf);
    }

    @Test
    void trainingStartsFromThePretrainedWeights() throws Exception {
        TrainConfig cfg = config("max_steps=3", "block_size=16");
        assertEquals(260, cfg.model().vocabSize());
        assertEquals(16, cfg.model().blockSize());
        float[][] first = new float[1][];
        Trainer.Hooks capture = new Trainer.Hooks(b -> new Capture(b, first), s -> {}, CheckpointStore.DISK);
        Path run = tmp.resolve("run");
        new Trainer(cfg, data, run, TestRuns.QUIET).initFrom(hf).hooks(capture).run();
        ModelConfig model = cfg.model().modelConfig(0);
        assertArrayEquals(HfGpt2.open(hf).params(model), first[0], "the first step sees the HF weights");
        JsonObject info = JsonParser.parseString(Files.readString(run.resolve("run.json"))).getAsJsonObject();
        assertEquals(hf.resolve("model.safetensors").toAbsolutePath().toString(), info.get("init_from").getAsString());
        assertEquals(CheckpointStore.sha256(hf.resolve("model.safetensors")), info.get("init_from_sha256").getAsString());
        // its checkpoints are Hugging Face folders of the same shape
        assertEquals(model, HfGpt2.open(CheckpointStore.latest(run)).config());
    }

    @Test
    void aRunKilledBeforeItsFirstCheckpointRestartsFromTheSameWeights() {
        TrainConfig cfg = config("max_steps=8", "block_size=16", "checkpoint_interval=5");
        Path ref = tmp.resolve("ref"), killed = tmp.resolve("killed");
        new Trainer(cfg, data, ref, TestRuns.QUIET).initFrom(hf).run();
        assertThrows(TestRuns.Killed.class, () -> new Trainer(cfg, data, killed, TestRuns.QUIET).initFrom(hf)
                .hooks(TestRuns.killAfter(3)).run());
        assertEquals(List.of(), TestRuns.checkpointSteps(killed));
        Trainer.resume(killed, null, TestRuns.QUIET).run();
        TestRuns.assertSameSteps(TestRuns.metrics(ref), TestRuns.metrics(killed), 8);
    }

    @Test
    void commandLine() {
        Path run = tmp.resolve("cli");
        var ok = cli("train", "--init-from", hf.toString(), "--data-dir", data.toString(), "--out-dir", run.toString(),
                "--max-steps", "2", "--set", "threads=1", "--set", "block_size=8", "--set", "micro_batch_size=2",
                "--set", "batch_size=4", "--set", "checkpoint_interval=0");
        assertEquals(0, ok.status(), ok.err());
        assertEquals(List.of(2), TestRuns.checkpointSteps(run));
        var wrongShape = cli("train", "--init-from", hf.toString(), "--data-dir", data.toString(), "--out-dir",
                tmp.resolve("cli2").toString(), "--set", "n_layer=3");
        assertEquals(2, wrongShape.status());
        assertTrue(wrongShape.err().contains("config key n_layer is 3 but the model in"), wrongShape.err());
        assertFalse(Files.exists(tmp.resolve("cli2")));
        var tooLong = cli("train", "--init-from", hf.toString(), "--data-dir", data.toString(), "--out-dir",
                tmp.resolve("cli3").toString(), "--set", "block_size=64");
        assertTrue(tooLong.err().contains("block_size 64 exceeds the 32 positions"), tooLong.err());
        var resumeWithSet = cli("train", "--resume", run.toString(), "--set", "learning_rate=1");
        assertEquals(2, resumeWithSet.status());
        assertTrue(resumeWithSet.err().contains("cannot be combined with --set"), resumeWithSet.err());
        var missing = cli("train", "--out-dir", run.toString());
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("Missing required option: '--data-dir=DIR'"), missing.err());
        var notARun = cli("train", "--resume", data.toString());
        assertEquals(2, notARun.status());
        assertTrue(notARun.err().contains("is not a resumable run folder"), notARun.err());
        var measured = cli("measure", "--data-dir", data.toString(), "--init-from", run.toString(), "--batches", "2",
                "--batch-size", "4", "--json");
        assertEquals(0, measured.status(), measured.err());
        assertTrue(measured.out().contains("\"groups\""), measured.out());
        var measuredHf = cli("measure", "--data-dir", data.toString(), "--init-from", hf.toString(), "--batches", "2",
                "--batch-size", "4", "--set", "block_size=8", "--set", "micro_batch_size=2", "--set", "threads=1");
        assertEquals(0, measuredHf.status(), measuredHf.err());
        var resumed = cli("train", "--resume", run.toString());
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.out().startsWith("done: 2 steps"), resumed.out());
        var longer = cli("train", "--resume", run.toString(), "--max-steps", "3");
        assertEquals(0, longer.status(), longer.err());
        assertTrue(longer.out().startsWith("done: 3 steps"), longer.out());

        // a run folder as --init-from: its newest checkpoint, as measure and sample take it
        Path fromRun = tmp.resolve("cli-from-run");
        var fromRunOk = cli("train", "--init-from", run.toString(), "--data-dir", data.toString(), "--out-dir",
                fromRun.toString(), "--max-steps", "1", "--set", "threads=1", "--set", "micro_batch_size=2",
                "--set", "batch_size=4", "--set", "checkpoint_interval=0");
        assertEquals(0, fromRunOk.status(), fromRunOk.err());
        assertTrue(fromRunOk.err().contains("weights from " + CheckpointStore.latest(run).resolve(HfGpt2.MODEL_FILE).toAbsolutePath()),
                fromRunOk.err());
    }

    /** The --init-from folder is never the out dir: its config.json would be replaced and it would no longer load. */
    @Test
    void outDirThatIsTheInitFromFolderIsRefused() {
        Map<String, String> before = TestRuns.snapshot(hf);
        var r = cli("train", "--init-from", hf.toString(), "--data-dir", data.toString(), "--out-dir", hf.toString(),
                "--max-steps", "1", "--set", "block_size=8");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("is not empty"), r.err());
        assertEquals(before, TestRuns.snapshot(hf));
    }

    /** Records the weights at the first zeroGrad (the start of step 1). */
    static final class Capture extends DelegatingBackend {
        private final float[][] first;

        Capture(Backend d, float[][] first) {
            super(d);
            this.first = first;
        }

        @Override
        public void zeroGrad() {
            if (first[0] == null) {
                first[0] = new float[d.layout().totalSize];
                d.readParams(first[0]);
            }
            d.zeroGrad();
        }
    }
}
