package gns4j;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.HfFixture;
import gns4j.checkpoint.HfGpt2;
import gns4j.checkpoint.SafeTensors;
import gns4j.data.DataMeta;
import gns4j.data.TokenDataset;
import gns4j.experiment.ScheduleExperimentConfig;
import gns4j.train.MetricsFile;
import gns4j.train.TestRuns;
import gns4j.train.TrainConfig;
import gns4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random damage to valid user files, with a fixed seed: every reader of a file a user hands us must either load the
 * damaged file or refuse it with one {@link UserError} of one line, never another exception (an NPE, a parser's
 * IllegalStateException, an OutOfMemoryError from a size read off the file, ...). Damage is byte-level (bit flips,
 * truncation, inserted, deleted and overwritten bytes) and, for JSON, structural: one value swapped for a huge,
 * negative, fractional or out-of-range number, or for a value of another type, or a key removed.
 *
 * <p>Over 400 lines: one case per reader of a user's file (safetensors, Hugging Face folders, configs, token files,
 * metrics, checkpoints), which share the damage generators here.
 */
class ReadersFuzzTest {
    /** Cases per reader: enough to meet each kind of damage many times, few enough for a few seconds per reader. */
    static final int CASES = 300;
    static final long SEED = 20240521L;

    @TempDir Path tmp;

    /** Values a JSON value is swapped for: numbers at and past every limit a reader might have, and other types. */
    static final List<JsonElement> SWAPS = List.of(
            num("0"), num("-1"), num("1.5"), num("-0.0"), num("2147483647"), num("2147483648"), num("-2147483649"),
            num("9223372036854775807"), num("9223372036854775808"), num("1e400"), num("-1e400"), num("1e-400"),
            num("65536"), num("100000000"), num("4294967296"),
            new JsonPrimitive(""), new JsonPrimitive("x"), new JsonPrimitive("NaN"), new JsonPrimitive("1e9"),
            new JsonPrimitive("a\u0000b"), new JsonPrimitive(true), new JsonPrimitive(false), JsonNull.INSTANCE,
            new JsonArray(), new JsonObject(), JsonParser.parseString("[1, \"a\", null]"),
            JsonParser.parseString("{\"a\": {\"b\": []}}"));

    private static JsonElement num(String s) { return new JsonPrimitive(new BigDecimal(s)); }

    // ------------------------------------------------------------------------------------------------ readers

    @Test
    void safetensors() {
        byte[] valid = HfFixture.safetensors(HfFixture.tensors(HfFixture.Spec.small(64), 1));
        fuzz("safetensors", rng -> {
            byte[] bytes = rng.nextInt(3) == 0 ? withHeader(valid, mutate(header(valid), rng)) : valid;
            return () -> SafeTensors.parse(damage(bytes, rng), "model.safetensors");
        });
    }

    @Test
    void huggingFaceFolder() throws IOException {
        Path validDir = HfFixture.write(tmp.resolve("valid"), HfFixture.Spec.small(64), 1);
        byte[] weights = Files.readAllBytes(validDir.resolve(HfGpt2.MODEL_FILE));
        String config = Files.readString(validDir.resolve(HfGpt2.CONFIG_FILE));
        fuzz("Hugging Face folder", rng -> {
            Path dir = Files.createDirectories(tmp.resolve("hf" + rng.nextLong()));
            boolean damageConfig = rng.nextBoolean();
            Files.write(dir.resolve(HfGpt2.CONFIG_FILE), damageConfig ? damagedJson(config, rng) : bytes(config));
            byte[] w = rng.nextBoolean() ? withHeader(weights, mutate(header(weights), rng)) : weights;
            Files.write(dir.resolve(HfGpt2.MODEL_FILE), damageConfig ? w : damage(w, rng));
            return () -> {
                HfGpt2.Pretrained p = HfGpt2.open(dir);
                p.params(p.config());
            };
        });
    }

    @Test
    void trainConfig() {
        String valid = TrainConfig.defaults().with("batch_schedule=adaptive", "max_tokens=1e6", "micro_batch_size=4")
                .toJson();
        fuzz("train config", rng -> {
            Path file = tmp.resolve("config" + rng.nextLong() + ".json");
            Files.write(file, damagedJson(valid, rng));
            return () -> TrainConfig.load(file, List.of());
        });
    }

    @Test
    void tokenFiles() throws IOException {
        String meta = new GsonBuilder().setPrettyPrinting().create().toJson(JsonParser.parseString(
                "{\"tokenizer\": \"byte\", \"vocab_size\": 256, \"train_tokens\": 512, \"val_tokens\": 0,"
                        + " \"sources\": [{\"path\": \"a.txt\", \"tokens\": 512}]}"));
        byte[] tokens = new byte[1024];
        for (int i = 0; i < tokens.length; i += 2) tokens[i] = (byte) (i * 7); // ids below 256: high bytes stay 0
        fuzz("token files", rng -> {
            Path dir = Files.createDirectories(tmp.resolve("data" + rng.nextLong()));
            boolean damageMeta = rng.nextBoolean();
            Files.write(dir.resolve("meta.json"), damageMeta ? damagedJson(meta, rng) : bytes(meta));
            Path train = Files.write(dir.resolve("train.bin"), damageMeta ? tokens : damage(tokens, rng));
            return () -> {
                DataMeta m = TokenDataset.readMeta(dir);
                try (TokenDataset ignored = TokenDataset.open(train, m.vocabSize(), 16)) {
                    // opening validates every id
                }
            };
        });
    }

    @Test
    void metricsFile() {
        String valid = String.join("\n",
                "{\"step\": 1, \"tokens\": 64, \"loss\": 5.5, \"lr\": 0.001, \"batch_size\": 4, \"micro_batches\": 1,"
                        + " \"micro_batch\": 4, \"tok_per_s\": 1000.5, \"elapsed_s\": 0.1, \"grad_norm\": 1.25,"
                        + " \"gns_total\": 3.5, \"gns_ln\": 2.5, \"gns_type\": {\"norm\": 1.5},"
                        + " \"gns_layer\": {\"h.0\": 2.0}, \"pe_norm_total\": [1.0, 2.0], \"pe_norm_ln\": [0.5, 0.25],"
                        + " \"pe_examples\": [{\"offset\": 42, \"norm_total\": 1.0, \"norm_ln\": 0.5}]}",
                "{\"event\": \"batch_size\", \"step\": 2, \"from\": 4, \"to\": 8}",
                "{\"step\": 2, \"tokens\": 192, \"loss\": 5.25, \"val_loss\": 5.0, \"batch_size\": 8,"
                        + " \"batch_change\": {\"from\": 4, \"to\": 8, \"gns\": 7.5}, \"skip_reason\": \"loss not finite\"}",
                "");
        fuzz("metrics.jsonl", rng -> {
            Path file = tmp.resolve("metrics" + rng.nextLong() + ".jsonl");
            String[] lines = valid.split("\n", -1);
            int at = rng.nextInt(lines.length - 1);
            lines[at] = new String(damagedJson(lines[at], rng), StandardCharsets.UTF_8).replace("\n", " ");
            Files.write(file, damage(bytes(String.join("\n", lines)), rng));
            return () -> {
                MetricsFile f = MetricsFile.read(file); // damage inside the file is reported, never thrown
                if (!f.damaged().isEmpty()) f.requireIntact();
            };
        });
    }

    @Test
    void scheduleExperimentConfig() {
        String valid = """
                {
                  "out_dir": "runs/x",
                  "data_dir": "data/x",
                  "prepare": {"inputs": ["demo"], "tokenizer": "byte", "val_fraction": 0.1},
                  "base": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "batch_multiple": 4,
                           "batch_size": 8, "learning_rate": 3e-3, "min_lr": 3e-4, "max_tokens": 2048, "max_steps": 1000},
                  "fixed_batches": [4, 8],
                  "lr_factors": [2],
                  "arms": {"adaptive": {"batch_schedule": "adaptive", "batch_size_min": 4, "batch_size_start": 4,
                                        "adaptive_k": 1000, "adaptive_interval": 3}},
                  "seeds": [3, 4],
                  "estimators": {"batches": 4, "groups": 2, "batch_size": 8}
                }""";
        fuzz("experiment config", rng -> {
            String text = new String(damagedJson(valid, rng), StandardCharsets.UTF_8);
            return () -> ScheduleExperimentConfig.parse(text, "experiment.json");
        });
    }

    /**
     * A damaged state.json (its checksum made to match, as after an edit) or config.json of a run: the resume either
     * runs or is refused with one line, and a refused one changes no byte of the run folder.
     */
    @Test
    void checkpointStateOnResume() throws IOException {
        Path template = finishedRun();
        String valid = Files.readString(CheckpointStore.latest(template).resolve(CheckpointStore.STATE_FILE));
        fuzz("state.json on resume", rng -> {
            Path run = copyTree(template, tmp.resolve("state" + rng.nextLong()));
            Path checkpoint = CheckpointStore.latest(run);
            Files.write(checkpoint.resolve(CheckpointStore.STATE_FILE), damagedJson(valid, rng));
            TestRuns.rewriteChecksums(checkpoint);
            return () -> resumeChangingNothingIfRefused(run);
        });
    }

    @Test
    void runConfigOnResume() throws IOException {
        Path template = finishedRun();
        String valid = Files.readString(template.resolve("config.json"));
        fuzz("run config.json on resume", rng -> {
            Path run = copyTree(template, tmp.resolve("config" + rng.nextLong()));
            Files.write(run.resolve("config.json"), damagedJson(valid, rng));
            return () -> resumeChangingNothingIfRefused(run);
        });
    }

    /** A run of two steps, checkpointed at its end, on the demo text. */
    private Path finishedRun() {
        Path run = tmp.resolve("template");
        new Trainer(TestRuns.tiny("max_steps=2"), TestRuns.demoData(tmp.resolve("demo-data")), run, TestRuns.QUIET).run();
        return run;
    }

    /**
     * Resumes {@code run}; a run given more steps by the damage stops after its first (the fuzzing checks the
     * refusals, not the training). A refused resume must leave every file as it was.
     */
    private static void resumeChangingNothingIfRefused(Path run) {
        Map<String, String> before = TestRuns.snapshot(run);
        try {
            Trainer.resume(run, null, TestRuns.QUIET).hooks(new Trainer.Hooks(b -> b, step -> {
                throw new TestRuns.Killed(step);
            }, CheckpointStore.DISK)).run();
        } catch (TestRuns.Killed accepted) {
            // it ran
        } catch (UserError e) {
            assertEquals(before, TestRuns.snapshot(run), "a refused resume changed the run folder: " + e.getMessage());
            throw e;
        }
    }

    private static Path copyTree(Path from, Path to) throws IOException {
        try (var paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
        return to;
    }

    // ------------------------------------------------------------------------------------------------ regressions

    /** Cases the fuzzing found, kept by hand: each was a parser exception (or a multi-line message) before. */
    @Test
    void foundCasesAreOneLineUserErrors() throws IOException {
        Path hf = HfFixture.write(tmp.resolve("hf"), HfFixture.Spec.small(64), 1);
        String config = Files.readString(hf.resolve(HfGpt2.CONFIG_FILE));
        for (String[] swap : new String[][]{{"\"layer_norm_epsilon\": 1.0E-5", "\"layer_norm_epsilon\": true"},
                {"\"model_type\": \"gpt2\"", "\"model_type\": {}"}, {"\"n_inner\": null", "\"n_inner\": \"\""},
                {"\"tie_word_embeddings\": true", "\"tie_word_embeddings\": [1]"},
                {"\"n_layer\": 2", "\"n_layer\": 1e9"}, {"\"n_embd\": 16", "\"n_embd\": 1e99999999999"}}) { // 1e9 layers: more parameters than one float array holds
            assertTrue(config.contains(swap[0]), swap[0]);
            Files.writeString(hf.resolve(HfGpt2.CONFIG_FILE), config.replace(swap[0], swap[1]));
            assertOneLine(() -> HfGpt2.open(hf), "config.json");
        }
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("meta.json"), "{\"tokenizer\": \"byte\", \"vocab_size\": true}");
        assertOneLine(() -> TokenDataset.readMeta(data), "meta.json");
        Files.writeString(data.resolve("meta.json"), "{\"tokenizer\" \"byte\"}");
        assertOneLine(() -> TokenDataset.readMeta(data), "meta.json");
        String experiment = "{\"out_dir\": \"o\", \"data_dir\": \"d\", \"prepare\": {%s}, \"base\": {\"max_tokens\": 64},"
                + " \"fixed_batches\": [4, 8], \"arms\": {}, \"seeds\": [1, 2], \"estimators\": {%s}}";
        for (String[] parts : new String[][]{{"\"inputs\": [{}]", ""}, {"\"val_fraction\": \"x\"", ""},
                {"", "\"groups\": null"}, {"", "\"batches\": [1, 2]"}})
            assertOneLine(() -> ScheduleExperimentConfig.parse(experiment.formatted(parts[0], parts[1]), "e.json"), "e.json");
        assertOneLine(() -> ScheduleExperimentConfig.parse(experiment.formatted("", "").replace("\"o\"", "\"a\\u0000b\""),
                "e.json"), "out_dir");
    }

    private static void assertOneLine(Read read, String mentions) {
        UserError e = assertThrows(UserError.class, read::run);
        assertTrue(e.getMessage().contains(mentions) && !e.getMessage().contains("\n"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------------------ harness

    interface Read { void run() throws Exception; }

    interface Case { Read make(SplittableRandom rng) throws IOException; }

    /**
     * Runs {@link #CASES} damaged inputs through a reader; fails listing every case that ended in anything but a
     * load or a one-line UserError. Each case has its own generator, so a failing case number replays alone.
     */
    static void fuzz(String reader, Case make) {
        List<String> failures = new ArrayList<>();
        int loaded = 0, refused = 0;
        for (int i = 0; i < CASES; i++) {
            SplittableRandom rng = new SplittableRandom(SEED * 31 + i);
            try {
                make.make(rng).run();
                loaded++;
            } catch (UserError e) {
                refused++;
                String msg = e.getMessage();
                if (msg == null || msg.isBlank() || msg.contains("\n"))
                    failures.add("case " + i + ": UserError not of one line: " + msg);
            } catch (Throwable t) {
                failures.add("case " + i + ": " + t);
            }
        }
        assertTrue(failures.isEmpty(), reader + ": " + failures.size() + " of " + CASES + " damaged inputs escaped as"
                + " other exceptions:\n" + String.join("\n", failures.subList(0, Math.min(10, failures.size()))));
        assertTrue(refused > 0, reader + ": no damaged input was refused; the damage does not reach the reader");
        System.out.println(reader + ": " + loaded + " loaded, " + refused + " refused");
    }

    // ------------------------------------------------------------------------------------------------ damage

    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /** JSON text with a structural change (most cases), byte damage, or both. */
    static byte[] damagedJson(String valid, SplittableRandom rng) {
        int kind = rng.nextInt(4);
        String text = kind == 0 ? valid : mutate(JsonParser.parseString(valid), rng).toString();
        return kind == 1 || kind == 0 ? damage(bytes(text), rng) : bytes(text);
    }

    /** One to three byte-level changes. */
    static byte[] damage(byte[] valid, SplittableRandom rng) {
        byte[] b = valid.clone();
        for (int n = 1 + rng.nextInt(3); n > 0; n--) b = damageOnce(b, rng);
        return b;
    }

    private static final byte[] INSERTS = bytes("{}[]\",:0-9e. \n\\\u0000");

    private static byte[] damageOnce(byte[] b, SplittableRandom rng) {
        if (b.length == 0) return new byte[]{(byte) rng.nextInt(256)};
        int at = rng.nextInt(b.length);
        switch (rng.nextInt(5)) {
            case 0 -> { // bit flip
                b = b.clone();
                b[at] ^= (byte) (1 << rng.nextInt(8));
                return b;
            }
            case 1 -> { return Arrays.copyOf(b, at); } // truncation
            case 2 -> { // insertion of a syntax byte or any byte
                byte[] out = new byte[b.length + 1];
                System.arraycopy(b, 0, out, 0, at);
                out[at] = rng.nextBoolean() ? INSERTS[rng.nextInt(INSERTS.length)] : (byte) rng.nextInt(256);
                System.arraycopy(b, at, out, at + 1, b.length - at);
                return out;
            }
            case 3 -> { // deletion of a short run
                int len = Math.min(b.length - at, 1 + rng.nextInt(8));
                byte[] out = new byte[b.length - len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + len, out, at, b.length - at - len);
                return out;
            }
            default -> { // overwrite
                b = b.clone();
                b[at] = (byte) rng.nextInt(256);
                return b;
            }
        }
    }

    /** A copy of {@code root} with one value swapped (see {@link #SWAPS}) or one key removed. */
    static JsonElement mutate(JsonElement root, SplittableRandom rng) {
        JsonElement copy = root.deepCopy();
        List<JsonElement> containers = new ArrayList<>();
        collect(copy, containers);
        JsonElement c = containers.get(rng.nextInt(containers.size()));
        JsonElement swap = SWAPS.get(rng.nextInt(SWAPS.size())).deepCopy();
        if (c instanceof JsonObject o && !o.isEmpty()) {
            String key = new ArrayList<>(o.keySet()).get(rng.nextInt(o.size()));
            if (rng.nextInt(6) == 0) o.remove(key);
            else o.add(key, swap);
        } else if (c instanceof JsonArray a && !a.isEmpty()) {
            a.set(rng.nextInt(a.size()), swap);
        }
        return copy;
    }

    private static void collect(JsonElement e, List<JsonElement> containers) {
        if (e instanceof JsonObject o) {
            containers.add(o);
            for (JsonElement v : o.asMap().values()) collect(v, containers);
        } else if (e instanceof JsonArray a) {
            containers.add(a);
            for (JsonElement v : a) collect(v, containers);
        }
    }

    /** The header JSON of a safetensors file. */
    static JsonElement header(byte[] file) {
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return JsonParser.parseString(new String(file, 8, (int) n, StandardCharsets.UTF_8));
    }

    /** {@code file} with its header replaced by {@code header} (padded, with a matching length), the data kept. */
    static byte[] withHeader(byte[] file, JsonElement header) {
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        StringBuilder json = new StringBuilder(header.toString());
        while (json.length() % 8 != 0) json.append(' ');
        byte[] h = bytes(json.toString());
        int data = file.length - 8 - (int) n;
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + data).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h).put(file, 8 + (int) n, data);
        return out.array();
    }
}
