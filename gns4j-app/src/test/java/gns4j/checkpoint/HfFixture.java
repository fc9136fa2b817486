package gns4j.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes a random GPT-2 in Hugging Face form (model.safetensors + config.json) without transformers, independently
 * of the code under test: its own safetensors writer, HF's Conv1D [in, out] layouts written directly, tensors in
 * name order (as the safetensors library sorts them), optionally bare names (GPT2Model, as on the hub) and the
 * attention-mask buffers older files carry.
 */
public final class HfFixture {
    /** One tensor in HF layout: shape, dtype and the raw little-endian bytes. */
    public record Raw(int[] shape, String dtype, byte[] bytes) {
        public float[] floats() {
            float[] f = new float[bytes.length / 4];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        }
    }

    public record Spec(int nLayer, int nHead, int nEmbd, int nPositions, int vocab, boolean tied, boolean prefixed,
                       boolean maskBuffers, double eps, String activation) {
        public static Spec small(int vocab) { return new Spec(2, 2, 16, 32, vocab, true, true, false, 1e-5, "gelu_new"); }

        public Spec withNames(boolean prefixed, boolean maskBuffers) {
            return new Spec(nLayer, nHead, nEmbd, nPositions, vocab, tied, prefixed, maskBuffers, eps, activation);
        }

        public Spec untied() { return new Spec(nLayer, nHead, nEmbd, nPositions, vocab, false, prefixed, maskBuffers, eps, activation); }

        public Spec withConfig(double eps, String activation) {
            return new Spec(nLayer, nHead, nEmbd, nPositions, vocab, tied, prefixed, maskBuffers, eps, activation);
        }
    }

    private HfFixture() {}

    /** The tensors, keyed by full name, in HF layouts (Conv1D weights [in, out]). */
    public static Map<String, Raw> tensors(Spec s, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int C = s.nEmbd();
        String p = s.prefixed() ? "transformer." : "";
        Map<String, Raw> t = new TreeMap<>();
        t.put(p + "wte.weight", random(rng, 0.1, s.vocab(), C));
        t.put(p + "wpe.weight", random(rng, 0.05, s.nPositions(), C));
        for (int l = 0; l < s.nLayer(); l++) {
            String h = p + "h." + l + ".";
            t.put(h + "ln_1.weight", gain(rng, C));
            t.put(h + "ln_1.bias", random(rng, 0.1, C));
            t.put(h + "attn.c_attn.weight", random(rng, 0.2, C, 3 * C));
            t.put(h + "attn.c_attn.bias", random(rng, 0.1, 3 * C));
            t.put(h + "attn.c_proj.weight", random(rng, 0.2, C, C));
            t.put(h + "attn.c_proj.bias", random(rng, 0.1, C));
            t.put(h + "ln_2.weight", gain(rng, C));
            t.put(h + "ln_2.bias", random(rng, 0.1, C));
            t.put(h + "mlp.c_fc.weight", random(rng, 0.2, C, 4 * C));
            t.put(h + "mlp.c_fc.bias", random(rng, 0.1, 4 * C));
            t.put(h + "mlp.c_proj.weight", random(rng, 0.1, 4 * C, C));
            t.put(h + "mlp.c_proj.bias", random(rng, 0.1, C));
            if (s.maskBuffers()) {
                byte[] tril = new byte[s.nPositions() * s.nPositions()];
                for (int i = 0; i < s.nPositions(); i++) for (int j = 0; j <= i; j++) tril[i * s.nPositions() + j] = 1;
                t.put(h + "attn.bias", new Raw(new int[]{1, 1, s.nPositions(), s.nPositions()}, "U8", tril));
                t.put(h + "attn.masked_bias", new Raw(new int[0], "F32", floats(-1e4f)));
            }
        }
        t.put(p + "ln_f.weight", gain(rng, C));
        t.put(p + "ln_f.bias", random(rng, 0.1, C));
        if (!s.tied()) t.put("lm_head.weight", random(rng, 0.1, s.vocab(), C));
        return t;
    }

    /** Writes dir/model.safetensors and dir/config.json; returns dir. */
    public static Path write(Path dir, Spec s, long seed) throws IOException {
        Files.createDirectories(dir);
        Map<String, Raw> tensors = tensors(s, seed);
        Files.write(dir.resolve("model.safetensors"), safetensors(tensors));
        Files.writeString(dir.resolve("config.json"), """
                {
                  "activation_function": "%s",
                  "architectures": ["GPT2LMHeadModel"],
                  "attn_pdrop": 0.1,
                  "bos_token_id": 50256,
                  "embd_pdrop": 0.1,
                  "eos_token_id": 50256,
                  "initializer_range": 0.02,
                  "layer_norm_epsilon": %s,
                  "model_type": "gpt2",
                  "n_ctx": %d,
                  "n_embd": %d,
                  "n_head": %d,
                  "n_inner": null,
                  "n_layer": %d,
                  "n_positions": %d,
                  "reorder_and_upcast_attn": false,
                  "resid_pdrop": 0.1,
                  "scale_attn_by_inverse_layer_idx": false,
                  "scale_attn_weights": true,
                  "tie_word_embeddings": %s,
                  "torch_dtype": "float32",
                  "vocab_size": %d
                }
                """.formatted(s.activation(), s.eps(), s.nPositions(), s.nEmbd(), s.nHead(), s.nLayer(), s.nPositions(),
                s.tied(), s.vocab()));
        return dir;
    }

    /** A safetensors file by hand: header JSON with data_offsets in name order, padded to 8 bytes, then the data. */
    public static byte[] safetensors(Map<String, Raw> tensors) {
        StringBuilder json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        List<byte[]> parts = new ArrayList<>();
        for (Map.Entry<String, Raw> e : tensors.entrySet()) {
            Raw r = e.getValue();
            StringBuilder shape = new StringBuilder();
            for (int d : r.shape()) shape.append(shape.isEmpty() ? "" : ",").append(d);
            json.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"").append(r.dtype()).append("\",\"shape\":[")
                    .append(shape).append("],\"data_offsets\":[").append(offset).append(',').append(offset + r.bytes().length).append("]}");
            offset += r.bytes().length;
            parts.add(r.bytes());
        }
        json.append('}');
        while ((json.length()) % 8 != 0) json.append(' ');
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate((int) (8 + header.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header);
        for (byte[] b : parts) out.put(b);
        return out.array();
    }

    private static Raw random(SplittableRandom rng, double std, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (rng.nextGaussian() * std);
        return new Raw(shape, "F32", floats(f));
    }

    private static Raw gain(SplittableRandom rng, int C) {
        float[] f = new float[C];
        for (int i = 0; i < C; i++) f[i] = (float) (1 + 0.1 * rng.nextGaussian());
        return new Raw(new int[]{C}, "F32", floats(f));
    }

    static byte[] floats(float... f) {
        ByteBuffer b = ByteBuffer.allocate(4 * f.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b.array();
    }
}
