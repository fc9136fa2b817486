package gns4j.export;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import gns4j.PythonScripts;
import gns4j.cli.Cli;
import gns4j.train.TestRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** {@code gns4j export tensorboard} on a short real run, read back by a reader written from the file format. */
class TensorBoardExportTest {
    @TempDir static Path tmp;
    static Path run;
    static final int STEPS = 12;

    /** A 12-step run with all per-example norms (GNS per type and layer on every step) and val loss every 6 steps. */
    @BeforeAll
    static void train() throws IOException {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        Path config = Files.writeString(tmp.resolve("tiny.json"), TestRuns.tiny("max_steps=" + STEPS).toJson());
        run = tmp.resolve("run");
        Cli o = Cli.run("train", "--data-dir", data.toString(), "--out-dir", run.toString(), "--config", config.toString());
        assertEquals(0, o.exitCode(), o.toString());
    }

    private static Path export(Path out) {
        Cli o = Cli.run("export", "tensorboard", run.toString(), "--out", out.toString());
        assertEquals(0, o.exitCode(), o.toString());
        return eventFiles(out).getFirst();
    }

    private static List<Path> eventFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void tensorboardDirWritesDuringTrainingWhatTheExportWrites() throws IOException {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        Path config = Files.writeString(tmp.resolve("tiny.json"), TestRuns.tiny("max_steps=" + STEPS).toJson());
        Path live = tmp.resolve("live-tb"), liveRun = tmp.resolve("live-run");
        Cli o = Cli.run("train", "--data-dir", data.toString(), "--out-dir", liveRun.toString(), "--config", config.toString(),
                "--set", "tensorboard_dir=" + live);
        assertEquals(0, o.exitCode(), o.toString());
        List<EventFileReader.Event> during = EventFileReader.read(eventFiles(live).getFirst());
        Cli e = Cli.run("export", "tensorboard", liveRun.toString(), "--out", tmp.resolve("live-export").toString());
        assertEquals(0, e.exitCode(), e.toString());
        List<EventFileReader.Event> after = EventFileReader.read(eventFiles(tmp.resolve("live-export")).getFirst());
        assertEquals(STEPS + 1, during.size());
        assertEquals(after.size(), during.size());
        for (int i = 1; i < during.size(); i++) {
            assertEquals(after.get(i).step(), during.get(i).step());
            assertEquals(after.get(i).values(), during.get(i).values(), "step " + i + ": the same scalars, live and exported");
        }
    }

    @Test
    void everyStepReadsBackWithItsLossAndGns() throws IOException {
        Path file = export(tmp.resolve("tb"));
        List<EventFileReader.Event> events = EventFileReader.read(file);
        List<JsonObject> lines = TestRuns.metrics(run);
        assertEquals(STEPS, lines.size());
        assertEquals(STEPS + 1, events.size(), "a version record, then one event per step");
        assertEquals("brain.Event:2", events.getFirst().fileVersion());
        assertNull(events.getFirst().step());
        double previousWallTime = 0;
        for (int i = 0; i < STEPS; i++) {
            JsonObject line = lines.get(i);
            EventFileReader.Event e = events.get(i + 1);
            assertEquals(line.get("step").getAsLong(), e.step());
            assertTrue(e.wallTime() >= previousWallTime && e.wallTime() > 1e9, "wall time in Unix seconds, non-decreasing");
            previousWallTime = e.wallTime();
            Map<String, Float> v = e.values();
            for (String key : List.of("loss", "lr", "batch_size", "tok_per_s", "gns_total", "gns_ln"))
                assertValue(line.get(key), v.get(key), "step " + (i + 1) + " " + key);
            assertEquals(line.has("val_loss"), v.containsKey("val_loss"), "val loss only where evaluated");
            if (line.has("val_loss")) assertValue(line.get("val_loss"), v.get("val_loss"), "val_loss");
            for (String map : List.of("gns_type", "gns_layer")) {
                JsonObject groups = line.getAsJsonObject(map);
                assertFalse(groups.isEmpty(), "the run logs " + map + " every step");
                for (String id : groups.keySet())
                    assertValue(groups.get(id), v.get(map + "/" + id), "step " + (i + 1) + " " + map + "/" + id);
            }
        }
        assertTrue(lines.stream().anyMatch(l -> l.has("val_loss")), "the run should evaluate at least once");
    }

    private static void assertValue(JsonElement expected, Float actual, String what) {
        assertNotNull(actual, what + " missing");
        assertEquals((float) expected.getAsDouble(), actual, what);
    }

    @Test
    void aSecondExportIsRefusedUnlessReplacing() throws IOException {
        Path out = tmp.resolve("twice");
        Path first = export(out);
        Cli again = Cli.run("export", "tensorboard", run.toString(), "--out", out.toString());
        assertEquals(2, again.exitCode(), again.toString());
        assertTrue(again.err().contains("--replace") && again.err().strip().lines().count() == 1, again.err());
        assertEquals(List.of(first), eventFiles(out), "nothing written on refusal");

        Cli replaced = Cli.run("export", "tensorboard", run.toString(), "--out", out.toString(), "--replace");
        assertEquals(0, replaced.exitCode(), replaced.toString());
        assertEquals(1, eventFiles(out).size(), "the earlier file is replaced: " + eventFiles(out));
    }

    @Test
    void aFolderWithoutMetricsIsBadInput() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Cli o = Cli.run("export", "tensorboard", empty.toString());
        assertEquals(2, o.exitCode(), o.toString());
        assertTrue(o.err().contains("no metrics.jsonl"), o.err());
        assertEquals(List.of(), eventFiles(empty));
    }

    @Test
    void aCorruptedByteFailsTheChecksum() throws IOException {
        Path file = export(tmp.resolve("corrupt"));
        byte[] b = Files.readAllBytes(file);
        b[b.length / 2] ^= 1;
        Files.write(file, b);
        assertThrows(IllegalStateException.class, () -> EventFileReader.read(file));
    }

    /** The masking of the standard CRC32C check value (CRC32C of "123456789" is 0xE3069283). */
    @Test
    void maskedCrcOfTheCheckString() {
        int crc = 0xE3069283;
        assertEquals(((crc >>> 15) | (crc << 17)) + 0xa282ead8,
                gns4j.tensorboard.TfRecordWriter.maskedCrc32c("123456789".getBytes(StandardCharsets.US_ASCII)));
    }

    /** TensorBoard's own reader, where python3 has it (scripts/check_tensorboard_export.py compares every value). */
    @Test
    void tensorBoardReadsTheFile() {
        PythonScripts.assumeModules("tensorboard");
        Path file = export(tmp.resolve("tb-python"));
        PythonScripts.Result r = PythonScripts.run(Path.of("scripts/check_tensorboard_export.py"), file.toString(),
                run.resolve("metrics.jsonl").toString());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("agree"), r.output());
    }
}
