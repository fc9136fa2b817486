package gns4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.data.DemoCorpus;
import gns4j.data.Tokenizers;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tiny runs on the bundled demo text (byte tokenizer) for the checkpoint, resume and fault tests. */
public final class TestRuns {
    private TestRuns() {}

    public static final StatusLine QUIET = new StatusLine(new PrintStream(OutputStream.nullOutputStream()), false);

    /** Keys that legitimately differ between an interrupted and an uninterrupted run: timings. */
    private static final List<String> TIMING = List.of("tok_per_s", "elapsed_s");

    /** The demo corpus prepared with the byte tokenizer into {@code dir}. */
    public static Path demoData(Path dir) {
        DemoCorpus.prepare(dir, Tokenizers.byName("byte"));
        return dir;
    }

    /** One layer, 16 channels, 16 tokens, 8 sequences per step (two micro-batches), one thread: ~1 ms a step. */
    public static TrainConfig tiny(String... overrides) {
        return TrainConfig.defaults().with(
                "n_layer=1", "n_head=2", "n_embd=16", "block_size=16", "micro_batch_size=4", "batch_size=8",
                "learning_rate=3e-3", "min_lr=3e-4", "warmup_tokens=256", "eval_interval=6", "eval_sequences=8",
                "log_interval=100000", "threads=1", "seed=7", "checkpoint_interval=5", "per_example_norms=all",
                "gns_alpha=0.9").with(overrides);
    }

    /** Thrown by {@link #killAfter}: the run ends mid-way without its end checkpoint, as if killed. */
    public static final class Killed extends RuntimeException {
        public Killed(int step) { super("simulated kill after step " + step); }
    }

    /** Hooks that abort the loop right after {@code step} (its metrics line and any checkpoint written). */
    public static Trainer.Hooks killAfter(int step) {
        return new Trainer.Hooks(b -> b, s -> {
            if (s == step) throw new Killed(s);
        }, Trainer.Hooks.NONE.checkpointSink());
    }

    public static List<JsonObject> metrics(Path run) {
        try {
            List<JsonObject> out = new ArrayList<>();
            for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) out.add(JsonParser.parseString(line).getAsJsonObject());
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every step line equal in every key but the timings, compared as JSON text (so bit for bit). */
    public static void assertSameSteps(List<JsonObject> expected, List<JsonObject> actual, int steps) {
        assertEquals(steps, Math.min(expected.size(), steps), "reference too short");
        for (int i = 0; i < steps; i++) {
            JsonObject e = expected.get(i), a = actual.get(i);
            assertEquals(i + 1, a.get("step").getAsInt(), "line " + (i + 1) + " holds the wrong step: " + a);
            for (String key : union(e, a)) {
                if (TIMING.contains(key)) continue;
                JsonElement ev = e.get(key), av = a.get(key);
                assertEquals(String.valueOf(ev), String.valueOf(av), "step " + (i + 1) + " key " + key);
            }
        }
    }

    private static List<String> union(JsonObject a, JsonObject b) {
        List<String> keys = new ArrayList<>(a.keySet());
        for (String k : b.keySet()) if (!keys.contains(k)) keys.add(k);
        return keys;
    }

    /** Every file under {@code dir} (but the lock file) with its bytes, to show that nothing changed. */
    public static Map<String, String> snapshot(Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String rel = dir.relativize(p).toString();
                // the lock holds the pid, the same for every run in this JVM: its time shows a rewrite
                String time = rel.equals("lock") ? " " + Files.getLastModifiedTime(p).toInstant() : "";
                out.put(rel, java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))) + time);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Step numbers of the complete checkpoints of a run. */
    public static List<Integer> checkpointSteps(Path run) {
        return gns4j.checkpoint.CheckpointStore.list(run).stream()
                .map(p -> Integer.parseInt(p.getFileName().toString().substring("step-".length()))).toList();
    }

    /** checksums.sha256 of a checkpoint made to match its (edited) files, so only the content checks can refuse them. */
    public static void rewriteChecksums(Path checkpoint) {
        StringBuilder sums = new StringBuilder();
        for (String f : List.of("model.safetensors", "config.json", gns4j.checkpoint.CheckpointStore.OPTIMIZER_FILE,
                gns4j.checkpoint.CheckpointStore.STATE_FILE))
            sums.append(gns4j.checkpoint.CheckpointStore.sha256(checkpoint.resolve(f))).append("  ").append(f).append('\n');
        try {
            Files.writeString(checkpoint.resolve(gns4j.checkpoint.CheckpointStore.CHECKSUM_FILE), sums);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
