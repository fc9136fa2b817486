package gns4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static gns4j.train.TestRuns.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Output that cannot be written (an unwritable out dir, a disk that fills up while metrics are appended), and output
 * that must not be overwritten or cut: a run writes only into a new or empty folder, a refused resume changes no byte
 * (the lock file's time included), summary.json is written atomically, and a resumed run may take a new length.
 */
class OutputFaultTest {
    static final int N = 12;
    @TempDir static Path tmp;
    static Path data;

    @BeforeAll
    static void prepareData() { data = demoData(tmp.resolve("data")); }

    @Test
    void outDirThatCannotBeCreatedIsOneLineAndWritesNothing() {
        Path proc = Path.of("/proc/gns4j-run/inner");
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=2"), data, proc, QUIET).run());
        assertTrue(e.getMessage().startsWith("cannot create out dir " + proc), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(Files.exists(proc.getParent()));
    }

    @Test
    void outDirBelowAFileIsOneLine() throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        UserError e = assertThrows(UserError.class,
                () -> new Trainer(tiny("max_steps=2"), data, file.resolve("run"), QUIET).run());
        assertTrue(e.getMessage().startsWith("cannot create out dir"), e.getMessage());
        assertEquals("x", Files.readString(file));
    }

    /** The disk is full from step 7's line on: the run stops, keeps the checkpoint of step 5, and a resume completes it. */
    @Test
    void diskFullWhileAppendingMetricsStopsAndKeepsTheLastCheckpoint() throws IOException {
        Path run = tmp.resolve("metrics-full");
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET)
                .hooks(new Trainer.Hooks(b -> b, s -> {}, CheckpointStore.DISK,
                        file -> new FullDisk(MetricsWriter.DISK.open(file), 6))).run());
        assertFalse(e.getMessage().contains("\n"));
        assertTrue(e.getMessage().startsWith("cannot append to " + run.resolve("metrics.jsonl") + " (No space left on device)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("checkpoint step-000005 is intact"), e.getMessage());
        assertEquals(6, metrics(run).size(), "whole lines only");
        assertEquals(List.of(5), checkpointSteps(run), "no checkpoint of a step whose line is missing");
        Trainer.resume(run, null, QUIET).run();
        Path reference = tmp.resolve("reference");
        new Trainer(tiny("max_steps=" + N), data, reference, QUIET).run();
        assertSameSteps(metrics(reference), metrics(run), N);
    }

    /** A short spell of full disk: the held line goes out before the final checkpoint, which is then written. */
    @Test
    void lineHeldBackIsWrittenWhenSpaceComesBack() {
        Path run = tmp.resolve("metrics-spell");
        FullDisk[] disk = new FullDisk[1];
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET)
                .hooks(new Trainer.Hooks(b -> b, s -> { if (s == 7) disk[0].free(); }, CheckpointStore.DISK,
                        file -> disk[0] = new FullDisk(MetricsWriter.DISK.open(file), 6))).run());
        assertTrue(e.getMessage().contains("stopped"), e.getMessage());
        assertEquals(List.of(5, 7), checkpointSteps(run));
        assertEquals(7, metrics(run).size());
    }

    /** Two identical runs write checkpoints with the same bytes (but state.json, which records the elapsed time). */
    @Test
    void identicalRunsWriteIdenticalCheckpoints() throws IOException {
        Path a = tmp.resolve("same-a"), b = tmp.resolve("same-b");
        new Trainer(tiny("max_steps=5"), data, a, QUIET).run();
        new Trainer(tiny("max_steps=5"), data, b, QUIET).run();
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "config.json"))
            assertArrayEquals(Files.readAllBytes(CheckpointStore.latest(a).resolve(f)),
                    Files.readAllBytes(CheckpointStore.latest(b).resolve(f)), f);
    }

    /** The safetensors metadata is written in key order whatever the caller's map iterates (Map.of varies by JVM). */
    @Test
    void safetensorsMetadataOrderDoesNotDependOnTheMap() {
        var t = List.of(new SafeTensors.Tensor("x", new int[]{2}, new float[]{1, 2}, 0));
        Map<String, String> ab = new java.util.LinkedHashMap<>(), ba = new java.util.LinkedHashMap<>();
        ab.put("a", "1");
        ab.put("b", "2");
        ba.put("b", "2");
        ba.put("a", "1");
        assertArrayEquals(SafeTensors.toBytes(t, ab), SafeTensors.toBytes(t, ba));
    }

    // ---- nothing a user owns is overwritten or cut: new or empty out dirs, refused resumes that change no byte,
    // an atomic summary.json, a new length on resume

    @Test
    void outDirHoldingOtherFilesIsRefusedAndLeftAsItWas() throws IOException {
        Path dir = tmp.resolve("mine");
        Files.createDirectories(dir.resolve("checkpoints/step-000002"));
        Files.writeString(dir.resolve("config.json"), "mine");
        Files.writeString(dir.resolve("checkpoints/step-000002/notes.txt"), "my notes");
        Map<String, String> before = snapshot(dir);
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=2"), data, dir, QUIET).run());
        assertTrue(e.getMessage().startsWith("out dir " + dir + " is not empty (it holds checkpoints, config.json)"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(before, snapshot(dir));
        assertFalse(Files.exists(dir.resolve("lock")));

        Path lockNamed = tmp.resolve("lock-named"); // a user's file that happens to be called lock
        Files.createDirectories(lockNamed);
        Files.writeString(lockNamed.resolve("lock"), "my notes");
        e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=2"), data, lockNamed, QUIET).run());
        assertTrue(e.getMessage().contains("is not empty (it holds lock)"), e.getMessage());
        assertEquals("my notes", Files.readString(lockNamed.resolve("lock")));
    }

    @Test
    void emptyOutDirIsTaken() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        new Trainer(tiny("max_steps=2"), data, dir, QUIET).run();
        assertEquals(2, metrics(dir).size());
    }

    /** The checkpoint's tensors, GNS state, counters and config are all checked before the lock or metrics change. */
    @ParameterizedTest
    @ValueSource(strings = {"moment shape", "gns alpha", "gns groups", "seed", "elapsed", "empty config", "step past max"})
    void refusedResumeChangesNoByte(String damage) throws IOException {
        Path run = tmp.resolve("refused-" + damage.replace(' ', '-'));
        assertThrows(Killed.class, () -> new Trainer(tiny("max_steps=24"), data, run, QUIET).hooks(killAfter(12)).run());
        Path checkpoint = CheckpointStore.latest(run);
        assertEquals("step-000010", checkpoint.getFileName().toString());
        List<String> length = List.of();
        switch (damage) {
            case "moment shape" -> transposeOneMoment(checkpoint);
            case "gns alpha" -> editState(checkpoint, s -> s.getAsJsonObject("gns").addProperty("alpha", 0.5));
            case "gns groups" -> editState(checkpoint, s -> s.getAsJsonObject("gns").getAsJsonArray("group_ids").remove(0));
            case "seed" -> editState(checkpoint, s -> s.addProperty("seed", 8));
            case "elapsed" -> editState(checkpoint, s -> s.addProperty("elapsed_s", -1.0));
            case "empty config" -> editState(checkpoint, s -> s.add("config", new JsonObject()));
            default -> length = List.of("max_steps=9");
        }
        Map<String, String> before = snapshot(run);
        List<String> lengthOverrides = length;
        UserError e = assertThrows(UserError.class, () -> Trainer.resume(run, null, QUIET, lengthOverrides).run());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains("step-000010"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was changed"), e.getMessage());
        assertEquals(before, snapshot(run), "lock, metrics.jsonl and config.json unchanged");
    }

    @Test
    void summaryThatCannotBeWrittenIsOneLineAndLeavesNoPartialFile() throws IOException {
        Path run = tmp.resolve("no-summary");
        Trainer.Hooks blockSummary = new Trainer.Hooks(b -> b, step -> {
            if (step == N) { // summary.json taken by a folder that cannot be replaced, as a full disk refuses the file
                try {
                    Files.createDirectories(run.resolve("summary.json/x"));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }, CheckpointStore.DISK);
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=" + N), data, run, QUIET)
                .hooks(blockSummary).run());
        assertTrue(e.getMessage().startsWith("cannot write " + run.resolve("summary.json")), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertTrue(Files.isDirectory(run.resolve("summary.json/x")));
        try (var files = Files.list(run)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp")), "no temporary file left");
        }
    }

    @Test
    void resumeTakesANewLength() throws IOException {
        Path run = tmp.resolve("lengths");
        new Trainer(tiny("max_steps=" + N), data, run, QUIET).run();
        assertTrue(Files.exists(run.resolve("summary.json")));
        Trainer.resume(run, null, QUIET, List.of("max_steps=16")).run(); // lengthened after its end
        assertEquals(16, metrics(run).size());
        assertEquals(16, TrainConfig.fromJson(Files.readString(run.resolve("config.json"))).run().maxSteps());
        assertEquals(16, JsonParser.parseString(Files.readString(run.resolve("summary.json"))).getAsJsonObject()
                .get("steps").getAsInt());

        Path killed = tmp.resolve("shortened");
        assertThrows(Killed.class, () -> new Trainer(tiny("max_steps=24"), data, killed, QUIET).hooks(killAfter(12)).run());
        Trainer.Result r = Trainer.resume(killed, null, QUIET, List.of("max_steps=14")).run();
        assertEquals(14, r.steps());
        assertEquals(14, metrics(killed).size());

        UserError e = assertThrows(UserError.class, () -> Trainer.resume(killed, null, QUIET, List.of("learning_rate=1")));
        assertTrue(e.getMessage().contains("cannot change 'learning_rate'"), e.getMessage());
    }

    /** optimizer.safetensors with one moment of the right size but transposed, its checksum updated to match. */
    private static void transposeOneMoment(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(CheckpointStore.OPTIMIZER_FILE);
        SafeTensors.Contents c = SafeTensors.read(file);
        List<SafeTensors.Tensor> out = new ArrayList<>();
        boolean done = false;
        for (SafeTensors.Tensor t : c.tensors().values()) {
            int[] shape = t.shape();
            if (!done && shape.length == 2 && shape[0] != shape[1]) {
                shape = new int[]{shape[1], shape[0]};
                done = true;
            }
            out.add(new SafeTensors.Tensor(t.name(), shape, t.values()));
        }
        assertTrue(done, "a non-square moment to transpose");
        Files.write(file, SafeTensors.toBytes(out, c.metadata()));
        rewriteChecksums(checkpoint);
    }

    private static void editState(Path checkpoint, java.util.function.Consumer<JsonObject> edit) throws IOException {
        Path file = checkpoint.resolve(CheckpointStore.STATE_FILE);
        JsonObject state = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(state);
        Files.writeString(file, state.toString());
        rewriteChecksums(checkpoint);
    }
}
