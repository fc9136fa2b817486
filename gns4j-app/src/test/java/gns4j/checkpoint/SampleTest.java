package gns4j.checkpoint;

import gns4j.backend.cpu.CpuModel;
import gns4j.backend.cpu.CpuSampler;
import gns4j.cli.Main;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParameterLayout;
import gns4j.train.TestRuns;
import gns4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Generation with the KV cache: equal to full recomputation, consistent with training's forward; the CLI. */
class SampleTest {
    @TempDir Path tmp;

    static float[] randomParams(ModelConfig c, long seed) {
        ParameterLayout layout = new ParameterLayout(c);
        float[] p = new float[layout.totalSize];
        SplittableRandom r = new SplittableRandom(seed);
        for (var t : layout.tensors)
            for (int i = t.offset(); i < t.offset() + t.size(); i++)
                p[i] = (float) (t.kind().isNorm() && t.name().endsWith("weight") ? 1 + 0.1 * r.nextGaussian() : 0.3 * r.nextGaussian());
        return p;
    }

    @Test
    void kvCacheGenerationEqualsRecomputingTheWholeContext() {
        for (ModelConfig c : new ModelConfig[]{new ModelConfig(2, 2, 16, 16, 40, true, NormType.LAYERNORM, true),
                new ModelConfig(1, 4, 32, 12, 50, false, NormType.RMSNORM, false), LLAMA}) {
            float[] params = randomParams(c, 3);
            int[] prompt = {1, 5, 9, 2, 7};
            try (CpuSampler s = new CpuSampler(c, params, 1)) {
                var greedy = new CpuSampler.Sampling(0, 0, c.vocabSize());
                // 30 new tokens: the context outgrows block_size, so the window slides too
                int[] cached = s.generate(prompt, 30, greedy, new SplittableRandom(1), true, null);
                int[] full = s.generate(prompt, 30, greedy, new SplittableRandom(1), false, null);
                assertArrayEquals(full, cached, c.toString());
                var sampled = new CpuSampler.Sampling(0.9, 10, c.vocabSize() - 3);
                int[] a = s.generate(prompt, 30, sampled, new SplittableRandom(5), true, null);
                int[] b = s.generate(prompt, 30, sampled, new SplittableRandom(5), false, null);
                assertArrayEquals(b, a);
                for (int t : a) assertTrue(t < c.vocabSize() - 3);
            }
        }
    }

    /** Grouped-query attention (2 query heads per kv head) and a RoPE base that turns visibly within 16 positions. */
    static final ModelConfig LLAMA = ModelConfig.llama(2, 4, 2, 16, 16, 40, 24, 30, false);

    @Test
    void cachedLogitsMatchTheFullForwardAndTrainingLoss() {
        cachedLogitsMatchTheFullForwardAndTrainingLoss(new ModelConfig(2, 2, 16, 16, 40, true, NormType.LAYERNORM, true));
        cachedLogitsMatchTheFullForwardAndTrainingLoss(LLAMA);
    }

    private static void cachedLogitsMatchTheFullForwardAndTrainingLoss(ModelConfig c) {
        float[] params = randomParams(c, 9);
        int T = 12;
        int[] tokens = new int[T + 1];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i <= T; i++) tokens[i] = r.nextInt(c.vocabSize());
        try (CpuSampler s = new CpuSampler(c, params, 1); CpuModel m = new CpuModel(c, 1, 1)) {
            float[] all = s.logitsAll(tokens, T);
            s.reset();
            s.append(tokens, 0, 5);
            for (int t = 5; t < T; t++) {
                float[] row = s.append(tokens, t, 1);
                for (int v = 0; v < c.vocabSize(); v++) assertEquals(all[t * c.vocabSize() + v], row[v], 1e-5f, "t " + t);
            }
            double loss = 0;
            for (int t = 0; t < T; t++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < c.vocabSize(); v++) max = Math.max(max, all[t * c.vocabSize() + v]);
                for (int v = 0; v < c.vocabSize(); v++) sum += Math.exp(all[t * c.vocabSize() + v] - max);
                loss += max + Math.log(sum) - all[t * c.vocabSize() + tokens[t + 1]];
            }
            System.arraycopy(params, 0, m.params, 0, params.length);
            double trained = m.forward(java.util.Arrays.copyOf(tokens, T), java.util.Arrays.copyOfRange(tokens, 1, T + 1), 1, T);
            assertEquals(trained, loss / T, 1e-5);
        }
    }

    @Test
    void sampleCommandFromARunAndFromAHuggingFaceFolder() throws Exception {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        Path run = tmp.resolve("run");
        new Trainer(TestRuns.tiny("max_steps=6"), data, run, TestRuns.QUIET).run();
        String[] greedy = {"sample", run.toString(), "--prompt", "And God said", "--max-new-tokens", "24", "--temperature", "0", "--threads", "1"};
        Out a = cli(greedy);
        assertEquals(0, a.status, a.err);
        assertTrue(a.out.startsWith("And God said"), a.out);
        assertTrue(a.out.length() > "And God said".length() + 5, a.out);
        assertEquals(a.out, cli(greedy).out, "greedy is deterministic");
        String[] noCache = java.util.Arrays.copyOf(greedy, greedy.length + 1);
        noCache[greedy.length] = "--no-kv-cache";
        assertEquals(a.out, cli(noCache).out);
        Out sampled = cli("sample", run.toString(), "--prompt", "In", "--seed", "3", "--top-k", "5", "--threads", "1");
        assertEquals(0, sampled.status, sampled.err);
        assertEquals(sampled.out, cli("sample", run.toString(), "--prompt", "In", "--seed", "3", "--top-k", "5", "--threads", "1").out);

        Path hf = HfFixture.write(tmp.resolve("hf"), HfFixture.Spec.small(300), 1);
        Path dump = tmp.resolve("logits.npy");
        Out h = cli("sample", hf.toString(), "--prompt", "abc", "--temperature", "0", "--max-new-tokens", "4",
                "--tokenizer", "byte", "--dump-logits", dump.toString(), "--threads", "1");
        assertEquals(0, h.status, h.err);
        byte[] npy = Files.readAllBytes(dump);
        int headerLen = ByteBuffer.wrap(npy).order(ByteOrder.LITTLE_ENDIAN).getShort(8);
        String header = new String(npy, 10, headerLen, StandardCharsets.US_ASCII);
        assertEquals(0, (10 + headerLen) % 64);
        assertTrue(header.contains("'shape': (3, 300)") && header.contains("'<f4'"), header);
        assertEquals(10 + headerLen + 3 * 300 * 4, npy.length);
        String json = Files.readString(Path.of(dump + ".json"));
        assertTrue(json.contains("\"prompt_tokens\": [97, 98, 99]"), json);

        Out bad = cli("sample", hf.toString(), "--prompt", "abc");
        assertEquals(2, bad.status);
        assertTrue(bad.err.contains("smaller than the gpt2 tokenizer's"), bad.err);
        assertEquals(2, cli("sample", tmp.resolve("nope").toString()).status);
    }

    @Test
    void nonFiniteWeightsOrANonModelFileAreOneLineBeforeAnythingIsPrinted() throws Exception {
        Path hf = HfFixture.write(tmp.resolve("hf-nan"), HfFixture.Spec.small(300), 1);
        Path weights = hf.resolve(HfGpt2.MODEL_FILE);
        SafeTensors.Contents c = SafeTensors.read(weights);
        SafeTensors.Tensor first = c.tensors().values().iterator().next();
        first.data()[first.offset() + 1] = Float.NaN;
        Files.write(weights, SafeTensors.toBytes(List.copyOf(c.tensors().values()), c.metadata()));
        Out bad = cli("sample", hf.toString(), "--prompt", "abc", "--tokenizer", "byte", "--max-new-tokens", "2");
        assertEquals(2, bad.status, bad.err);
        assertEquals("", bad.out);
        assertEquals(1, bad.err.lines().count(), bad.err);
        assertTrue(bad.err.contains("tensor " + first.name() + " holds NaN"), bad.err);

        // sizes and output files that cannot work are refused before the model is read or anything is printed
        for (String[] args : new String[][]{{"--max-new-tokens", "1000000000", "needs about"},
                {"--threads", "40000", "--threads must be in [0, 4096]"},
                {"--dump-logits", "/proc/gns4j-x.npy", "--dump-logits /proc/gns4j-x.npy: cannot write in /proc"}}) {
            Out refused = cli("sample", hf.toString(), "--tokenizer", "byte", args[0], args[1]);
            assertEquals(2, refused.status, refused.err);
            assertEquals("", refused.out);
            assertEquals(1, refused.err.lines().count(), refused.err);
            assertTrue(refused.err.contains(args[2]), refused.err);
        }

        Path text = Files.writeString(tmp.resolve("t.txt"), "not a model");
        Out notModel = cli("sample", text.toString());
        assertEquals(2, notModel.status);
        assertTrue(notModel.err.startsWith("gns4j: " + text + " is not a model"), notModel.err);
    }

    record Out(int status, String out, String err) {}

    static synchronized Out cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new Out(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
