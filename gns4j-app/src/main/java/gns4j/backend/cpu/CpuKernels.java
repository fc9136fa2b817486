package gns4j.backend.cpu;

import java.util.Arrays;

/**
 * Forward/backward pairs of the GPT model's embeddings, norm layers, pointwise ops and loss on float arrays, with the
 * per-example squared gradient norms of docs/design.md §2 computed inside the backward passes (Linear layers:
 * {@link LinearKernels}, attention: {@link AttentionKernels}). Shapes: B examples, T tokens, C channels, R = B·T
 * rows. Weight-gradient kernels add {@code scale}·Σ_b g_b into the parameter's gradient, where the incoming output
 * gradients are those of each example's own mean loss L_b; the trainer passes scale = 1/(examples in the step).
 */
final class CpuKernels {
    static final float NORM_EPS = 1e-5f;
    /** Tokens of one norm-backward task. */
    private static final int NORM_ROWS = 64;

    private CpuKernels() {}

    // ---------------------------------------------------------------- embeddings

    /** out (R,C) = wte[id_r] + wpe[firstPosition + r mod T]; wte[id_r] alone when wpe is null (Llama: RoPE). */
    static void embeddingForward(Parallel par, Mat out, int[] ids, Mat wte, Mat wpe, int T, int firstPosition) {
        int C = out.cols();
        par.forEach(out.rows(), r -> {
            int e = wte.row(ids[r]), o = out.row(r);
            if (wpe == null) System.arraycopy(wte.data(), e, out.data(), o, C);
            else for (int c = 0, p = wpe.row(firstPosition + r % T); c < C; c++)
                out.data()[o + c] = wte.data()[e + c] + wpe.data()[p + c];
        });
    }

    /** Position table: dwpe[t] += scale·Σ_b dout[b,t]; per-example |dP_b|² = Σ_t |dout_bt|² (every t a distinct row). */
    static void positionEmbeddingBackward(Parallel par, Param wpe, Mat dout, int B, float scale) {
        int T = dout.rows() / B, C = dout.cols();
        par.forEach(T, t -> {
            for (int b = 0; b < B; b++)
                VectorMath.axpy(scale, dout.data(), dout.row(b * T + t), wpe.grad(), wpe.gradOffset() + t * C, C);
        });
        if (wpe.norms() != null) par.forEach(B, b -> wpe.norms().put(b, VectorMath.sumSq(dout.data(), dout.row(b * T), T * C)));
    }

    /**
     * Token table: dwte[id_bt] += scale·dout_bt; per-example |dE_b|² = Σ_v |Σ_{t: id_bt = v} dout_bt|², found by
     * grouping equal ids of the example. Rows are scattered serially per example to stay race-free.
     */
    static void tokenEmbeddingBackward(Parallel par, Param wte, Mat dout, int[] ids, int B, float scale) {
        int C = dout.cols();
        for (int r = 0; r < dout.rows(); r++)
            VectorMath.axpy(scale, dout.data(), dout.row(r), wte.grad(), wte.gradOffset() + ids[r] * C, C);
        if (wte.norms() != null) par.forEach(B, b -> wte.norms().put(b, groupedSumSq(dout, ids, b, dout.rows() / B)));
    }

    /** Σ over distinct ids v of example b of |Σ_{t: id = v} dout_bt|²; dout (B·T,C). */
    static double groupedSumSq(Mat dout, int[] ids, int b, int T) {
        int C = dout.cols();
        int[] order = positionsSortedById(ids, b, T);
        float[] group = new float[C];
        double total = 0;
        for (int i = 0; i < T; ) {
            int id = ids[b * T + order[i]];
            Arrays.fill(group, 0f);
            for (; i < T && ids[b * T + order[i]] == id; i++) VectorMath.axpy(1f, dout.data(), dout.row(b * T + order[i]), group, 0, C);
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

    // ---------------------------------------------------------------- normalisation

    /** Per-row statistics a norm layer saves for backward: mean (R; null for RMSNorm) and 1/std (R). */
    record NormStats(float[] mean, float[] rstd) {
        static NormStats of(boolean layerNorm, int rows) {
            return new NormStats(layerNorm ? new float[rows] : null, new float[rows]);
        }
    }

    /**
     * LayerNorm: out = γ·(x − mean)·rstd + β; RMSNorm (stats without mean): out = γ·x·rstd. x, out (R,C);
     * γ, β (1,C), β null when absent.
     */
    static void normForward(Parallel par, Mat out, NormStats stats, Mat x, Mat gamma, Mat beta) {
        int C = x.cols();
        float[] in = x.data(), mean = stats.mean();
        par.forEach(x.rows(), r -> {
            int o = x.row(r), y = out.row(r);
            double m = 0;
            if (mean != null) {
                for (int c = 0; c < C; c++) m += in[o + c];
                m /= C;
            }
            double v = 0;
            for (int c = 0; c < C; c++) {
                double d = in[o + c] - m;
                v += d * d;
            }
            float s = (float) (1.0 / Math.sqrt(v / C + NORM_EPS));
            float mf = (float) m;
            for (int c = 0; c < C; c++) {
                float z = (in[o + c] - mf) * s * gamma.data()[gamma.offset() + c];
                out.data()[y + c] = beta != null ? z + beta.data()[beta.offset() + c] : z;
            }
            if (mean != null) mean[r] = mf;
            stats.rstd()[r] = s;
        });
    }

    /**
     * Backward of {@link #normForward}: dx (R,C) += ..., dγ += scale·Σ_b dγ_b with dγ_b = Σ_t dy_bt ⊙ x̂_bt and
     * dβ_b = Σ_t dy_bt (beta null: none). The per-example partials are built while reading dy and x̂ for dx anyway
     * (one pass), and their squared norms are the per-example norms.
     */
    static void normBackward(Parallel par, Mat dx, Mat dy, Mat x, NormStats stats, Param gamma, Param beta, int B,
                             float scale) {
        int T = x.rows() / B, C = x.cols(), chunks = (T + NORM_ROWS - 1) / NORM_ROWS;
        float[] g = gamma.value().data();
        int go = gamma.value().offset();
        // Tasks of NORM_ROWS tokens of one example, each with its own partial dγ_b and dβ_b (chunks fixed by T alone),
        // then summed per example in chunk order: enough tasks for 16 threads at B 8, the same bits for any count.
        float[] partGamma = new float[B * chunks * C], partBeta = new float[B * chunks * C];
        par.forEach(B * chunks, task -> {
            int b = task / chunks, t0 = task % chunks * NORM_ROWS, p = task * C;
            float[] xhat = new float[C], dnorm = new float[C];
            for (int t = t0; t < Math.min(T, t0 + NORM_ROWS); t++) {
                int r = b * T + t, o = x.row(r), d = dy.row(r), e = dx.row(r);
                float m = stats.mean() != null ? stats.mean()[r] : 0f, s = stats.rstd()[r];
                double sumD = 0, sumDX = 0;
                for (int c = 0; c < C; c++) {
                    xhat[c] = (x.data()[o + c] - m) * s;
                    dnorm[c] = dy.data()[d + c] * g[go + c];
                    sumD += dnorm[c];
                    sumDX += dnorm[c] * xhat[c];
                    partGamma[p + c] += dy.data()[d + c] * xhat[c];
                    partBeta[p + c] += dy.data()[d + c];
                }
                float meanD = stats.mean() != null ? (float) (sumD / C) : 0f, meanDX = (float) (sumDX / C);
                for (int c = 0; c < C; c++) dx.data()[e + c] += s * (dnorm[c] - meanD - xhat[c] * meanDX);
            }
        });
        float[] dGamma = new float[B * C], dBeta = new float[B * C];
        Profile.time(Profile.Op.NORM_REDUCTIONS, () -> {
            par.forEach(B, b -> {
                for (int k = 0; k < chunks; k++) {
                    VectorMath.axpy(1f, partGamma, (b * chunks + k) * C, dGamma, b * C, C);
                    VectorMath.axpy(1f, partBeta, (b * chunks + k) * C, dBeta, b * C, C);
                }
                if (gamma.norms() != null) gamma.norms().put(b, VectorMath.sumSq(dGamma, b * C, C));
                if (beta != null && beta.norms() != null) beta.norms().put(b, VectorMath.sumSq(dBeta, b * C, C));
            });
            for (int b = 0; b < B; b++) {
                VectorMath.axpy(scale, dGamma, b * C, gamma.grad(), gamma.gradOffset(), C);
                if (beta != null) VectorMath.axpy(scale, dBeta, b * C, beta.grad(), beta.gradOffset(), C);
            }
        });
    }

    // ---------------------------------------------------------------- pointwise

    /**
     * GELU, tanh approximation (GPT-2's), fused into the product that makes its input: each finished block of the
     * product x is also written through GELU into out (x's shape).
     */
    static Gemm.Epilogue gelu(Mat out) {
        return (x, c, ldc, i, j, m, n) -> {
            for (int r = 0; r < m; r++) VectorMath.gelu(x, c + r * ldc, out.data(), out.row(i + r) + j, n);
        };
    }

    /**
     * Backward of {@link #gelu} fused into the product that makes dout: each finished block of it is multiplied in
     * place by GELU'(x), x the saved pre-activation (dout's shape), so it becomes dx.
     */
    static Gemm.Epilogue geluBackward(Mat x) {
        return (dy, c, ldc, i, j, m, n) -> {
            for (int r = 0; r < m; r++)
                VectorMath.geluBackward(x.data(), x.row(i + r) + j, dy, c + r * ldc, dy, c + r * ldc, n);
        };
    }

    /** out (R,C) = a + b. */
    static void add(Parallel par, Mat out, Mat a, Mat b) {
        int C = out.cols();
        par.forEach(out.rows(), r -> {
            for (int j = 0, o = out.row(r), i = a.row(r), k = b.row(r); j < C; j++)
                out.data()[o + j] = a.data()[i + j] + b.data()[k + j];
        });
    }

    // ---------------------------------------------------------------- loss

    /**
     * Softmax cross-entropy over the vocabulary, losses (R) per token, and its gradient: logits (R,V) are replaced by
     * dlogits of each example's mean token loss over its T tokens, (p − onehot)/T, formed while the row is in cache
     * (a separate backward pass would read and write all R·V floats once more). Returns the mean loss over all R tokens.
     */
    static double softmaxCrossEntropy(Parallel par, Mat logits, float[] losses, int[] targets, int T) {
        int R = logits.rows(), V = logits.cols();
        float[] z = logits.data();
        float inv = 1f / T;
        par.forEach(R, r -> {
            int o = logits.row(r);
            float target = z[o + targets[r]], max = VectorMath.max(z, o, V);
            double sum = VectorMath.expShiftedInPlace(z, o, V, max);
            VectorMath.scale((float) (1.0 / sum), inv, z, o, V); // p = e·(1/sum), then p/T
            z[o + targets[r]] -= inv;
            losses[r] = (float) (max + Math.log(sum) - target);
        });
        double total = 0;
        for (int r = 0; r < R; r++) total += losses[r];
        return total / R;
    }
}
