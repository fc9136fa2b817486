package gns4j.checkpoint;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import gns4j.JsonFiles;
import gns4j.UserError;
import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamKind;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Our parameters in Hugging Face GPT-2 (or Llama, config.json in {@link HfLlama}) form and back. Tensor names are already HF's ({@link ParameterLayout});
 * the layouts differ only where HF uses its {@code Conv1D} (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj), which
 * stores weights [in, out] where ours (like nn.Linear) are [out, in]: those are transposed both ways. A tied head is
 * saved as {@code transformer.wte.weight} alone, as {@code GPT2LMHeadModel.save_pretrained} does; an untied one adds
 * {@code lm_head.weight} [vocab, n_embd].
 *
 * <p>Reading accepts both key spellings seen in the wild ({@code transformer.h.0...} from GPT2LMHeadModel, bare
 * {@code h.0...} from GPT2Model, as on the hub), skips the attention-mask buffers older files carry
 * ({@code attn.bias}, {@code attn.masked_bias}; Llama's {@code rotary_emb.inv_freq}), and reads the first block_size
 * rows of a longer position table.
 */
public final class HfGpt2 {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String CONFIG_FILE = "config.json";
    /** HF's default and ours ({@code CpuKernels.NORM_EPS}); a model trained with another epsilon is refused. */
    public static final double LAYER_NORM_EPS = 1e-5;

    private HfGpt2() {}

    /** Whether HF stores this kind transposed relative to us (GPT-2's Conv1D weights; Llama's are nn.Linear). */
    static boolean transposed(ModelConfig m, ParamKind kind) {
        if (m.arch() != Arch.GPT2) return false;
        return switch (kind) {
            case ATTN_QKV_WEIGHT, ATTN_PROJ_WEIGHT, MLP_IN_WEIGHT, MLP_OUT_WEIGHT -> true;
            default -> false;
        };
    }

    /** The tensors of {@code params} (our flat layout) in HF names and layouts, in our layout order. */
    public static List<SafeTensors.Tensor> toHf(ParameterLayout layout, float[] params) {
        List<SafeTensors.Tensor> out = new ArrayList<>();
        for (ParamTensor t : layout.tensors) {
            if (transposed(layout.config, t.kind())) {
                int rows = t.shape()[0], cols = t.shape()[1]; // ours [out, in]
                float[] tr = new float[t.size()];
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) tr[c * rows + r] = params[t.offset() + r * cols + c];
                out.add(new SafeTensors.Tensor(t.name(), new int[]{cols, rows}, tr));
            } else out.add(new SafeTensors.Tensor(t.name(), t.shape().clone(), params, t.offset()));
        }
        return out;
    }

    /**
     * Fills {@code params} (our flat layout) from HF tensors.
     *
     * @throws UserError naming {@code source} for a missing, extra or mis-shaped tensor
     */
    public static void fromHf(ParameterLayout layout, SafeTensors.Contents contents, float[] params, String source) {
        Map<String, SafeTensors.Tensor> tensors = contents.tensors();
        for (String k : contents.otherDtypes().keySet())
            if (layout.tensors.stream().anyMatch(t -> t.name().equals(k) || t.name().equals("transformer." + k)))
                throw new UserError(source + ": tensor " + k + " has dtype " + contents.otherDtypes().get(k) + ", expected a float type");
        Set<String> unused = new LinkedHashSet<>(tensors.keySet());
        for (String k : contents.otherDtypes().keySet()) if (!isMaskBuffer(k)) unused.add(k);
        for (ParamTensor t : layout.tensors) {
            String key = find(tensors, t.name());
            if (key == null) throw new UserError(source + ": no tensor " + t.name() + " (is it a model of this shape?)");
            unused.remove(key);
            SafeTensors.Tensor src = tensors.get(key);
            int[] want = transposed(layout.config, t.kind()) ? new int[]{t.shape()[1], t.shape()[0]} : t.shape();
            boolean longerPositions = t.kind() == ParamKind.POSITION_EMBEDDING && src.shape().length == 2
                    && src.shape()[1] == want[1] && src.shape()[0] >= want[0];
            if (!Arrays.equals(src.shape(), want) && !longerPositions)
                throw new UserError(source + ": tensor " + key + " has shape " + Arrays.toString(src.shape())
                        + ", the model needs " + Arrays.toString(want));
            if (transposed(layout.config, t.kind())) {
                int rows = t.shape()[0], cols = t.shape()[1];
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) params[t.offset() + r * cols + c] = src.data()[src.offset() + c * rows + r];
            } else System.arraycopy(src.data(), src.offset(), params, t.offset(), t.size());
            for (int i = t.offset(); i < t.offset() + t.size(); i++)
                if (!Float.isFinite(params[i]))
                    throw new UserError(source + ": tensor " + key + " holds " + params[i] + " (weights must be finite numbers)");
        }
        for (var it = unused.iterator(); it.hasNext(); ) {
            String k = it.next();
            if (isMaskBuffer(k)) it.remove();
            else if (k.equals("lm_head.weight") && layout.lmHead == null) {
                SafeTensors.Tensor head = tensors.get(k), wte = tensors.get(find(tensors, layout.wte.name()));
                if (!Arrays.equals(head.values(), wte.values()))
                    throw new UserError(source + ": lm_head.weight differs from the token embedding, but the config ties them"
                            + " (tie_word_embeddings)");
                it.remove();
            }
        }
        if (!unused.isEmpty())
            throw new UserError(source + ": unexpected tensor(s) " + String.join(", ", unused.stream().limit(5).toList())
                    + (unused.size() > 5 ? ", ..." : "") + " (not a model of this shape?)");
    }

    /** The causal-mask buffers older GPT-2 files carry, and older Llama files' RoPE frequencies: not parameters. */
    private static boolean isMaskBuffer(String name) {
        return name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias") || name.endsWith(".rotary_emb.inv_freq");
    }

    private static String find(Map<String, SafeTensors.Tensor> tensors, String name) {
        if (tensors.containsKey(name)) return name;
        String bare = name.startsWith("transformer.") ? name.substring("transformer.".length()) : null;
        return bare != null && tensors.containsKey(bare) ? bare : null;
    }

    // ------------------------------------------------------------------------------------------------ config.json

    /**
     * A config.json that transformers reads for our model: GPT2Config (gns4j-only settings under "gns4j"), or
     * LlamaConfig for a Llama model.
     */
    public static String configJson(ModelConfig m) {
        if (m.arch() == Arch.LLAMA) return HfLlama.configJson(m);
        JsonObject o = new JsonObject();
        o.addProperty("model_type", "gpt2");
        var arch = new com.google.gson.JsonArray();
        arch.add("GPT2LMHeadModel");
        o.add("architectures", arch);
        o.addProperty("vocab_size", m.vocabSize());
        o.addProperty("n_positions", m.blockSize());
        o.addProperty("n_ctx", m.blockSize());
        o.addProperty("n_embd", m.nEmbd());
        o.addProperty("n_layer", m.nLayer());
        o.addProperty("n_head", m.nHead());
        o.addProperty("n_inner", (String) null);
        o.addProperty("activation_function", "gelu_new");
        o.addProperty("layer_norm_epsilon", LAYER_NORM_EPS);
        o.addProperty("resid_pdrop", 0.0);
        o.addProperty("embd_pdrop", 0.0);
        o.addProperty("attn_pdrop", 0.0);
        o.addProperty("scale_attn_weights", true);
        o.addProperty("tie_word_embeddings", m.tiedHead());
        o.addProperty("torch_dtype", "float32");
        JsonObject ours = new JsonObject();
        ours.addProperty("bias", m.bias());
        ours.addProperty("norm", m.norm().name().toLowerCase());
        ours.addProperty("hf_compatible", hfCompatible(m));
        o.add("gns4j", ours);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o) + "\n";
    }

    /** Whether transformers' GPT-2 computes the same function: it always has biases and LayerNorm. */
    public static boolean hfCompatible(ModelConfig m) { return m.bias() && m.norm() == NormType.LAYERNORM; }

    /** The model shape of a GPT-2 or Llama config.json, refusing settings our model does not implement. */
    public static ModelConfig readConfig(Path configFile) {
        JsonObject o;
        try {
            JsonElement e = JsonFiles.parse(Files.readString(configFile), configFile.toString());
            if (!e.isJsonObject()) throw new UserError(configFile + ": expected a JSON object");
            o = e.getAsJsonObject();
        } catch (NoSuchFileException e) {
            throw new UserError("no " + configFile.getFileName() + " beside the weights: " + configFile);
        } catch (IOException e) {
            throw new UserError("cannot read " + configFile + ": " + e.getMessage(), e);
        }
        String type = string(o, configFile, "model_type", "gpt2");
        if (type.equals("llama")) return HfLlama.readConfig(o, configFile);
        if (!type.equals("gpt2"))
            throw new UserError(configFile + ": model_type is " + type + ", only gpt2 and llama are supported");
        double eps = number(o, configFile, "layer_norm_epsilon", LAYER_NORM_EPS);
        if (Math.abs(eps - LAYER_NORM_EPS) > 1e-12)
            throw new UserError(configFile + ": layer_norm_epsilon " + eps + " is not supported (gns4j uses 1e-5)");
        String act = string(o, configFile, "activation_function", "gelu_new");
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh"))
            throw new UserError(configFile + ": activation_function " + act + " is not supported (gns4j uses gelu_new, the tanh GELU)");
        requireFlag(o, "scale_attn_weights", true, configFile);
        requireFlag(o, "scale_attn_by_inverse_layer_idx", false, configFile);
        requireFlag(o, "add_cross_attention", false, configFile);
        int nEmbd = integer(o, configFile, "n_embd");
        if (o.has("n_inner") && !o.get("n_inner").isJsonNull() && integer(o, configFile, "n_inner") != 4 * nEmbd)
            throw new UserError(configFile + ": n_inner " + o.get("n_inner") + " is not supported (gns4j uses 4 * n_embd)");
        boolean tied = flag(o, configFile, "tie_word_embeddings", true);
        JsonObject ours = o.get("gns4j") instanceof JsonObject g ? g : new JsonObject(); // settings transformers cannot express
        boolean bias = flag(ours, configFile, "bias", true);
        int positions = o.has("n_positions") ? integer(o, configFile, "n_positions") : integer(o, configFile, "n_ctx");
        try {
            NormType norm = NormType.parse(string(ours, configFile, "norm", "layernorm"));
            ModelConfig m = new ModelConfig(integer(o, configFile, "n_layer"), integer(o, configFile, "n_head"), nEmbd,
                    positions, integer(o, configFile, "vocab_size"), bias, norm, tied);
            new ParameterLayout(m); // refuses a shape whose parameters do not fit one float array
            return m;
        } catch (IllegalArgumentException e) {
            throw new UserError(configFile + ": " + e.getMessage());
        }
    }

    static void requireFlag(JsonObject o, String key, boolean value, Path file) {
        if (flag(o, file, key, value) != value)
            throw new UserError(file + ": " + key + "=" + !value + " is not supported");
    }

    static int integer(JsonObject o, Path file, String key) {
        JsonPrimitive p = value(o, file, key, "an integer", JsonPrimitive::isNumber);
        if (p == null) throw new UserError(file + " lacks \"" + key + "\"");
        try {
            return new BigDecimal(p.getAsString()).intValueExact();
        } catch (ArithmeticException | NumberFormatException e) { // 2.5, 1e99999999999
            throw new UserError(file + ": \"" + key + "\" is not an integer in range");
        }
    }

    /** The value under {@code key}, {@code dflt} when absent or null. */
    static String string(JsonObject o, Path file, String key, String dflt) {
        JsonPrimitive p = value(o, file, key, "a string", JsonPrimitive::isString);
        return p == null ? dflt : p.getAsString();
    }

    static double number(JsonObject o, Path file, String key, double dflt) {
        JsonPrimitive p = value(o, file, key, "a number", JsonPrimitive::isNumber);
        return p == null ? dflt : p.getAsDouble();
    }

    static boolean flag(JsonObject o, Path file, String key, boolean dflt) {
        JsonPrimitive p = value(o, file, key, "true or false", JsonPrimitive::isBoolean);
        return p == null ? dflt : p.getAsBoolean();
    }

    /** The value under {@code key} (null when absent or null), refusing one that is not {@code expected}. */
    private static JsonPrimitive value(JsonObject o, Path file, String key, String expected, Predicate<JsonPrimitive> is) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) return null;
        if (!(e instanceof JsonPrimitive p) || !is.test(p)) throw new UserError(file + ": \"" + key + "\" is not " + expected);
        return p;
    }

    // ------------------------------------------------------------------------------------------------ directories

    /** The model.safetensors of a directory, or the file itself. */
    public static Path weightsFile(Path pathOrDir) {
        return Files.isDirectory(pathOrDir) ? pathOrDir.resolve(MODEL_FILE) : pathOrDir;
    }

    /** A pretrained model read from an HF directory (or its model.safetensors, config.json beside it). */
    public record Pretrained(Path weights, ModelConfig config) {
        /** Parameters in our flat layout for {@code model}, whose shape must match except a shorter block_size. */
        public float[] params(ModelConfig model) {
            ParameterLayout layout = new ParameterLayout(model);
            float[] params = new float[layout.totalSize];
            fromHf(layout, readFor(layout, weights), params, weights.toString());
            return params;
        }
    }

    /**
     * The file's tensors that {@link #fromHf} can use for {@code layout}, decoded; the others are only listed, so an
     * unexpected tensor is refused by name however large it is.
     */
    static SafeTensors.Contents readFor(ParameterLayout layout, Path file) {
        Set<String> used = new HashSet<>(Set.of("lm_head.weight"));
        for (ParamTensor t : layout.tensors) {
            used.add(t.name());
            if (t.name().startsWith("transformer.")) used.add(t.name().substring("transformer.".length()));
        }
        return SafeTensors.read(file, used::contains);
    }

    /** Reads the config of an HF GPT-2 directory; the weights are read later by {@link Pretrained#params}. */
    public static Pretrained open(Path pathOrDir) {
        if (!Files.exists(pathOrDir)) throw new UserError("not found: " + pathOrDir);
        Path weights = weightsFile(pathOrDir);
        if (!Files.isRegularFile(weights))
            throw new UserError("no " + MODEL_FILE + " in " + pathOrDir + " (a Hugging Face GPT-2 or Llama folder holds model.safetensors"
                    + " and config.json)");
        Path dir = weights.toAbsolutePath().getParent();
        return new Pretrained(weights, readConfig(dir.resolve(CONFIG_FILE)));
    }
}
