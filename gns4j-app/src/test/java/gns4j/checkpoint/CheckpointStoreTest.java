package gns4j.checkpoint;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.gns.Ema;
import gns4j.gns.GnsTracker;
import gns4j.model.GnsGrouping;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Checkpoint folders: content, checksums, pruning, atomic replacement; the lock file. */
class CheckpointStoreTest {
    @TempDir Path run;

    static final ModelConfig MODEL = new ModelConfig(1, 2, 8, 4, 10, true, NormType.LAYERNORM, true);

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    static TrainingState state(int step, GnsTracker.Snapshot gns) {
        JsonObject cfg = new JsonObject();
        cfg.addProperty("n_layer", 1);
        return new TrainingState(TrainingState.FORMAT, step, 1000L * step, step - 1, 0, 1, 12.5, 3.25, null, 6e-4,
                new TrainingState.Schedule(8, 2.5, 16, 3, 2.25), TrainingState.RNG_SCHEME, 7, gns, cfg);
    }

    @Test
    void writesVerifiesAndReadsBackEverything() throws IOException {
        ParameterLayout layout = new ParameterLayout(MODEL);
        float[] p = random(layout.totalSize, 1), m = random(layout.totalSize, 2), v = random(layout.totalSize, 3);
        GnsTracker tracker = GnsGrouping.tracker(layout.tensors, 0.9);
        double[] sq = new double[layout.numTensors()];
        java.util.Arrays.fill(sq, 0.5);
        double[] g = new double[layout.numTensors()];
        java.util.Arrays.fill(g, 0.1 / 3);
        tracker.update(sq, 4, g);
        CheckpointStore store = new CheckpointStore(run, 3, CheckpointStore.DISK);
        Path dir = store.write(layout, p, m, v, state(7, tracker.snapshot()));
        assertEquals(run.resolve("checkpoints").resolve("step-000007"), dir);

        CheckpointStore.Checkpoint c = CheckpointStore.load(dir);
        assertArrayEquals(p, c.params(layout));
        float[] m2 = new float[layout.totalSize], v2 = new float[layout.totalSize];
        c.moments(layout, m2, v2);
        assertArrayEquals(m, m2);
        assertArrayEquals(v, v2);
        assertEquals(state(7, tracker.snapshot()), c.state());
        GnsTracker restored = GnsGrouping.tracker(layout.tensors, 0.9);
        restored.restore(c.state().gns());
        assertEquals(tracker.gnsTotal(), restored.gnsTotal());
        // sha256sum format, one line per file
        List<String> sums = Files.readAllLines(dir.resolve("checksums.sha256"));
        assertEquals(4, sums.size());
        for (String line : sums) {
            String[] parts = line.split("  ");
            assertEquals(CheckpointStore.sha256(dir.resolve(parts[1])), parts[0]);
        }
        // the weights folder is a Hugging Face GPT-2 folder
        assertEquals(MODEL, HfGpt2.open(dir).config());
    }

    @Test
    void keepsTheNewestAndReplacesAFolderOfTheSameStep() throws IOException {
        ParameterLayout layout = new ParameterLayout(MODEL);
        float[] z = new float[layout.totalSize];
        CheckpointStore store = new CheckpointStore(run, 2, CheckpointStore.DISK);
        for (int step : new int[]{5, 10, 15, 20}) store.write(layout, z, z, z, state(step, null));
        assertEquals(List.of("step-000015", "step-000020"), CheckpointStore.list(run).stream().map(x -> x.getFileName().toString()).toList());
        float[] ones = new float[layout.totalSize];
        java.util.Arrays.fill(ones, 1f);
        store.write(layout, ones, z, z, state(20, null));
        assertArrayEquals(ones, CheckpointStore.load(CheckpointStore.latest(run)).params(layout));
        Files.createDirectories(run.resolve("checkpoints").resolve(".tmp-step-000025-1"));
        store.removeTemporary();
        try (var s = Files.list(run.resolve("checkpoints"))) {
            assertEquals(2, s.count());
        }
    }

    @Test
    void missingOrModifiedFilesAreReported() throws IOException {
        ParameterLayout layout = new ParameterLayout(MODEL);
        float[] z = new float[layout.totalSize];
        Path dir = new CheckpointStore(run, 3, CheckpointStore.DISK).write(layout, z, z, z, state(3, null));
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json")) + " ");
        assertTrue(assertThrows(UserError.class, () -> CheckpointStore.load(dir)).getMessage()
                .endsWith("is damaged: SHA-256 of config.json does not match (truncated or modified)"));
        Files.delete(dir.resolve("optimizer.safetensors"));
        Files.writeString(dir.resolve("checksums.sha256"), "");
        assertTrue(assertThrows(UserError.class, () -> CheckpointStore.load(dir)).getMessage().contains("does not list model.safetensors"));
        Files.delete(dir.resolve("checksums.sha256"));
        assertTrue(assertThrows(UserError.class, () -> CheckpointStore.load(dir)).getMessage().contains("no checksums.sha256"));
    }

    @Test
    void lockIsExclusiveUntilClosed() {
        RunLock first = RunLock.acquire(run);
        UserError e = assertThrows(UserError.class, () -> RunLock.acquire(run));
        assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
        first.close();
        RunLock.acquire(run).close();
    }

    @Test
    void aLockRemovesTheFileItMadeOrOwnedButNotAnotherRunsLeftover() throws IOException {
        Path file = run.resolve(RunLock.FILE);
        RunLock.acquire(run).close();
        assertFalse(Files.exists(file), "an owner's file goes with its lock");
        RunLock.acquireOnly(run).close();
        assertFalse(Files.exists(file), "a lock that made the file removes it");
        Files.writeString(file, "4242\n"); // left by a killed run
        RunLock.acquireOnly(run).close();
        assertEquals("4242\n", Files.readString(file), "a lock that did not take ownership leaves the file as it was");
        RunLock owner = RunLock.acquireOnly(run);
        owner.recordOwner();
        owner.close();
        assertFalse(Files.exists(file), "once it recorded its pid, the file is this run's");
    }

    @Test
    void emaStatesSurviveJsonExactly() {
        GnsTracker.Snapshot snap = new GnsTracker.Snapshot(0.99, List.of("total"), List.of(new Ema.State(0.1 + 0.2, 1 - Math.pow(0.99, 7))),
                List.of(new Ema.State(Math.PI * 1e-17, 0.0199)));
        TrainingState s = state(2, snap);
        assertEquals(s, TrainingState.fromJson(s.toJson()));
    }
}
