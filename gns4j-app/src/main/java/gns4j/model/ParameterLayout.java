package gns4j.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Every parameter tensor of the model with its named offset in one flat buffer (as llm.c does).
 * Names and order follow Hugging Face GPT-2 or Llama; Linear weights are stored [out, in] (PyTorch nn.Linear layout).
 * A Llama model fills {@link #llamaBlocks} and has no position table; a GPT-2 model fills {@link #blocks}.
 */
public final class ParameterLayout {
    public final ModelConfig config;
    public final List<ParamTensor> tensors;
    public final int totalSize;

    public final ParamTensor wte, wpe, lnfWeight, lnfBias, lmHead;
    /** Null for the architecture that does not use them. */
    public final Block[] blocks;
    public final LlamaBlock[] llamaBlocks;

    /** The tensors of one transformer block; bias tensors are null when the config has no biases. */
    public record Block(ParamTensor ln1Weight, ParamTensor ln1Bias,
                        ParamTensor qkvWeight, ParamTensor qkvBias,
                        ParamTensor attnProjWeight, ParamTensor attnProjBias,
                        ParamTensor ln2Weight, ParamTensor ln2Bias,
                        ParamTensor fcWeight, ParamTensor fcBias,
                        ParamTensor mlpProjWeight, ParamTensor mlpProjBias) {}

    /** The tensors of one Llama block: q (C,C), k and v (kvDim,C), o (C,C), gate and up (F,C), down (C,F). */
    public record LlamaBlock(ParamTensor attnNorm, ParamTensor q, ParamTensor k, ParamTensor v, ParamTensor o,
                             ParamTensor mlpNorm, ParamTensor gate, ParamTensor up, ParamTensor down) {}

    public ParameterLayout(ModelConfig c) {
        this.config = c;
        Builder b = new Builder();
        int C = c.nEmbd();
        if (c.arch() == Arch.LLAMA) {
            wte = b.add("model.embed_tokens.weight", ParamKind.TOKEN_EMBEDDING, -1, c.vocabSize(), C);
            wpe = null;
            blocks = null;
            llamaBlocks = new LlamaBlock[c.nLayer()];
            int kv = c.kvDim(), F = c.ffnHidden();
            for (int l = 0; l < c.nLayer(); l++) {
                String p = "model.layers." + l + ".";
                llamaBlocks[l] = new LlamaBlock(
                        b.add(p + "input_layernorm.weight", ParamKind.NORM_WEIGHT, l, C),
                        b.add(p + "self_attn.q_proj.weight", ParamKind.ATTN_QKV_WEIGHT, l, C, C),
                        b.add(p + "self_attn.k_proj.weight", ParamKind.ATTN_QKV_WEIGHT, l, kv, C),
                        b.add(p + "self_attn.v_proj.weight", ParamKind.ATTN_QKV_WEIGHT, l, kv, C),
                        b.add(p + "self_attn.o_proj.weight", ParamKind.ATTN_PROJ_WEIGHT, l, C, C),
                        b.add(p + "post_attention_layernorm.weight", ParamKind.NORM_WEIGHT, l, C),
                        b.add(p + "mlp.gate_proj.weight", ParamKind.MLP_IN_WEIGHT, l, F, C),
                        b.add(p + "mlp.up_proj.weight", ParamKind.MLP_IN_WEIGHT, l, F, C),
                        b.add(p + "mlp.down_proj.weight", ParamKind.MLP_OUT_WEIGHT, l, C, F));
            }
            lnfWeight = b.add("model.norm.weight", ParamKind.NORM_WEIGHT, -1, C);
            lnfBias = null;
        } else {
            llamaBlocks = null;
            wte = b.add("transformer.wte.weight", ParamKind.TOKEN_EMBEDDING, -1, c.vocabSize(), C);
            wpe = b.add("transformer.wpe.weight", ParamKind.POSITION_EMBEDDING, -1, c.blockSize(), C);
            blocks = new Block[c.nLayer()];
            for (int l = 0; l < c.nLayer(); l++) {
                String p = "transformer.h." + l + ".";
                blocks[l] = new Block(
                        b.add(p + "ln_1.weight", ParamKind.NORM_WEIGHT, l, C),
                        c.normHasBias() ? b.add(p + "ln_1.bias", ParamKind.NORM_BIAS, l, C) : null,
                        b.add(p + "attn.c_attn.weight", ParamKind.ATTN_QKV_WEIGHT, l, 3 * C, C),
                        c.bias() ? b.add(p + "attn.c_attn.bias", ParamKind.ATTN_QKV_BIAS, l, 3 * C) : null,
                        b.add(p + "attn.c_proj.weight", ParamKind.ATTN_PROJ_WEIGHT, l, C, C),
                        c.bias() ? b.add(p + "attn.c_proj.bias", ParamKind.ATTN_PROJ_BIAS, l, C) : null,
                        b.add(p + "ln_2.weight", ParamKind.NORM_WEIGHT, l, C),
                        c.normHasBias() ? b.add(p + "ln_2.bias", ParamKind.NORM_BIAS, l, C) : null,
                        b.add(p + "mlp.c_fc.weight", ParamKind.MLP_IN_WEIGHT, l, 4 * C, C),
                        c.bias() ? b.add(p + "mlp.c_fc.bias", ParamKind.MLP_IN_BIAS, l, 4 * C) : null,
                        b.add(p + "mlp.c_proj.weight", ParamKind.MLP_OUT_WEIGHT, l, C, 4 * C),
                        c.bias() ? b.add(p + "mlp.c_proj.bias", ParamKind.MLP_OUT_BIAS, l, C) : null);
            }
            lnfWeight = b.add("transformer.ln_f.weight", ParamKind.NORM_WEIGHT, -1, C);
            lnfBias = c.normHasBias() ? b.add("transformer.ln_f.bias", ParamKind.NORM_BIAS, -1, C) : null;
        }
        lmHead = c.tiedHead() ? null : b.add("lm_head.weight", ParamKind.LM_HEAD_WEIGHT, -1, c.vocabSize(), C);
        tensors = Collections.unmodifiableList(b.list);
        totalSize = b.offset;
    }

    public int numTensors() { return tensors.size(); }

    /** Parameter count, counting a tied embedding once. */
    public long numParameters() { return totalSize; }

    public ParamTensor byName(String name) {
        for (ParamTensor t : tensors) if (t.name().equals(name)) return t;
        throw new IllegalArgumentException("no parameter tensor named " + name);
    }

    private static final class Builder {
        final List<ParamTensor> list = new ArrayList<>();
        int offset;

        ParamTensor add(String name, ParamKind kind, int layer, int... shape) {
            long size = 1;
            for (int d : shape) size *= d;
            if (offset + size > Integer.MAX_VALUE - 8)
                throw new IllegalArgumentException("model too large for a flat float buffer (" + (offset + size) + " parameters)");
            ParamTensor t = new ParamTensor(list.size(), name, kind, layer, shape.clone(), offset, (int) size);
            list.add(t);
            offset += (int) size;
            return t;
        }
    }
}
