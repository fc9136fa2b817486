package gns4j.checkpoint;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.backend.cuda.CudaBackend;
import gns4j.UserError;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.train.TestRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static gns4j.checkpoint.SampleTest.cli;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Hugging Face Llama folders (written here by hand, with transformers' tensor names and config fields) in and out of
 * our layout, and trained from with --init-from.
 */
class HfLlamaTest {
    @TempDir Path tmp;

    static final int L = 2, H = 4, KV = 2, C = 16, F = 24, POSITIONS = 32, VOCAB = 260;
    static final ModelConfig SHAPE = ModelConfig.llama(L, H, KV, C, POSITIONS, VOCAB, F, 500000.0, false);

    /** transformers' LlamaForCausalLM tensors, [out, in] as nn.Linear stores them, plus an old inv_freq buffer. */
    static Map<String, HfFixture.Raw> tensors(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, HfFixture.Raw> t = new TreeMap<>();
        int kv = KV * C / H;
        t.put("model.embed_tokens.weight", random(rng, VOCAB, C));
        for (int l = 0; l < L; l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", random(rng, C));
            t.put(p + "self_attn.q_proj.weight", random(rng, C, C));
            t.put(p + "self_attn.k_proj.weight", random(rng, kv, C));
            t.put(p + "self_attn.v_proj.weight", random(rng, kv, C));
            t.put(p + "self_attn.o_proj.weight", random(rng, C, C));
            t.put(p + "self_attn.rotary_emb.inv_freq", random(rng, C / H / 2));
            t.put(p + "post_attention_layernorm.weight", random(rng, C));
            t.put(p + "mlp.gate_proj.weight", random(rng, F, C));
            t.put(p + "mlp.up_proj.weight", random(rng, F, C));
            t.put(p + "mlp.down_proj.weight", random(rng, C, F));
        }
        t.put("model.norm.weight", random(rng, C));
        t.put("lm_head.weight", random(rng, VOCAB, C));
        return t;
    }

    static Path write(Path dir, String eps, String ropeScaling) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.safetensors"), HfFixture.safetensors(tensors(3)));
        Files.writeString(dir.resolve("config.json"), """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "attention_bias": false,
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "hidden_act": "silu",
                  "hidden_size": %d,
                  "initializer_range": 0.02,
                  "intermediate_size": %d,
                  "max_position_embeddings": %d,
                  "model_type": "llama",
                  "num_attention_heads": %d,
                  "num_hidden_layers": %d,
                  "num_key_value_heads": %d,
                  "pretraining_tp": 1,
                  "rms_norm_eps": %s,
                  "rope_scaling": %s,
                  "rope_theta": 500000.0,
                  "tie_word_embeddings": false,
                  "torch_dtype": "float32",
                  "transformers_version": "4.40.0",
                  "use_cache": true,
                  "vocab_size": %d
                }
                """.formatted(C, F, POSITIONS, H, L, KV, eps, ropeScaling, VOCAB));
        return dir;
    }

    @Test
    void loadsTransformersTensorsAsTheyAre() throws IOException {
        HfGpt2.Pretrained hf = HfGpt2.open(write(tmp.resolve("hf"), "1e-05", "null"));
        assertEquals(SHAPE, hf.config());
        float[] ours = hf.params(hf.config());
        ParameterLayout layout = new ParameterLayout(SHAPE);
        Map<String, HfFixture.Raw> raw = tensors(3);
        for (ParamTensor t : layout.tensors)
            assertArrayEquals(raw.get(t.name()).floats(), Arrays.copyOfRange(ours, t.offset(), t.offset() + t.size()), t.name());
        assertEquals(raw.size() - L, layout.numTensors(), "every tensor but the inv_freq buffers is a parameter");
    }

    @Test
    void exportThenReloadIsByteIdenticalWithALlamaConfig() throws IOException {
        Path dir = write(tmp.resolve("hf"), "1e-05", "null");
        float[] params = HfGpt2.open(dir).params(SHAPE);
        ParameterLayout layout = new ParameterLayout(SHAPE);
        byte[] exported = SafeTensors.toBytes(HfGpt2.toHf(layout, params), Map.of("format", "pt"));
        Path out = Files.createDirectories(tmp.resolve("export"));
        Files.write(out.resolve("model.safetensors"), exported);
        Files.writeString(out.resolve("config.json"), HfGpt2.configJson(SHAPE));
        JsonObject config = JsonParser.parseString(Files.readString(out.resolve("config.json"))).getAsJsonObject();
        assertEquals("llama", config.get("model_type").getAsString());
        assertEquals("LlamaForCausalLM", config.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals(KV, config.get("num_key_value_heads").getAsInt());
        assertEquals(F, config.get("intermediate_size").getAsInt());
        assertEquals(1e-5, config.get("rms_norm_eps").getAsDouble());
        assertFalse(config.get("tie_word_embeddings").getAsBoolean());
        HfGpt2.Pretrained again = HfGpt2.open(out);
        assertEquals(SHAPE, again.config());
        assertArrayEquals(params, again.params(SHAPE));
        assertArrayEquals(exported, SafeTensors.toBytes(HfGpt2.toHf(layout, again.params(SHAPE)), Map.of("format", "pt")));
    }

    @Test
    void settingsOurLlamaLacksAreRefusedInOneLine() throws IOException {
        String eps = assertThrows(UserError.class, () -> HfGpt2.open(write(tmp.resolve("eps"), "1e-06", "null"))).getMessage();
        assertTrue(eps.contains("rms_norm_eps 1.0E-6 is not supported"), eps);
        String scaling = assertThrows(UserError.class,
                () -> HfGpt2.open(write(tmp.resolve("scaling"), "1e-05", "{\"type\": \"linear\", \"factor\": 2.0}"))).getMessage();
        assertTrue(scaling.contains("rope_scaling is not supported"), scaling);
    }

    @Test
    void trainsFromALlamaFolderAndSamplesFromTheRun() throws IOException {
        Path hf = write(tmp.resolve("hf"), "1e-05", "null"), data = TestRuns.demoData(tmp.resolve("data"));
        Path run = tmp.resolve("run");
        var trained = cli("train", "--init-from", hf.toString(), "--data-dir", data.toString(), "--out-dir", run.toString(),
                "--max-steps", "2", "--set", "threads=1", "--set", "block_size=8", "--set", "micro_batch_size=2",
                "--set", "batch_size=4", "--set", "checkpoint_interval=0");
        assertEquals(0, trained.status(), trained.err());
        Path checkpoint = CheckpointStore.latest(run);
        assertEquals(ModelConfig.llama(L, H, KV, C, 8, VOCAB, F, 500000.0, false), HfGpt2.open(checkpoint).config());
        var sampled = cli("sample", run.toString(), "--prompt", "The", "--max-new-tokens", "5");
        assertEquals(0, sampled.status(), sampled.err());
        // a bare Llama folder: its tokenizer is unknown, so no guess
        var bare = cli("sample", hf.toString(), "--prompt", "The", "--max-new-tokens", "5");
        assertEquals(2, bare.status(), bare.err());
        assertTrue(bare.err().contains("--tokenizer gpt2 or byte"), bare.err());
        assertEquals(1, bare.err().strip().lines().count(), bare.err());
        assertEquals(0, cli("sample", hf.toString(), "--tokenizer", "byte", "--prompt", "The", "--max-new-tokens", "5").status());
        // Llama trains on CUDA too: on a machine without a GPU, the one-line refusal is the missing driver or GPU
        assumeFalse(CudaBackend.available(), "a GPU is present");
        var cuda = cli("train", "--init-from", hf.toString(), "--data-dir", data.toString(), "--out-dir",
                tmp.resolve("cuda").toString(), "--device", "cuda");
        assertEquals(2, cuda.status());
        assertTrue(cuda.err().contains("(use --device cpu)"), cuda.err());
        assertEquals(1, cuda.err().strip().lines().count(), cuda.err());
        assertFalse(Files.exists(tmp.resolve("cuda")));
    }

    private static HfFixture.Raw random(SplittableRandom rng, int... shape) {
        float[] f = new float[Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < f.length; i++) f[i] = (float) (0.2 * rng.nextGaussian());
        return new HfFixture.Raw(shape, "F32", HfFixture.floats(f));
    }
}
