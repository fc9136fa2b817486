package gns4j.train;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.RunLock;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static gns4j.train.TestRuns.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A run stopped at any step (killed: no end checkpoint) and resumed repeats the uninterrupted run's metrics bit for
 * bit: losses, gradient norms, every GNS value, per-example norms, validation. Plus the faults around resuming:
 * a full disk while checkpointing, damaged checkpoints, damaged data, a second run on the same folder.
 */
class ResumeTest {
    static final int N = 24;
    @TempDir static Path tmp;
    static Path data;
    static List<JsonObject> reference;

    @BeforeAll
    static void referenceRun() {
        data = demoData(tmp.resolve("data"));
        Path run = tmp.resolve("reference");
        new Trainer(tiny("max_steps=" + N), data, run, QUIET).run();
        reference = metrics(run);
        assertEquals(N, reference.size());
        assertEquals(List.of(15, 20, 24), checkpointSteps(run), "every 5 steps and at the end, the last 3 kept");
    }

    @ParameterizedTest(name = "killed after step {0}")
    @ValueSource(ints = {3, 10, 13, 23})
    void killedAtAnyStepResumesBitForBit(int k) {
        Path run = tmp.resolve("kill-" + k);
        assertThrows(Killed.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET).hooks(killAfter(k)).run());
        assertEquals(k, metrics(run).size());
        assertFalse(Files.exists(run.resolve("summary.json")), "a killed run has no summary");
        int lastCheckpoint = k / 5 * 5;
        assertEquals(lastCheckpoint == 0 ? List.of() : List.of(lastCheckpoint), checkpointSteps(run).stream()
                .filter(s -> s == lastCheckpoint).toList());

        Trainer resumed = Trainer.resume(run, null, QUIET);
        Trainer.Result r = resumed.run();
        assertEquals(N, r.steps());
        List<JsonObject> m = metrics(run);
        assertEquals(N, m.size(), "each step logged once: the lines after the checkpoint were replaced");
        assertSameSteps(reference, m, N);
        assertTrue(Files.exists(run.resolve("summary.json")));
        assertEquals(N, checkpointSteps(run).getLast());
    }

    @Test
    void adaptiveBatchScheduleResumesBitForBit() {
        TrainConfig cfg = tiny("max_steps=40", "max_tokens=" + 40 * 16 * 16, "batch_schedule=adaptive", "batch_size=16",
                "batch_size_start=4", "adaptive_interval=3", "adaptive_k=200", "adaptive_allow_decrease=true", "per_example_norms=ln", "checkpoint_interval=4");
        Path ref = tmp.resolve("adaptive-ref"), run = tmp.resolve("adaptive-kill");
        new Trainer(cfg, data, ref, QUIET).run();
        List<JsonObject> expected = metrics(ref);
        assertTrue(expected.stream().filter(l -> l.has("batch_change")).count() >= 2, "the batch changes: " + expected.stream().map(l -> l.get("batch_size").getAsInt() + "/" + l.get("gns_ln")).toList());
        int steps = expected.size();
        for (int k : new int[]{7, steps - 2}) {
            Path r = tmp.resolve("adaptive-kill-" + k);
            assertThrows(Killed.class, () -> new Trainer(cfg, data, r, QUIET).hooks(killAfter(k)).run());
            Trainer.resume(r, null, QUIET).run();
            assertSameSteps(expected, metrics(r), steps);
        }
    }

    @Test
    void twoThreadsResumeBitForBitToo() {
        TrainConfig cfg = tiny("max_steps=" + N, "threads=2");
        Path ref = tmp.resolve("threads-ref"), run = tmp.resolve("threads-kill");
        new Trainer(cfg, data, ref, QUIET).run();
        assertThrows(Killed.class, () -> new Trainer(cfg, data, run, QUIET).hooks(killAfter(13)).run());
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(metrics(ref), metrics(run), N);
    }

    /** A Llama run (grouped-query attention, untied head) writes every GNS group and resumes bit for bit too. */
    @Test
    void llamaRunHasEveryGnsGroupAndResumesBitForBit() {
        TrainConfig cfg = tiny("max_steps=" + N, "arch=llama", "n_head=4", "n_kv_head=2", "ffn_hidden=32");
        Path ref = tmp.resolve("llama-ref"), run = tmp.resolve("llama-kill");
        new Trainer(cfg, data, ref, QUIET).run();
        List<JsonObject> expected = metrics(ref);
        JsonObject last = expected.getLast();
        for (String key : List.of("gns_total", "gns_ln")) assertTrue(last.get(key).getAsDouble() > 0, key + " in " + last);
        assertEquals(java.util.Set.of("embedding", "attn_qkv", "attn_proj", "mlp_in", "mlp_out", "norm", "lm_head"),
                last.getAsJsonObject("gns_type").keySet());
        assertEquals(java.util.Set.of("embed", "h.0", "head"), last.getAsJsonObject("gns_layer").keySet());
        assertTrue(last.get("loss").getAsDouble() < expected.getFirst().get("loss").getAsDouble() - 0.5, "it learns");
        assertThrows(Killed.class, () -> new Trainer(cfg, data, run, QUIET).hooks(killAfter(13)).run());
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(expected, metrics(run), N);
    }

    @Test
    void stopRequestWritesACheckpointAtTheCurrentStepAndResumes() {
        Path run = tmp.resolve("stopped");
        Trainer t = new Trainer(tiny("max_steps=" + N), data, run, QUIET);
        t.hooks(new Trainer.Hooks(b -> b, s -> { if (s == 8) t.requestStop(); }, CheckpointStore.DISK));
        Trainer.Result r = t.run();
        assertTrue(t.stopped());
        assertEquals(8, r.steps());
        assertEquals(8, checkpointSteps(run).getLast(), "the stop writes a checkpoint of the step it ended at");
        assertFalse(Files.exists(run.resolve("summary.json")));
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(reference, metrics(run), N);
    }

    @Test
    void diskFullWhileCheckpointingKeepsThePreviousCheckpointAndResumes() {
        Path run = tmp.resolve("disk-full");
        int[] files = {0};
        CheckpointStore.FileSink full = file -> {
            OutputStream real = CheckpointStore.DISK.create(file);
            if (++files[0] <= 5) return real; // the first checkpoint's five files go through
            return new FilterOutputStream(real) {
                long written;

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (written + len > 100) throw new IOException("No space left on device");
                    written += len;
                    out.write(b, off, len);
                }

                @Override
                public void write(int b) throws IOException { write(new byte[]{(byte) b}, 0, 1); }
            };
        };
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET)
                .hooks(new Trainer.Hooks(b -> b, s -> {}, full)).run());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertTrue(e.getMessage().contains("step-000005 is intact"), e.getMessage());
        assertEquals(List.of(5), checkpointSteps(run));
        try (var s = Files.list(run.resolve(CheckpointStore.DIR))) {
            assertEquals(List.of("step-000005"), s.map(p -> p.getFileName().toString()).toList(), "no temporary folder left");
        } catch (IOException x) {
            throw new AssertionError(x);
        }
        CheckpointStore.load(run.resolve(CheckpointStore.DIR).resolve("step-000005")); // verifies
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(reference, metrics(run), N);
    }

    @Test
    void damagedCheckpointIsAOneLineErrorAndChangesNothing() throws IOException {
        Path run = tmp.resolve("damaged");
        assertThrows(Killed.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET).hooks(killAfter(12)).run());
        // hooks run after the periodic checkpoint, so step 10 is the latest; truncate its weights
        Path latest = CheckpointStore.latest(run);
        assertEquals("step-000010", latest.getFileName().toString());
        Path weights = latest.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.setLength(f.length() - 10);
        }
        Map<String, String> before = snapshot(run);
        UserError e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET).run());
        assertFalse(e.getMessage().contains("\n"));
        assertTrue(e.getMessage().contains("step-000010 is damaged"), e.getMessage());
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("delete it to resume from step-000005"), e.getMessage());
        assertEquals(before, snapshot(run), "nothing overwritten");

        // a flipped byte in the state is caught by its checksum
        Files.write(weights, Files.readAllBytes(latest.getParent().resolve("step-000005").resolve("model.safetensors")));
        Path state = latest.resolve("state.json");
        byte[] bytes = Files.readAllBytes(state);
        bytes[bytes.length / 2] ^= 1;
        Files.write(state, bytes);
        e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET).run());
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());

        // removing the damaged checkpoint, as the message says, resumes from the previous one
        gns4j.checkpoint.CheckpointStoreTestAccess.deleteTree(latest);
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(reference, metrics(run), N);
    }

    @Test
    void damagedOrShortDataFileIsAClearErrorOnResume() throws IOException {
        Path myData = demoData(tmp.resolve("data-copy"));
        Path run = tmp.resolve("bad-data");
        assertThrows(Killed.class, () -> new Trainer(tiny("max_steps=" + N), myData, run, QUIET).hooks(killAfter(7)).run());
        Map<String, String> before = snapshot(run);
        Path train = myData.resolve("train.bin");
        byte[] good = Files.readAllBytes(train);
        Files.write(train, java.util.Arrays.copyOf(good, good.length - 1));
        UserError e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET).run());
        assertTrue(e.getMessage().contains("corrupted or truncated"), e.getMessage());
        Files.write(train, java.util.Arrays.copyOf(good, 20));
        e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET).run());
        assertTrue(e.getMessage().contains("larger than data"), e.getMessage());
        assertEquals(before, snapshot(run), "nothing overwritten");
        Files.write(train, good);
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(reference, metrics(run), N);
    }

    @Test
    void secondRunOnTheSameFolderIsRefused() throws IOException {
        Path run = tmp.resolve("locked");
        Files.createDirectories(run);
        try (RunLock _ = RunLock.acquire(run)) {
            UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=2"), data, run, QUIET).run());
            assertTrue(e.getMessage().contains("in use by another gns4j run (pid " + ProcessHandle.current().pid() + ")"),
                    e.getMessage());
            assertFalse(Files.exists(run.resolve("metrics.jsonl")));
        }
        new Trainer(tiny("max_steps=2"), data, run, QUIET).run(); // released: fine now
        try (RunLock _ = RunLock.acquire(run)) {
            UserError e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET).run());
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=2"), data, run, QUIET).run());
        assertTrue(e.getMessage().contains("already holds a run") && e.getMessage().contains("--resume"), e.getMessage());
    }

    @Test
    void metricsAfterTheCheckpointAreDroppedIncludingAPartialLine(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4");
        new RunDir(dir).metricsCut(2).apply();
        assertEquals("{\"step\":1}\n{\"step\":2}\n", Files.readString(file));
        new RunDir(dir).metricsCut(5).apply();
        assertEquals("{\"step\":1}\n{\"step\":2}\n", Files.readString(file));
        new RunDir(dir).metricsCut(0).apply();
        assertEquals("", Files.readString(file));
    }

    /**
     * A damaged line before the checkpoint's step: cutting there would lose the good lines after it for good (no
     * resumed step writes them again), so the resume is refused naming the line, and nothing changes. A damaged line
     * after the checkpoint goes with the steps that are redone.
     */
    @Test
    void damagedMetricsLineBeforeTheCheckpointIsRefusedWithItsLineNumber() throws IOException {
        Path run = tmp.resolve("damaged-line");
        assertThrows(Killed.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET).hooks(killAfter(12)).run());
        Path file = run.resolve("metrics.jsonl");
        List<String> lines = Files.readAllLines(file);
        List<String> damaged = new java.util.ArrayList<>(lines);
        damaged.set(4, lines.get(4).substring(0, 20)); // step 5 of 12, checkpoint at 10
        Files.write(file, damaged);
        Map<String, String> before = snapshot(run);
        UserError e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET).run());
        assertTrue(e.getMessage().contains("metrics.jsonl line 5 is damaged") && e.getMessage().contains("nothing was changed"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(before, snapshot(run), "every line kept, lock included");

        damaged = new java.util.ArrayList<>(lines);
        damaged.set(10, "{garbage"); // step 11: after the checkpoint, redone
        Files.write(file, damaged);
        Trainer.resume(run, null, QUIET).run();
        assertSameSteps(reference, metrics(run), N);
    }

    @Test
    void stepSeedsDependOnSeedAndStepOnly() {
        assertEquals(TrainingLoop.stepSeed(7, 3), TrainingLoop.stepSeed(7, 3));
        assertNotEquals(TrainingLoop.stepSeed(7, 3), TrainingLoop.stepSeed(7, 4));
        assertNotEquals(TrainingLoop.stepSeed(7, 3), TrainingLoop.stepSeed(8, 3));
    }
}
