package gns4j.backend.cpu;

import java.util.Arrays;

/**
 * Causal multi-head attention, NH heads of size hs = C/NH. Training attends over the batch's own rows (qkv (B·T,3C)
 * holds q|k|v per token) in blocks of {@link #BQ} queries, each block's scores (BQ, keys up to its last query) made by
 * the packed product and kept in L2 through softmax and the product with V; backward recomputes them from the saved
 * log-sum-exp the same way. Sampling attends over a KV cache row by row ({@link #attendRow}), so a cached step does the
 * arithmetic of a full recomputation in the same order.
 */
final class AttentionKernels {
    /** Queries per block: a block's scores (BQ, T) take 64 KiB at T 256. */
    private static final int BQ = 64;

    private AttentionKernels() {}

    /** One head of one example in qkv (B·T,3C): its q, k, v as (T, hs) views and k, v as (hs, T) views. */
    private record Head(Gemm.View q, Gemm.View k, Gemm.View v, Gemm.View kT, Gemm.View vT) {
        static Head of(Mat qkv, int b, int h, int T, int hs) {
            float[] x = qkv.data();
            int C = qkv.cols() / 3, q = qkv.row(b * T) + h * hs, ld = qkv.cols();
            return new Head(new Gemm.View(x, q, ld, 1), new Gemm.View(x, q + C, ld, 1), new Gemm.View(x, q + 2 * C, ld, 1),
                    new Gemm.View(x, q + C, 1, ld), new Gemm.View(x, q + 2 * C, 1, ld));
        }
    }

    /** (P,N) of view packed, on the calling thread, into a new array, for products of up to M rows. */
    private static Gemm.Packed pack(Gemm.View view, int M, int P, int N) {
        return Gemm.pack(Parallel.SERIAL, M, view, P, N, new float[Gemm.packedSize(P, N)], 0);
    }

    /**
     * scores (m, n), rows ld apart = probabilities of queries t0..t0+m over keys 0..n-1 (n = t0 + m), zero past each
     * query's position: softmax of scale·q·k, its log-sum-exp saved to lse[lo..lo+m); or, recompute, exp(scale·q·k − lse)
     * from the saved one.
     */
    private static void probabilities(Head head, Gemm.Packed kT, int t0, int m, int hs, float scale, float[] scores, int ld,
                                      float[] lse, int lo, boolean recompute) {
        int n = t0 + m;
        Gemm.serial(new Gemm.View(head.q().data(), head.q().offset() + t0 * head.q().rs(), head.q().rs(), 1), kT, 0, m, n, hs,
                scores, 0, ld, null);
        for (int i = 0; i < m; i++) {
            int row = i * ld, keys = t0 + i + 1;
            VectorMath.scale(scale, scores, row, keys);
            if (recompute) VectorMath.expShiftedInPlace(scores, row, keys, lse[lo + i]);
            else {
                float max = VectorMath.max(scores, row, keys);
                double sum = VectorMath.expShiftedInPlace(scores, row, keys, max);
                VectorMath.scale((float) (1.0 / sum), scores, row, keys);
                lse[lo + i] = max + (float) Math.log(sum);
            }
            Arrays.fill(scores, row + keys, row + n, 0f);
        }
    }

    /**
     * out (B·T,C) = attention of qkv (B·T,3C); lse (B,NH,T) keeps each softmax row's log-sum-exp so backward
     * recomputes probabilities block by block instead of storing T×T matrices.
     */
    static void forward(Parallel par, Mat out, float[] lse, Mat qkv, int B, int NH) {
        int T = qkv.rows() / B, C = out.cols(), hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        par.forEach(B * NH, bh -> {
            int b = bh / NH, h = bh % NH;
            Head head = Head.of(qkv, b, h, T, hs);
            Gemm.Packed kT = pack(head.kT(), BQ, hs, T), v = pack(head.v(), BQ, T, hs);
            float[] p = new float[BQ * T];
            for (int t0 = 0; t0 < T; t0 += BQ) {
                int m = Math.min(BQ, T - t0), n = t0 + m;
                probabilities(head, kT, t0, m, hs, scale, p, n, lse, bh * T + t0, false);
                Gemm.serial(new Gemm.View(p, 0, n, 1), v, 0, m, hs, n, out.data(), out.row(b * T + t0) + h * hs, C, null);
            }
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

    /**
     * dqkv (B·T,3C) = backward of attention given dout (B·T,C); recomputes each block's probabilities P from lse. Per
     * block of queries: dP = dO·Vᵀ, dS = P ⊙ (dP − Σ_u P·dP)·scale, dQ = dS·K, and dK += dSᵀ·Q, dV += Pᵀ·dO summed
     * over the blocks in order.
     */
    static void backward(Parallel par, Mat dqkv, Mat dout, Mat qkv, float[] lse, int B, int NH) {
        int T = qkv.rows() / B, C = dout.cols(), hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] dx = dqkv.data();
        par.forEach(B * NH, bh -> {
            int b = bh / NH, h = bh % NH, dq = dqkv.row(b * T) + h * hs, dk = dq + C, dv = dk + C, ld = dqkv.cols();
            for (int t = 0; t < T; t++) {
                Arrays.fill(dx, dk + t * ld, dk + t * ld + hs, 0f);
                Arrays.fill(dx, dv + t * ld, dv + t * ld + hs, 0f);
            }
            Head head = Head.of(qkv, b, h, T, hs);
            Gemm.Packed kT = pack(head.kT(), BQ, hs, T), vT = pack(head.vT(), BQ, hs, T), k = pack(head.k(), BQ, T, hs);
            Gemm.View dO = new Gemm.View(dout.data(), dout.row(b * T) + h * hs, C, 1);
            float[] p = new float[BQ * T], ds = new float[BQ * T];
            for (int t0 = 0; t0 < T; t0 += BQ) {
                int m = Math.min(BQ, T - t0), n = t0 + m;
                probabilities(head, kT, t0, m, hs, scale, p, n, lse, bh * T + t0, true);
                Gemm.View dOBlock = new Gemm.View(dO.data(), dO.offset() + t0 * C, C, 1);
                Gemm.serial(dOBlock, vT, 0, m, n, hs, ds, 0, n, null);  // dP (m, n)
                for (int i = 0; i < m; i++) {
                    float rowSum = VectorMath.dot(p, i * n, ds, i * n, t0 + i + 1);
                    for (int u = 0; u < n; u++) ds[i * n + u] = p[i * n + u] * (ds[i * n + u] - rowSum) * scale;
                }
                Gemm.serial(new Gemm.View(ds, 0, n, 1), k, 0, m, hs, n, dx, dq + t0 * ld, ld, null);
                Gemm.Packed qBlock = pack(new Gemm.View(head.q().data(), head.q().offset() + t0 * head.q().rs(), head.q().rs(), 1),
                        T, m, hs);
                Gemm.serial(new Gemm.View(ds, 0, 1, n), qBlock, 0, n, hs, m, dx, dk, ld, new Gemm.Addend(dx, dk, ld));
                Gemm.serial(new Gemm.View(p, 0, 1, n), pack(dOBlock, T, m, hs), 0, n, hs, m, dx, dv, ld, new Gemm.Addend(dx, dv, ld));
            }
        });
    }
}
