package gns4j.backend.cpu;

import gns4j.model.ModelConfig;

import java.util.Arrays;

/**
 * What a Llama block computes besides the shared kernels: rotary position embeddings on q and k, the grouped-query
 * expansion of keys and values into the (R,3C) q|k|v rows the attention kernels read, and the SwiGLU gate.
 * Shapes: R rows, C = NH·hs channels of queries, kvC = KVH·hs of keys and of values, F the SwiGLU width.
 */
final class LlamaKernels {
    private LlamaKernels() {}

    /**
     * RoPE tables (positions, hs/2): pair i of position p turns by p·θ^(−2i/hs). Pairs are (i, i + hs/2) inside a
     * head (Hugging Face's rotate_half), so weights are interchangeable with transformers' Llama.
     */
    record Rope(float[] cos, float[] sin, int half) {
        static Rope of(ModelConfig config) {
            float[][] tables = config.ropeTables();
            return new Rope(tables[0], tables[1], config.headSize() / 2);
        }

        /**
         * dst[o..o+hs) (+)= the head x[xo..xo+hs) turned by position p's angles, or back by them (inverse: the
         * rotation's transpose, which is backward's). add accumulates instead of writing.
         */
        void rotate(float[] x, int xo, float[] dst, int o, int p, boolean inverse, boolean add) {
            float sign = inverse ? -1f : 1f;
            for (int i = 0; i < half; i++) {
                float c = cos[p * half + i], s = sign * sin[p * half + i], a = x[xo + i], b = x[xo + half + i];
                float y1 = a * c - b * s, y2 = b * c + a * s;
                dst[o + i] = add ? dst[o + i] + y1 : y1;
                dst[o + half + i] = add ? dst[o + half + i] + y2 : y2;
            }
        }
    }

    /**
     * qkv (R,3C) = q|k|v rows for the attention kernels: query head h is q's head h turned by RoPE; its key and
     * value are those of kv head h / (NH/KVH) (keys turned), repeated for every query head of the group as
     * transformers' repeat_kv does. q (R,C), k and v (R,kvC); row r sits at position firstPosition + r mod T.
     */
    static void expandQkv(Parallel par, Mat qkv, Mat q, Mat k, Mat v, Rope rope, int NH, int KVH, int T,
                          int firstPosition) {
        int C = q.cols(), hs = C / NH, group = NH / KVH;
        par.forEach(qkv.rows(), r -> {
            int p = firstPosition + r % T, o = qkv.row(r);
            for (int h = 0; h < NH; h++) {
                int g = h / group;
                rope.rotate(q.data(), q.row(r) + h * hs, qkv.data(), o + h * hs, p, false, false);
                rope.rotate(k.data(), k.row(r) + g * hs, qkv.data(), o + C + h * hs, p, false, false);
                System.arraycopy(v.data(), v.row(r) + g * hs, qkv.data(), o + 2 * C + h * hs, hs);
            }
        });
    }

    /**
     * Backward of {@link #expandQkv}: dq (R,C), dk and dv (R,kvC) from dqkv (R,3C). A kv head's gradient is the sum
     * over the query heads that shared it; q's and k's are turned back.
     */
    static void reduceQkv(Parallel par, Mat dq, Mat dk, Mat dv, Mat dqkv, Rope rope, int NH, int KVH, int T) {
        int C = dq.cols(), hs = C / NH, group = NH / KVH;
        par.forEach(dqkv.rows(), r -> {
            int p = r % T, o = dqkv.row(r);
            Arrays.fill(dk.data(), dk.row(r), dk.row(r) + dk.cols(), 0f);
            Arrays.fill(dv.data(), dv.row(r), dv.row(r) + dv.cols(), 0f);
            for (int h = 0; h < NH; h++) {
                int g = h / group;
                rope.rotate(dqkv.data(), o + h * hs, dq.data(), dq.row(r) + h * hs, p, true, false);
                rope.rotate(dqkv.data(), o + C + h * hs, dk.data(), dk.row(r) + g * hs, p, true, true);
                VectorMath.axpy(1f, dqkv.data(), o + 2 * C + h * hs, dv.data(), dv.row(r) + g * hs, hs);
            }
        });
    }

    /** out (R,F) = silu(gate) ⊙ up, silu(g) = g·σ(g). */
    static void swigluForward(Parallel par, Mat out, Mat gate, Mat up) {
        int F = out.cols();
        par.forEach(out.rows(), r -> {
            for (int j = 0, o = out.row(r), g = gate.row(r), u = up.row(r); j < F; j++) {
                float x = gate.data()[g + j];
                out.data()[o + j] = x / (1f + (float) Math.exp(-x)) * up.data()[u + j];
            }
        });
    }

    /** dgate = dout ⊙ up ⊙ σ(g)(1 + g(1 − σ(g))) and dup = dout ⊙ silu(g), all (R,F). */
    static void swigluBackward(Parallel par, Mat dgate, Mat dup, Mat gate, Mat up, Mat dout) {
        int F = dout.cols();
        par.forEach(dout.rows(), r -> {
            for (int j = 0, g = gate.row(r), u = up.row(r), d = dout.row(r), dg = dgate.row(r), du = dup.row(r); j < F; j++) {
                float x = gate.data()[g + j], sig = 1f / (1f + (float) Math.exp(-x)), dy = dout.data()[d + j];
                dgate.data()[dg + j] = dy * up.data()[u + j] * sig * (1f + x * (1f - sig));
                dup.data()[du + j] = dy * x * sig;
            }
        });
    }
}
