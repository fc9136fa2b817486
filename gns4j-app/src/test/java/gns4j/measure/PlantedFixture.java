package gns4j.measure;

import gns4j.backend.AdamWSettings;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.backend.cpu.CpuBackend;
import gns4j.checkpoint.HfGpt2;
import gns4j.checkpoint.SafeTensors;
import gns4j.data.ByteTokenizer;
import gns4j.data.DatasetPreparer;
import gns4j.data.DemoCorpus;
import gns4j.data.TokenDataset;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A byte-level dataset of real English text (the demo corpus) with a few documents of uniformly random bytes
 * planted in it, and a small model trained for {@link #TRAIN_STEPS} AdamW steps on the real text, saved as a
 * Hugging Face GPT-2 folder (config.json, model.safetensors) — shared by {@link PlantedDocumentsTest} and {@link MeasureCommandTest}.
 *
 * <p>Why train first: at initialisation the norm ranking says nothing about data quality. An untrained model
 * predicts all bytes alike, so every example's output error has about the same size, and a random window, whose
 * per-token errors point in unrelated directions, averages out to a smaller norm (in this setup no planted window
 * is among the 30 highest of 160 at init). Once the model has learned the text's byte statistics, a random window
 * contradicts them at every position in the same way (too much probability on frequent letters and spaces), so its
 * gradient is large: the situation of a user who measures a trained model to find outlier documents.
 */
final class PlantedFixture {
    private PlantedFixture() {}

    static final int T = 32, MICRO = 16, TEXT_CHUNK = 3000, PLANTED_LEN = 256, PLANTS = 8, TRAIN_STEPS = 100;
    static final ModelConfig MODEL = new ModelConfig(2, 2, 32, T, 257, true, NormType.LAYERNORM, true);

    /** A planted document as a [start, end) token range of the written file. */
    record Planted(long start, long end) {}

    static List<Planted> planted;
    /** The planted dataset (train.bin, meta.json) and a Hugging Face GPT-2 folder with the trained model (config.json, model.safetensors). */
    static Path data, run;
    private static Path tmp;

    /** Builds the fixture once per JVM (the test classes share it), in a temp folder deleted at exit. */
    static synchronized void build() throws IOException {
        if (tmp != null) return;
        tmp = Files.createTempDirectory("gns4j-measure-test");
        Runtime.getRuntime().addShutdownHook(new Thread(PlantedFixture::deleteTemp));
        Path corpus = tmp.resolve("corpus");
        DemoCorpus.prepare(corpus, new ByteTokenizer());
        data = tmp.resolve("planted");
        run = tmp.resolve("run");
        Files.createDirectories(run);
        try (TokenDataset text = TokenDataset.open(corpus.resolve(DatasetPreparer.TRAIN_FILE), 257, T);
             CpuBackend backend = new CpuBackend(MODEL, MICRO, 1)) {
            planted = writePlantedDataset(text, data, 5);
            backend.initWeights(1);
            train(backend, text, TRAIN_STEPS, 2);
            float[] params = new float[backend.layout().totalSize];
            backend.readParams(params);
            Files.write(run.resolve(HfGpt2.MODEL_FILE), SafeTensors.toBytes(HfGpt2.toHf(backend.layout(), params), Map.of("format", "pt")));
        }
        Files.writeString(run.resolve(HfGpt2.CONFIG_FILE), HfGpt2.configJson(MODEL));
    }

    /**
     * Writes dir/train.bin in byte tokens: PLANTS times a chunk of real text then a document of random bytes, each
     * followed by the end-of-text id; and meta.json. Returns the planted ranges.
     */
    static List<Planted> writePlantedDataset(TokenDataset text, Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom rng = new SplittableRandom(seed);
        int eot = new ByteTokenizer().endOfText();
        List<Integer> ids = new ArrayList<>();
        List<Planted> out = new ArrayList<>();
        for (int p = 0; p < PLANTS; p++) {
            for (int i = 0; i < TEXT_CHUNK; i++) ids.add(text.token((long) p * TEXT_CHUNK + i));
            ids.add(eot);
            long start = ids.size();
            for (int i = 0; i < PLANTED_LEN; i++) ids.add(rng.nextInt(256));
            out.add(new Planted(start, ids.size()));
            ids.add(eot);
        }
        ByteBuffer buf = ByteBuffer.allocate(2 * ids.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (int id : ids) buf.putShort((short) id);
        Files.write(dir.resolve(DatasetPreparer.TRAIN_FILE), buf.array());
        Files.writeString(dir.resolve(DatasetPreparer.META_FILE), "{\"tokenizer\": \"byte\", \"vocab_size\": 257, "
                + "\"train_tokens\": " + ids.size() + ", \"val_tokens\": 0}\n");
        return out;
    }

    /** AdamW steps on random windows of the real text. */
    static void train(CpuBackend backend, TokenDataset text, int steps, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] in = new int[MICRO * T], tg = new int[MICRO * T];
        long[] off = new long[MICRO];
        AdamWSettings adam = new AdamWSettings(0.9, 0.95, 1e-8, 0.0);
        for (int step = 1; step <= steps; step++) {
            backend.zeroGrad();
            text.sampleBatch(rng, MICRO, T, in, tg, off);
            backend.forwardBackward(in, tg, MICRO, T, 1f / MICRO, NormTracking.OFF, LinearNormMethod.AUTO, null);
            backend.adamwStep(adam, 3e-3, step);
        }
    }

    /** Tokens of the window at {@code offset} (T inputs and the last target) that lie in a planted document. */
    static long plantedTokens(long offset) {
        long best = 0;
        for (Planted p : planted) best = Math.max(best, Math.min(offset + T + 1, p.end()) - Math.max(offset, p.start()));
        return best;
    }

    static boolean fullyPlanted(ExampleNorm e) { return plantedTokens(e.offset()) == T + 1; }

    static boolean clean(ExampleNorm e) { return plantedTokens(e.offset()) <= 0; }

    private static void deleteTemp() {
        try (Stream<Path> files = Files.walk(tmp)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
