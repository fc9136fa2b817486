package gns4j.backend.cpu;

import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

/**
 * An independent, deliberately naive double-precision forward of the Llama model, written from transformers'
 * LlamaForCausalLM: RMSNorm, RoPE as q·cos + rotate_half(q)·sin, each query head reading kv head h / (NH/KVH)
 * directly (no expansion), SwiGLU. The reference for finite differences and for the fp32 forward.
 */
final class ReferenceLlama extends ReferenceModel {
    ReferenceLlama(ParameterLayout layout) { super(layout); }

    @Override
    double exampleLoss(double[] w, int[] ids, int[] targets, int b, int T) {
        int C = c.nEmbd(), V = c.vocabSize();
        double[][] x = new double[T][C];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < C; i++) x[t][i] = w[p.wte.offset() + ids[b * T + t] * C + i];
        for (ParameterLayout.LlamaBlock blk : p.llamaBlocks) {
            double[][] h = rmsNorm(w, x, blk.attnNorm());
            double[][] q = rope(ReferenceGpt.linear(w, h, blk.q(), null)), k = rope(ReferenceGpt.linear(w, h, blk.k(), null));
            double[][] v = ReferenceGpt.linear(w, h, blk.v(), null);
            x = ReferenceGpt.add(x, ReferenceGpt.linear(w, attention(q, k, v), blk.o(), null));
            h = rmsNorm(w, x, blk.mlpNorm());
            double[][] gate = ReferenceGpt.linear(w, h, blk.gate(), null), up = ReferenceGpt.linear(w, h, blk.up(), null);
            for (int t = 0; t < T; t++)
                for (int j = 0; j < gate[t].length; j++) gate[t][j] = gate[t][j] / (1 + Math.exp(-gate[t][j])) * up[t][j];
            x = ReferenceGpt.add(x, ReferenceGpt.linear(w, gate, blk.down(), null));
        }
        double[][] logits = ReferenceGpt.linear(w, rmsNorm(w, x, p.lnfWeight), p.lmHead != null ? p.lmHead : p.wte, null);
        double loss = 0;
        for (int t = 0; t < T; t++) {
            double sum = 0;
            for (int u = 0; u < V; u++) sum += Math.exp(logits[t][u]);
            loss += Math.log(sum) - logits[t][targets[b * T + t]];
        }
        return loss / T;
    }

    private double[][] rmsNorm(double[] w, double[][] x, ParamTensor gamma) {
        int C = c.nEmbd();
        double[][] out = new double[x.length][C];
        for (int t = 0; t < x.length; t++) {
            double ms = 0;
            for (double v : x[t]) ms += v * v / C;
            for (int i = 0; i < C; i++) out[t][i] = x[t][i] / Math.sqrt(ms + CpuKernels.NORM_EPS) * w[gamma.offset() + i];
        }
        return out;
    }

    /** Every head of every row: x·cos + rotate_half(x)·sin, rotate_half(x) = (−x₂, x₁), frequency j mod hs/2. */
    private double[][] rope(double[][] x) {
        int hs = c.headSize(), half = hs / 2;
        double[][] out = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++)
            for (int head = 0; head < x[t].length / hs; head++)
                for (int j = 0; j < hs; j++) {
                    int o = head * hs;
                    double angle = t / Math.pow(c.ropeTheta(), 2.0 * (j % half) / hs);
                    double rotated = j < half ? -x[t][o + j + half] : x[t][o + j - half];
                    out[t][o + j] = x[t][o + j] * Math.cos(angle) + rotated * Math.sin(angle);
                }
        return out;
    }

    private double[][] attention(double[][] q, double[][] k, double[][] v) {
        int T = q.length, C = c.nEmbd(), NH = c.nHead(), hs = c.headSize(), perKv = NH / c.nKvHead();
        double[][] out = new double[T][C];
        for (int h = 0; h < NH; h++) {
            int g = h / perKv;
            for (int t = 0; t < T; t++) {
                double[] a = new double[t + 1];
                double sum = 0;
                for (int u = 0; u <= t; u++) {
                    for (int i = 0; i < hs; i++) a[u] += q[t][h * hs + i] * k[u][g * hs + i];
                    sum += (a[u] = Math.exp(a[u] / Math.sqrt(hs)));
                }
                for (int u = 0; u <= t; u++)
                    for (int i = 0; i < hs; i++) out[t][h * hs + i] += a[u] / sum * v[u][g * hs + i];
            }
        }
        return out;
    }
}
