package gns4j.backend.cpu;

import java.util.Arrays;

/**
 * Forward/backward pairs of every op of the GPT model on float arrays, with the per-example squared gradient
 * norms of docs/design.md §2 computed inside the backward passes. Shapes: B examples, T tokens, C channels,
 * R = B·T rows. Weight-gradient kernels add {@code scale}·Σ_b g_b into {@code grads}, where the incoming output
 * gradients are those of each example's own mean loss L_b; the trainer passes scale = 1/(examples in the step).
 * Per-example norms go to {@code sq[row·B + b]} (row = the tensor's index, -1 = not tracked) and are overwritten.
 */
final class CpuKernels {
    static final float NORM_EPS = 1e-5f;

    private CpuKernels() {}

    // ---------------------------------------------------------------- embeddings

    /** out (B,T,C) = wte[id] + wpe[t]. */
    static void embeddingForward(Parallel par, float[] out, int[] ids, float[] params, int wteOff, int wpeOff,
                                 int B, int T, int C) {
        par.forEach(B * T, r -> {
            int t = r % T, id = ids[r];
            for (int c = 0; c < C; c++) out[r * C + c] = params[wteOff + id * C + c] + params[wpeOff + t * C + c];
        });
    }

    /** Position table: dwpe[t] += scale·Σ_b dout[b,t]; per-example |dP_b|² = Σ_t |dout_bt|² (every t a distinct row). */
    static void positionEmbeddingBackward(Parallel par, float[] grads, int wpeOff, float[] dout, int B, int T, int C,
                                          float scale, double[] sq, int row) {
        par.forEach(T, t -> {
            for (int b = 0; b < B; b++) VectorMath.axpy(scale, dout, (b * T + t) * C, grads, wpeOff + t * C, C);
        });
        if (row >= 0) par.forEach(B, b -> sq[row * B + b] = VectorMath.sumSq(dout, b * T * C, T * C));
    }

    /**
     * Token table: dwte[id_bt] += scale·dout_bt; per-example |dE_b|² = Σ_v |Σ_{t: id_bt = v} dout_bt|², found by
     * grouping equal ids of the example. Rows are scattered serially per example to stay race-free.
     */
    static void tokenEmbeddingBackward(Parallel par, float[] grads, int wteOff, float[] dout, int[] ids,
                                       int B, int T, int C, float scale, double[] sq, int row) {
        for (int r = 0; r < B * T; r++) VectorMath.axpy(scale, dout, r * C, grads, wteOff + ids[r] * C, C);
        if (row >= 0) par.forEach(B, b -> sq[row * B + b] = groupedSumSq(dout, ids, b, T, C));
    }

    /** Σ over distinct ids v of example b of |Σ_{t: id = v} dout_bt|². */
    static double groupedSumSq(float[] dout, int[] ids, int b, int T, int C) {
        int[] order = positionsSortedById(ids, b, T);
        float[] group = new float[C];
        double total = 0;
        for (int i = 0; i < T; ) {
            int id = ids[b * T + order[i]];
            Arrays.fill(group, 0f);
            for (; i < T && ids[b * T + order[i]] == id; i++) VectorMath.axpy(1f, dout, (b * T + order[i]) * C, group, 0, C);
            total += VectorMath.sumSq(group, 0, C);
        }
        return total;
    }

    private static int[] positionsSortedById(int[] ids, int b, int T) {
        long[] keys = new long[T];
        for (int t = 0; t < T; t++) keys[t] = ((long) ids[b * T + t] << 32) | t;
        Arrays.sort(keys);
        int[] order = new int[T];
        for (int t = 0; t < T; t++) order[t] = (int) keys[t];
        return order;
    }

    // ---------------------------------------------------------------- linear

    /** out (R,N) = inp (R,K) · Wᵀ + bias; W is [N,K] at wOff, bias at bOff (-1: none); Wᵀ is built in the scratch wT. */
    static void matmulForward(Parallel par, float[] out, float[] inp, float[] params, int wOff, int bOff,
                              int R, int K, int N, float[] wT) {
        Gemm.transpose(par, wT, params, wOff, N, K);
        if (bOff >= 0) par.forEach(R, r -> System.arraycopy(params, bOff, out, r * N, N));
        Gemm.parallel(par, inp, 0, K, 1, wT, 0, N, R, N, K, out, 0, N, bOff >= 0);
    }

    /** dinp (R,K) = dout (R,N) · W. */
    static void matmulBackwardInput(Parallel par, float[] dinp, float[] dout, float[] params, int wOff,
                                    int R, int K, int N) {
        Gemm.parallel(par, dout, 0, N, 1, params, wOff, K, R, K, N, dinp, 0, K, false);
    }

    /** Rows of the token table that also receive the embedding scatter (tied head): see tiedEmbeddingHeadBackward. */
    record TiedRows(int[] start, int[] occ, float[] demb, int T) {
        /** Adds Σ_{t: id_bt = v} demb_bt to row (length C, at o) for vocabulary row v of example b. */
        void addTo(int v, int b, float[] row, int o, int C) {
            for (int i = start[v]; i < start[v + 1]; i++)
                if (occ[i] / T == b) VectorMath.axpy(1f, demb, occ[i] * C, row, o, C);
        }
    }

    private static final int W_BLOCK = 16;

    /**
     * dW [N,K] += scale·Σ_b dout_bᵀ inp_b and db [N] += scale·Σ_{b,t} dout_bt, with per-example norms of both.
     * Simultaneous method: for a block of rows of W, each example's rows of dW_b are formed (reduction over its own
     * T tokens), squared and summed into the batch gradient in the same pass, so no B×N×K copy exists. Ghost method:
     * the plain batch gradient here, |dW_b|² from the two Gram matrices. tied (or null) adds the embedding scatter
     * into the rows before squaring.
     */
    static void matmulBackwardWeight(Parallel par, float[] grads, int wOff, int bOff, float[] dout, float[] inp,
                                     int B, int T, int K, int N, float scale, double[] sq, int wRow, int bRow,
                                     boolean ghost, TiedRows tied) {
        boolean perExample = wRow >= 0 && !ghost;
        int blocks = (N + W_BLOCK - 1) / W_BLOCK;
        // Per-block partial norms, summed in block order afterwards: the same bits whatever the thread schedule.
        double[] partW = perExample ? new double[blocks * B] : null;
        double[] partB = bRow >= 0 ? new double[blocks * B] : null;
        par.forEach(blocks, blk -> {
            int n0 = blk * W_BLOCK, rows = Math.min(W_BLOCK, N - n0);
            float[] acc = new float[rows * K];
            float[] example = perExample || tied != null ? new float[rows * K] : null;
            double[] localW = perExample ? new double[B] : null, localB = partB != null ? new double[B] : null;
            if (bOff >= 0 || localB != null)
                for (int i = 0; i < rows; i++) {
                    double total = 0;
                    for (int b = 0; b < B; b++) {
                        double s = 0;
                        for (int t = 0; t < T; t++) s += dout[(b * T + t) * N + n0 + i];
                        total += s;
                        if (localB != null) localB[b] += s * s;
                    }
                    if (bOff >= 0) grads[bOff + n0 + i] += (float) (scale * total);
                }
            // Rows n0.. of dW_b = dout_bᵀ (A[i,t] = dout[b·T + t, n0 + i]) · inp_b, one example at a time.
            for (int b = 0; b < B; b++) {
                int a = b * T * N + n0, x = b * T * K;
                if (example == null) {
                    Gemm.serial(dout, a, 1, N, inp, x, K, rows, K, T, acc, 0, K, true);
                    continue;
                }
                Gemm.serial(dout, a, 1, N, inp, x, K, rows, K, T, example, 0, K, false);
                if (tied != null) for (int i = 0; i < rows; i++) tied.addTo(n0 + i, b, example, i * K, K);
                if (perExample) localW[b] = VectorMath.sumSq(example, 0, rows * K);
                VectorMath.axpy(1f, example, 0, acc, 0, rows * K);
            }
            VectorMath.axpy(scale, acc, 0, grads, wOff + n0 * K, rows * K);
            if (localW != null) System.arraycopy(localW, 0, partW, blk * B, B);
            if (localB != null) System.arraycopy(localB, 0, partB, blk * B, B);
        });
        for (int b = 0; b < B; b++) {
            double w = 0, bias = 0;
            for (int blk = 0; blk < blocks; blk++) {
                if (partW != null) w += partW[blk * B + b];
                if (partB != null) bias += partB[blk * B + b];
            }
            if (partB != null) sq[bRow * B + b] = bias;
            if (perExample) sq[wRow * B + b] = w;
        }
        if (wRow >= 0 && ghost) par.forEach(B, b -> sq[wRow * B + b] = ghostSumSq(inp, K, dout, N, b, T));
    }

    /** |dW_b|² = Σ_{t,t'} (x_t·x_t')(dy_t·dy_t'), summing each unordered pair once (doubled) by symmetry. */
    static double ghostSumSq(float[] x, int K, float[] dy, int N, int b, int T) {
        double total = 0;
        for (int t = 0; t < T; t++) {
            int rt = b * T + t;
            for (int u = 0; u <= t; u++) {
                int ru = b * T + u;
                double pair = (double) VectorMath.dot(x, rt * K, x, ru * K, K) * VectorMath.dot(dy, rt * N, dy, ru * N, N);
                total += u == t ? pair : 2 * pair;
            }
        }
        return total;
    }

    /**
     * Tied token embedding / LM head: wte receives the head gradient dlogitsᵀ·x and the embedding scatter of demb.
     * The per-example norm is that of their sum, |A_b + E_b|², computed exactly:
     * simultaneous — rows of A_b + E_b formed per example (the ids that hit a vocabulary row are indexed first);
     * ghost — |A_b|² (Gram) + 2⟨A_b, E_b⟩ + |E_b|², with ⟨A_b, E_b⟩ = Σ_{t,u} dlogits_bt[id_bu]·(x_bt·demb_bu).
     * dlogits (R,V), x = final-norm output (R,C), demb (R,C), ids (R).
     */
    static void tiedEmbeddingHeadBackward(Parallel par, float[] grads, int wteOff, float[] dlogits, float[] x,
                                          float[] demb, int[] ids, int B, int T, int C, int V, float scale,
                                          double[] sq, int row, boolean ghost) {
        if (row < 0 || ghost) {
            matmulBackwardWeight(par, grads, wteOff, -1, dlogits, x, B, T, C, V, scale, null, -1, -1, false, null);
            tokenEmbeddingBackward(par, grads, wteOff, demb, ids, B, T, C, scale, null, -1);
            if (row >= 0) par.forEach(B, b -> {
                double cross = 0;
                for (int u = 0; u < T; u++) {
                    int ru = b * T + u, id = ids[ru];
                    for (int t = 0; t < T; t++) {
                        int rt = b * T + t;
                        float g = dlogits[rt * V + id];
                        if (g != 0f) cross += g * VectorMath.dot(x, rt * C, demb, ru * C, C);
                    }
                }
                sq[row * B + b] = ghostSumSq(x, C, dlogits, V, b, T) + 2 * cross + groupedSumSq(demb, ids, b, T, C);
            });
            return;
        }
        // Counting sort of the rows r = b·T + t by id: occurrences of vocabulary row v are start[v]..start[v+1), by b.
        int R = B * T;
        int[] start = new int[V + 1];
        for (int r = 0; r < R; r++) start[ids[r] + 1]++;
        for (int v = 0; v < V; v++) start[v + 1] += start[v];
        int[] occ = new int[R], fill = Arrays.copyOf(start, V);
        for (int r = 0; r < R; r++) occ[fill[ids[r]]++] = r;
        matmulBackwardWeight(par, grads, wteOff, -1, dlogits, x, B, T, C, V, scale, sq, row, -1, false,
                new TiedRows(start, occ, demb, T));
    }

    // ---------------------------------------------------------------- normalisation

    /**
     * LayerNorm: out = γ·(x − mean)·rstd + β; RMSNorm (mean == null): out = γ·x·rstd. x, out (R,C);
     * saves mean and rstd (R) for backward. beta may be absent (bOff = -1).
     */
    static void normForward(Parallel par, float[] out, float[] mean, float[] rstd, float[] x, float[] params,
                            int gOff, int bOff, int R, int C) {
        par.forEach(R, r -> {
            int o = r * C;
            double m = 0;
            if (mean != null) {
                for (int c = 0; c < C; c++) m += x[o + c];
                m /= C;
            }
            double v = 0;
            for (int c = 0; c < C; c++) {
                double d = x[o + c] - m;
                v += d * d;
            }
            float s = (float) (1.0 / Math.sqrt(v / C + NORM_EPS));
            float mf = (float) m;
            for (int c = 0; c < C; c++) {
                float y = (x[o + c] - mf) * s * params[gOff + c];
                out[o + c] = bOff >= 0 ? y + params[bOff + c] : y;
            }
            if (mean != null) mean[r] = mf;
            rstd[r] = s;
        });
    }

    /**
     * Backward of {@link #normForward}: dx (R,C) += ..., dγ += scale·Σ_b dγ_b with dγ_b = Σ_t dy_bt ⊙ x̂_bt and
     * dβ_b = Σ_t dy_bt. The per-example partials are built while reading dy and x̂ for dx anyway (one pass), and
     * their squared norms are the per-example norms.
     */
    static void normBackward(Parallel par, float[] dx, float[] dy, float[] x, float[] mean, float[] rstd,
                             float[] params, float[] grads, int gOff, int bOff, int B, int T, int C, float scale,
                             double[] sq, int gRow, int bRow) {
        float[] dGamma = new float[B * C], dBeta = new float[B * C];
        par.forEach(B, b -> {
            float[] xhat = new float[C], dnorm = new float[C];
            for (int t = 0; t < T; t++) {
                int r = b * T + t, o = r * C;
                float m = mean != null ? mean[r] : 0f, s = rstd[r];
                double sumD = 0, sumDX = 0;
                for (int c = 0; c < C; c++) {
                    xhat[c] = (x[o + c] - m) * s;
                    dnorm[c] = dy[o + c] * params[gOff + c];
                    sumD += dnorm[c];
                    sumDX += dnorm[c] * xhat[c];
                    dGamma[b * C + c] += dy[o + c] * xhat[c];
                    dBeta[b * C + c] += dy[o + c];
                }
                float meanD = mean != null ? (float) (sumD / C) : 0f, meanDX = (float) (sumDX / C);
                for (int c = 0; c < C; c++) dx[o + c] += s * (dnorm[c] - meanD - xhat[c] * meanDX);
            }
            if (gRow >= 0) sq[gRow * B + b] = VectorMath.sumSq(dGamma, b * C, C);
            if (bRow >= 0) sq[bRow * B + b] = VectorMath.sumSq(dBeta, b * C, C);
        });
        for (int b = 0; b < B; b++) {
            VectorMath.axpy(scale, dGamma, b * C, grads, gOff, C);
            if (bOff >= 0) VectorMath.axpy(scale, dBeta, b * C, grads, bOff, C);
        }
    }

    // ---------------------------------------------------------------- attention

    /**
     * Causal multi-head attention. qkv (B,T,3C) holds q|k|v per token, heads of size hs inside each; out (B,T,C);
     * lse (B,NH,T) keeps each softmax row's log-sum-exp so backward recomputes probabilities row by row
     * instead of storing T×T matrices.
     */
    static void attentionForward(Parallel par, float[] out, float[] lse, float[] qkv, int B, int T, int C, int NH) {
        int hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        par.forEach(B * NH, bh -> {
            int b = bh / NH, h = bh % NH;
            float[] p = new float[T];
            for (int t = 0; t < T; t++) {
                int q = (b * T + t) * 3 * C + h * hs;
                float max = Float.NEGATIVE_INFINITY;
                for (int u = 0; u <= t; u++) {
                    p[u] = scale * VectorMath.dot(qkv, q, qkv, (b * T + u) * 3 * C + C + h * hs, hs);
                    max = Math.max(max, p[u]);
                }
                double sum = 0;
                for (int u = 0; u <= t; u++) {
                    p[u] = (float) Math.exp(p[u] - max);
                    sum += p[u];
                }
                int o = (b * T + t) * C + h * hs;
                Arrays.fill(out, o, o + hs, 0f);
                float inv = (float) (1.0 / sum);
                for (int u = 0; u <= t; u++) VectorMath.axpy(p[u] * inv, qkv, (b * T + u) * 3 * C + 2 * C + h * hs, out, o, hs);
                lse[bh * T + t] = max + (float) Math.log(sum);
            }
        });
    }

    /** dqkv (B,T,3C) = backward of attention given dout (B,T,C); recomputes each row's probabilities from lse. */
    static void attentionBackward(Parallel par, float[] dqkv, float[] dout, float[] qkv, float[] lse,
                                  int B, int T, int C, int NH) {
        int hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        par.forEach(B * NH, bh -> {
            int b = bh / NH, h = bh % NH;
            for (int t = 0; t < T; t++)
                for (int part = 0; part < 3; part++) {
                    int o = (b * T + t) * 3 * C + part * C + h * hs;
                    Arrays.fill(dqkv, o, o + hs, 0f);
                }
            float[] p = new float[T], dp = new float[T];
            for (int t = 0; t < T; t++) {
                int q = (b * T + t) * 3 * C + h * hs, d = (b * T + t) * C + h * hs;
                double sumPdP = 0;
                for (int u = 0; u <= t; u++) {
                    int ku = (b * T + u) * 3 * C + C + h * hs;
                    p[u] = (float) Math.exp(scale * VectorMath.dot(qkv, q, qkv, ku, hs) - lse[bh * T + t]);
                    dp[u] = VectorMath.dot(dout, d, qkv, ku + C, hs);
                    sumPdP += p[u] * dp[u];
                    VectorMath.axpy(p[u], dout, d, dqkv, ku + C, hs);
                }
                for (int u = 0; u <= t; u++) {
                    int ku = (b * T + u) * 3 * C + C + h * hs;
                    float ds = p[u] * (dp[u] - (float) sumPdP) * scale;
                    VectorMath.axpy(ds, qkv, ku, dqkv, q, hs);
                    VectorMath.axpy(ds, qkv, q, dqkv, ku, hs);
                }
            }
        });
    }

    // ---------------------------------------------------------------- pointwise

    private static final float GELU_K = (float) Math.sqrt(2.0 / Math.PI);

    /** GELU, tanh approximation (GPT-2's). */
    static void geluForward(Parallel par, float[] out, float[] x, int R, int width) {
        par.forEach(R, r -> {
            for (int i = r * width; i < (r + 1) * width; i++) {
                float v = x[i];
                out[i] = 0.5f * v * (1f + (float) Math.tanh(GELU_K * (v + 0.044715f * v * v * v)));
            }
        });
    }

    static void geluBackward(Parallel par, float[] dx, float[] x, float[] dout, int R, int width) {
        par.forEach(R, r -> {
            for (int i = r * width; i < (r + 1) * width; i++) {
                float v = x[i];
                float inner = GELU_K * (v + 0.044715f * v * v * v);
                float th = (float) Math.tanh(inner);
                float sech2 = 1f - th * th;
                float local = 0.5f * (1f + th) + 0.5f * v * sech2 * GELU_K * (1f + 3f * 0.044715f * v * v);
                dx[i] = local * dout[i];
            }
        });
    }

    /** out (R,C) = a + b. */
    static void add(Parallel par, float[] out, float[] a, float[] b, int R, int C) {
        par.forEach(R, r -> {
            for (int i = r * C; i < (r + 1) * C; i++) out[i] = a[i] + b[i];
        });
    }

    // ---------------------------------------------------------------- loss

    /**
     * Softmax cross-entropy over the vocabulary. logits (R,V) are replaced by probabilities; losses (R) per token.
     * Returns the mean loss over all R tokens.
     */
    static double softmaxCrossEntropy(Parallel par, float[] logits, float[] losses, int[] targets, int R, int V) {
        par.forEach(R, r -> {
            int o = r * V;
            float target = logits[o + targets[r]], max = VectorMath.max(logits, o, V);
            double sum = VectorMath.expShiftedInPlace(logits, o, V, max);
            VectorMath.scale((float) (1.0 / sum), logits, o, V);
            losses[r] = (float) (max + Math.log(sum) - target);
        });
        double total = 0;
        for (int r = 0; r < R; r++) total += losses[r];
        return total / R;
    }

    /** probs (R,V) → dlogits of each example's mean token loss: (p − onehot)/T. */
    static void crossEntropyBackward(Parallel par, float[] probs, int[] targets, int R, int V, int T) {
        float inv = 1f / T;
        par.forEach(R, r -> {
            int o = r * V;
            for (int v = 0; v < V; v++) probs[o + v] *= inv;
            probs[o + targets[r]] -= inv;
        });
    }
}
