package gns4j.backend.cpu;

import java.util.Arrays;

/**
 * Causal multi-head attention, NH heads of size hs = C/NH. Training attends over the batch's own rows (qkv (B·T,3C)
 * holds q|k|v per token); sampling attends over a KV cache. Both go through {@link #attendRow}, so a cached step
 * does the arithmetic of a full recomputation in the same order.
 */
final class AttentionKernels {
    private AttentionKernels() {}

    /**
     * out (B·T,C) = attention of qkv (B·T,3C); lse (B,NH,T) keeps each softmax row's log-sum-exp so backward
     * recomputes probabilities row by row instead of storing T×T matrices.
     */
    static void forward(Parallel par, Mat out, float[] lse, Mat qkv, int B, int NH) {
        int T = qkv.rows() / B, C = out.cols(), hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        par.forEach(B * NH, bh -> {
            int b = bh / NH, h = bh % NH;
            Mat keys = new Mat(qkv.data(), qkv.row(b * T) + C, T, 3 * C), values = new Mat(qkv.data(), keys.offset() + C, T, 3 * C);
            float[] p = new float[T];
            for (int t = 0; t < T; t++)
                lse[bh * T + t] = attendRow(qkv.data(), qkv.row(b * T + t) + h * hs, keys, values, t, h * hs, hs, scale,
                        p, out.data(), out.row(b * T + t) + h * hs);
        });
    }

    /**
     * out (n,C) = attention of the n new rows of qkv (n,3C), at positions pos..pos+n-1, over the cached keys and
     * values (pos+n, C) of every position up to theirs.
     */
    static void forwardCached(Parallel par, Mat out, Mat qkv, Mat keys, Mat values, int pos, int NH) {
        int n = qkv.rows(), hs = out.cols() / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        par.forEach(n * NH, ih -> {
            int i = ih / NH, h = ih % NH, t = pos + i;
            attendRow(qkv.data(), qkv.row(i) + h * hs, keys, values, t, h * hs, hs, scale, new float[t + 1],
                    out.data(), out.row(i) + h * hs);
        });
    }

    /**
     * One query of one head at position t: out[o..o+hs) = Σ_{u≤t} softmax_u(scale·q·k_u)·v_u, where k_u and v_u
     * are columns hOff..hOff+hs of row u of keys and values. p (≥ t+1) is scratch. Returns the log-sum-exp.
     */
    private static float attendRow(float[] q, int qo, Mat keys, Mat values, int t, int hOff, int hs, float scale,
                                   float[] p, float[] out, int o) {
        float max = Float.NEGATIVE_INFINITY;
        for (int u = 0; u <= t; u++) {
            p[u] = scale * VectorMath.dot(q, qo, keys.data(), keys.row(u) + hOff, hs);
            max = Math.max(max, p[u]);
        }
        double sum = 0;
        for (int u = 0; u <= t; u++) {
            p[u] = (float) Math.exp(p[u] - max);
            sum += p[u];
        }
        Arrays.fill(out, o, o + hs, 0f);
        float inv = (float) (1.0 / sum);
        for (int u = 0; u <= t; u++) VectorMath.axpy(p[u] * inv, values.data(), values.row(u) + hOff, out, o, hs);
        return max + (float) Math.log(sum);
    }

    /** dqkv (B·T,3C) = backward of attention given dout (B·T,C); recomputes each row's probabilities from lse. */
    static void backward(Parallel par, Mat dqkv, Mat dout, Mat qkv, float[] lse, int B, int NH) {
        int T = qkv.rows() / B, C = dout.cols(), hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] x = qkv.data(), dx = dqkv.data(), dy = dout.data();
        par.forEach(B * NH, bh -> {
            int b = bh / NH, h = bh % NH;
            for (int t = 0; t < T; t++)
                for (int part = 0; part < 3; part++) {
                    int o = dqkv.row(b * T + t) + part * C + h * hs;
                    Arrays.fill(dx, o, o + hs, 0f);
                }
            float[] p = new float[T], dp = new float[T];
            for (int t = 0; t < T; t++) {
                int q = qkv.row(b * T + t) + h * hs, dq = dqkv.row(b * T + t) + h * hs, d = dout.row(b * T + t) + h * hs;
                double sumPdP = 0;
                for (int u = 0; u <= t; u++) {
                    int ku = qkv.row(b * T + u) + C + h * hs, dku = dqkv.row(b * T + u) + C + h * hs;
                    p[u] = (float) Math.exp(scale * VectorMath.dot(x, q, x, ku, hs) - lse[bh * T + t]);
                    dp[u] = VectorMath.dot(dy, d, x, ku + C, hs);
                    sumPdP += p[u] * dp[u];
                    VectorMath.axpy(p[u], dy, d, dx, dku + C, hs);
                }
                for (int u = 0; u <= t; u++) {
                    int ku = qkv.row(b * T + u) + C + h * hs, dku = dqkv.row(b * T + u) + C + h * hs;
                    float ds = p[u] * (dp[u] - (float) sumPdP) * scale;
                    VectorMath.axpy(ds, x, ku, dx, dq, hs);
                    VectorMath.axpy(ds, x, q, dx, dku, hs);
                }
            }
        });
    }
}
