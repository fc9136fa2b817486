package gns4j.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Every parameter tensor of the model with its named offset in one flat buffer (as llm.c does).
 * Names and order follow Hugging Face GPT-2; Linear weights are stored [out, in] (PyTorch nn.Linear layout).
 */
public final class ParameterLayout {
    public final ModelConfig config;
    public final List<ParamTensor> tensors;
    public final int totalSize;

    public final ParamTensor wte, wpe, lnfWeight, lnfBias, lmHead;
    public final Block[] blocks;

    /** The tensors of one transformer block; bias tensors are null when the config has no biases. */
    public record Block(ParamTensor ln1Weight, ParamTensor ln1Bias,
                        ParamTensor qkvWeight, ParamTensor qkvBias,
                        ParamTensor attnProjWeight, ParamTensor attnProjBias,
                        ParamTensor ln2Weight, ParamTensor ln2Bias,
                        ParamTensor fcWeight, ParamTensor fcBias,
                        ParamTensor mlpProjWeight, ParamTensor mlpProjBias) {}

    public ParameterLayout(ModelConfig c) {
        this.config = c;
        Builder b = new Builder();
        int C = c.nEmbd();
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
