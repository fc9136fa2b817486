package gns4j.checkpoint;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;

import java.nio.file.Path;

/**
 * The config.json of a Hugging Face Llama folder ({@code LlamaForCausalLM}) for our Llama shape and back. The
 * weights need no conversion: our tensor names are transformers' ({@link ParameterLayout}), its Linear weights are
 * [out, in] like ours, and our RoPE turns the pairs (i, i + hs/2) as its rotate_half does, so q_proj and k_proj are
 * used as they are. Read and written through {@link HfGpt2}, which dispatches on model_type.
 */
final class HfLlama {
    private HfLlama() {}

    static String configJson(ModelConfig m) {
        JsonObject o = new JsonObject();
        o.addProperty("model_type", "llama");
        JsonArray arch = new JsonArray();
        arch.add("LlamaForCausalLM");
        o.add("architectures", arch);
        o.addProperty("vocab_size", m.vocabSize());
        o.addProperty("hidden_size", m.nEmbd());
        o.addProperty("intermediate_size", m.ffnHidden());
        o.addProperty("num_hidden_layers", m.nLayer());
        o.addProperty("num_attention_heads", m.nHead());
        o.addProperty("num_key_value_heads", m.nKvHead());
        o.addProperty("head_dim", m.headSize());
        o.addProperty("max_position_embeddings", m.blockSize());
        o.addProperty("rms_norm_eps", HfGpt2.LAYER_NORM_EPS);
        o.addProperty("rope_theta", m.ropeTheta());
        o.add("rope_scaling", null);
        o.addProperty("hidden_act", "silu");
        o.addProperty("attention_bias", false);
        o.addProperty("mlp_bias", false);
        o.addProperty("attention_dropout", 0.0);
        o.addProperty("initializer_range", 0.02);
        o.addProperty("tie_word_embeddings", m.tiedHead());
        o.addProperty("torch_dtype", "float32");
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o) + "\n";
    }

    /** The model shape of a Llama config.json, refusing settings our Llama does not implement. */
    static ModelConfig readConfig(JsonObject o, Path file) {
        double eps = HfGpt2.number(o, file, "rms_norm_eps", HfGpt2.LAYER_NORM_EPS);
        if (Math.abs(eps - HfGpt2.LAYER_NORM_EPS) > 1e-12)
            throw new UserError(file + ": rms_norm_eps " + eps + " is not supported (gns4j uses 1e-5)");
        String act = HfGpt2.string(o, file, "hidden_act", "silu");
        if (!act.equals("silu")) throw new UserError(file + ": hidden_act " + act + " is not supported (gns4j uses silu)");
        if (o.has("rope_scaling") && !o.get("rope_scaling").isJsonNull())
            throw new UserError(file + ": rope_scaling is not supported (gns4j uses plain RoPE)");
        HfGpt2.requireFlag(o, "attention_bias", false, file);
        HfGpt2.requireFlag(o, "mlp_bias", false, file);
        int hidden = HfGpt2.integer(o, file, "hidden_size"), heads = HfGpt2.integer(o, file, "num_attention_heads");
        if (o.has("head_dim") && !o.get("head_dim").isJsonNull() && heads > 0
                && HfGpt2.integer(o, file, "head_dim") != hidden / heads)
            throw new UserError(file + ": head_dim " + o.get("head_dim") + " is not supported (gns4j uses hidden_size / "
                    + "num_attention_heads)");
        int kvHeads = o.has("num_key_value_heads") && !o.get("num_key_value_heads").isJsonNull()
                ? HfGpt2.integer(o, file, "num_key_value_heads") : heads;
        try {
            ModelConfig m = ModelConfig.llama(HfGpt2.integer(o, file, "num_hidden_layers"), heads, kvHeads, hidden,
                    HfGpt2.integer(o, file, "max_position_embeddings"), HfGpt2.integer(o, file, "vocab_size"),
                    HfGpt2.integer(o, file, "intermediate_size"), HfGpt2.number(o, file, "rope_theta", 10000),
                    HfGpt2.flag(o, file, "tie_word_embeddings", false));
            new ParameterLayout(m); // refuses a shape whose parameters do not fit one float array
            return m;
        } catch (IllegalArgumentException e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }
}
