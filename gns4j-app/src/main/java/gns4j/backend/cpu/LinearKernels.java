package gns4j.backend.cpu;

import java.util.Arrays;

/**
 * Linear layers (and the tied embedding / head) forward and backward, with the per-example squared weight-gradient
 * norms of docs/design.md §2. Shapes: R = B·T rows of input (R,K) and output (R,N); W is (N,K) as nn.Linear stores
 * it. Weight gradients add {@code scale}·Σ_b g_b, g_b the gradient of example b's own mean loss.
 */
final class LinearKernels {
    private static final int W_BLOCK = 16;

    private LinearKernels() {}

    /** Wᵀ (K,N) of W (N,K), built in scratch. */
    static Mat transposed(Parallel par, Mat w, float[] scratch) {
        Gemm.transpose(par, scratch, w.data(), w.offset(), w.rows(), w.cols());
        return Mat.of(scratch, w.cols(), w.rows());
    }

    /** out (R,N) = inp (R,K) · weightT (K,N) + bias (1,N) (null: none). */
    static void forward(Parallel par, Mat out, Mat inp, Mat weightT, Mat bias) {
        int R = inp.rows(), K = inp.cols(), N = weightT.cols();
        if (bias != null) par.forEach(R, r -> System.arraycopy(bias.data(), bias.offset(), out.data(), out.row(r), N));
        Gemm.parallel(par, inp.data(), inp.offset(), K, 1, weightT.data(), weightT.offset(), N, R, N, K,
                out.data(), out.offset(), N, bias != null);
    }

    /** dinp (R,K) = dout (R,N) · W (N,K). */
    static void backwardInput(Parallel par, Mat dinp, Mat dout, Mat w) {
        int R = dout.rows(), N = dout.cols(), K = w.cols();
        Gemm.parallel(par, dout.data(), dout.offset(), N, 1, w.data(), w.offset(), K, R, K, N,
                dinp.data(), dinp.offset(), K, false);
    }

    /** Rows of the token table that also receive the embedding scatter (tied head): see tiedEmbeddingHeadBackward. */
    record TiedRows(int[] start, int[] occ, Mat demb, int T) {
        /** Adds Σ_{t: id_bt = v} demb_bt to row (length C, at o) for vocabulary row v of example b. */
        void addTo(int v, int b, float[] row, int o, int C) {
            for (int i = start[v]; i < start[v + 1]; i++)
                if (occ[i] / T == b) VectorMath.axpy(1f, demb.data(), demb.row(occ[i]), row, o, C);
        }
    }

    /**
     * dW (N,K) += scale·Σ_b dout_bᵀ inp_b and db (N) += scale·Σ_{b,t} dout_bt (bias null: none), with per-example
     * norms of both. dout (R,N), inp (R,K), R = B·T. Simultaneous method: for a block of rows of W, each example's
     * rows of dW_b are formed (reduction over its own T tokens), squared and summed into the batch gradient in the
     * same pass, so no B×N×K copy exists. Ghost method: the plain batch gradient here, |dW_b|² from the two Gram
     * matrices. tied (or null) adds the embedding scatter into the rows before squaring.
     */
    static void backwardWeight(Parallel par, Param w, Param bias, Mat dout, Mat inp, int B, float scale,
                               boolean ghost, TiedRows tied) {
        int T = inp.rows() / B, K = inp.cols(), N = dout.cols();
        boolean perExample = w.norms() != null && !ghost;
        Param.Norms biasNorms = bias == null ? null : bias.norms();
        int blocks = (N + W_BLOCK - 1) / W_BLOCK;
        // Per-block partial norms, summed in block order afterwards: the same bits whatever the thread schedule.
        double[] partW = perExample ? new double[blocks * B] : null;
        double[] partB = biasNorms != null ? new double[blocks * B] : null;
        float[] dy = dout.data();
        par.forEach(blocks, blk -> {
            int n0 = blk * W_BLOCK, rows = Math.min(W_BLOCK, N - n0);
            float[] acc = new float[rows * K];
            float[] example = perExample || tied != null ? new float[rows * K] : null;
            double[] localW = perExample ? new double[B] : null, localB = partB != null ? new double[B] : null;
            if (bias != null)
                for (int i = 0; i < rows; i++) {
                    double total = 0;
                    for (int b = 0; b < B; b++) {
                        double s = 0;
                        for (int t = 0; t < T; t++) s += dy[dout.row(b * T + t) + n0 + i];
                        total += s;
                        if (localB != null) localB[b] += s * s;
                    }
                    bias.grad()[bias.gradOffset() + n0 + i] += (float) (scale * total);
                }
            // Rows n0.. of dW_b = dout_bᵀ (A[i,t] = dout[b·T + t, n0 + i]) · inp_b, one example at a time.
            for (int b = 0; b < B; b++) {
                int a = dout.row(b * T) + n0, x = inp.row(b * T);
                if (example == null) {
                    Gemm.serial(dy, a, 1, N, inp.data(), x, K, rows, K, T, acc, 0, K, true);
                    continue;
                }
                Gemm.serial(dy, a, 1, N, inp.data(), x, K, rows, K, T, example, 0, K, false);
                if (tied != null) for (int i = 0; i < rows; i++) tied.addTo(n0 + i, b, example, i * K, K);
                if (perExample) localW[b] = VectorMath.sumSq(example, 0, rows * K);
                VectorMath.axpy(1f, example, 0, acc, 0, rows * K);
            }
            VectorMath.axpy(scale, acc, 0, w.grad(), w.gradOffset() + n0 * K, rows * K);
            if (localW != null) System.arraycopy(localW, 0, partW, blk * B, B);
            if (localB != null) System.arraycopy(localB, 0, partB, blk * B, B);
        });
        for (int b = 0; b < B; b++) {
            double sw = 0, sb = 0;
            for (int blk = 0; blk < blocks; blk++) {
                if (partW != null) sw += partW[blk * B + b];
                if (partB != null) sb += partB[blk * B + b];
            }
            if (partB != null) biasNorms.put(b, sb);
            if (perExample) w.norms().put(b, sw);
        }
        if (w.norms() != null && ghost) par.forEach(B, b -> w.norms().put(b, ghostSumSq(inp, dout, b, T)));
    }

    /** |dW_b|² = Σ_{t,t'} (x_t·x_t')(dy_t·dy_t'), summing each unordered pair once (doubled) by symmetry. */
    static double ghostSumSq(Mat x, Mat dy, int b, int T) {
        double total = 0;
        for (int t = 0; t < T; t++) {
            int rt = b * T + t;
            for (int u = 0; u <= t; u++) {
                int ru = b * T + u;
                double pair = (double) VectorMath.dot(x.data(), x.row(rt), x.data(), x.row(ru), x.cols())
                        * VectorMath.dot(dy.data(), dy.row(rt), dy.data(), dy.row(ru), dy.cols());
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
    static void tiedEmbeddingHeadBackward(Parallel par, Param wte, Mat dlogits, Mat x, Mat demb, int[] ids, int B,
                                          float scale, boolean ghost) {
        int R = x.rows(), T = R / B, C = x.cols(), V = dlogits.cols();
        if (wte.norms() == null || ghost) {
            backwardWeight(par, wte.untracked(), null, dlogits, x, B, scale, false, null);
            CpuKernels.tokenEmbeddingBackward(par, wte.untracked(), demb, ids, B, scale);
            if (wte.norms() != null) par.forEach(B, b -> {
                double cross = 0;
                for (int u = 0; u < T; u++) {
                    int ru = b * T + u, id = ids[ru];
                    for (int t = 0; t < T; t++) {
                        int rt = b * T + t;
                        float g = dlogits.data()[dlogits.row(rt) + id];
                        if (g != 0f) cross += g * VectorMath.dot(x.data(), x.row(rt), demb.data(), demb.row(ru), C);
                    }
                }
                wte.norms().put(b, ghostSumSq(x, dlogits, b, T) + 2 * cross + CpuKernels.groupedSumSq(demb, ids, b, T));
            });
            return;
        }
        // Counting sort of the rows r = b·T + t by id: occurrences of vocabulary row v are start[v]..start[v+1), by b.
        int[] start = new int[V + 1];
        for (int r = 0; r < R; r++) start[ids[r] + 1]++;
        for (int v = 0; v < V; v++) start[v + 1] += start[v];
        int[] occ = new int[R], fill = Arrays.copyOf(start, V);
        for (int r = 0; r < R; r++) occ[fill[ids[r]]++] = r;
        backwardWeight(par, wte, null, dlogits, x, B, scale, false, new TiedRows(start, occ, demb, T));
    }
}
