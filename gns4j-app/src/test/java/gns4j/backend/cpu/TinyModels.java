package gns4j.backend.cpu;

import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;

import java.util.SplittableRandom;

/** Tiny models and batches shared by the CPU backend tests. */
final class TinyModels {
    private TinyModels() {}

    static ModelConfig config(boolean bias, NormType norm, boolean tied) {
        return new ModelConfig(2, 2, 8, 6, 11, bias, norm, tied);
    }

    /** A tiny Llama: 2 layers, 4 query heads of size 4, SwiGLU width 24. */
    static ModelConfig llama(int nKvHead, double ropeTheta, boolean tied) {
        return ModelConfig.llama(2, 4, nKvHead, 16, 6, 11, 24, ropeTheta, tied);
    }

    /** Parameters far from the GPT-2 init (gains ≠ 1, biases ≠ 0, std 0.3) so every path carries signal. */
    static void randomise(CpuModel m, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParamTensor t : m.layout.tensors)
            for (int i = t.offset(); i < t.offset() + t.size(); i++)
                m.params[i] = (float) (t.kind().isNorm() && t.name().endsWith("weight") ? 1 + 0.2 * rng.nextGaussian() : 0.3 * rng.nextGaussian());
    }

    /** Token ids with deliberate repeats inside each example (the embedding norm must group them). */
    static int[] tokens(int B, int T, int V, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] ids = new int[B * T];
        for (int i = 0; i < ids.length; i++) ids[i] = i % T == T - 1 ? ids[i - 2] : rng.nextInt(V);
        return ids;
    }
}
