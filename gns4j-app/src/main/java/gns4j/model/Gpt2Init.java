package gns4j.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * GPT-2 initialisation, identical on every backend: N(0, 0.02), residual projections /√(2L), gains 1, biases 0.
 * Llama models use it too (its o_proj and down_proj are the residual projections), as nanoGPT-style Llama ports do.
 */
public final class Gpt2Init {
    private Gpt2Init() {}

    public static void fill(ParameterLayout layout, long seed, float[] params) {
        SplittableRandom rng = new SplittableRandom(seed);
        double projStd = 0.02 / Math.sqrt(2.0 * layout.config.nLayer());
        for (ParamTensor t : layout.tensors) {
            int end = t.offset() + t.size();
            switch (t.kind()) {
                case NORM_WEIGHT -> Arrays.fill(params, t.offset(), end, 1f);
                case NORM_BIAS, ATTN_QKV_BIAS, ATTN_PROJ_BIAS, MLP_IN_BIAS, MLP_OUT_BIAS -> Arrays.fill(params, t.offset(), end, 0f);
                default -> {
                    double std = t.kind() == ParamKind.ATTN_PROJ_WEIGHT || t.kind() == ParamKind.MLP_OUT_WEIGHT ? projStd : 0.02;
                    for (int i = t.offset(); i < end; i++) params[i] = (float) (rng.nextGaussian() * std);
                }
            }
        }
    }
}
