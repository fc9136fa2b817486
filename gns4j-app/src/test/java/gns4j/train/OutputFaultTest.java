package gns4j.train;

import gns4j.UserError;
import gns4j.checkpoint.CheckpointStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static gns4j.train.TestRuns.*;
import static org.junit.jupiter.api.Assertions.*;

/** Output that cannot be written: an unwritable out dir, a disk that fills up while metrics are appended. */
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
        var t = List.of(new gns4j.checkpoint.SafeTensors.Tensor("x", new int[]{2}, new float[]{1, 2}, 0));
        Map<String, String> ab = new java.util.LinkedHashMap<>(), ba = new java.util.LinkedHashMap<>();
        ab.put("a", "1");
        ab.put("b", "2");
        ba.put("b", "2");
        ba.put("a", "1");
        assertArrayEquals(gns4j.checkpoint.SafeTensors.toBytes(t, ab), gns4j.checkpoint.SafeTensors.toBytes(t, ba));
    }
}
