package gns4j.backend.cpu;

import java.util.Arrays;

/**
 * Linear layers (and the tied embedding / head) forward and backward, with the per-example squared weight-gradient
 * norms of docs/design.md §2. Shapes: R = B·T rows of input (R,K) and output (R,N); W is (N,K) as nn.Linear stores
 * it. Weight gradients add {@code scale}·Σ_b g_b, g_b the gradient of example b's own mean loss.
 */
final class LinearKernels {
    /**
     * Rows of W per weight-gradient block, at most: their 64 columns of an example's dout, gathered, fill 64 KiB at
     * T 256. Narrow layers take fewer, down to {@link #MIN_ROWS}.
     */
    private static final int W_ROWS = 64, MIN_ROWS = 16;
    /**
     * Weight-gradient blocks wanted at least, so 16 threads get about four each: narrow layers are split into fewer
     * rows and along K too. Depends on shapes only (see below).
     */
    private static final int MIN_BLOCKS = 64;

    private LinearKernels() {}

    /**
     * Wᵀ (K,N) of W (N,K), packed for {@link #forward} of inputs with about {@code rows} rows (they pick the tile,
     * {@link Gemm#tileFor}) into scratch ({@link Gemm#packedSize}(K, N) floats).
     */
    static Gemm.Packed packTransposed(Parallel par, Mat w, int rows, float[] scratch) {
        return Gemm.pack(par, rows, Gemm.View.transposed(w), w.cols(), w.rows(), scratch, 0);
    }

    /**
     * out (R,N) = inp (R,K) · Wᵀ + bias (1,N) (null: none), then after (null: nothing) on each finished block of out;
     * Wᵀ from {@link #packTransposed}.
     */
    static void forward(Parallel par, Mat out, Mat inp, Gemm.Packed weightT, Mat bias, Gemm.Epilogue after) {
        Gemm.multiply(par, Gemm.View.of(inp), weightT, 0, inp.rows(), weightT.N(), inp.cols(), out.data(), out.offset(),
                out.cols(), Gemm.Addend.bias(bias), after);
    }

    /**
     * dinp (R,K) = dout (R,N) · W (N,K), then after (null: nothing) on each finished block of dinp; W is packed into
     * scratch ({@link Gemm#packedSize}(N, K) floats) first.
     */
    static void backwardInput(Parallel par, Mat dinp, Mat dout, Mat w, float[] scratch, Gemm.Epilogue after) {
        Gemm.Packed packed = Gemm.pack(par, dout.rows(), Gemm.View.of(w), w.rows(), w.cols(), scratch, 0);
        Gemm.multiply(par, Gemm.View.of(dout), packed, 0, dout.rows(), w.cols(), w.rows(), dinp.data(), dinp.offset(),
                dinp.cols(), null, after);
    }

    /** Rows of the token table that also receive the embedding scatter (tied head): see tiedEmbeddingHeadBackward. */
    record TiedRows(int[] start, int[] occ, Mat demb, int T) {
        /** Adds Σ_{t: id_bt = v} demb_bt[k0..k0+n) to row[o..o+n) for vocabulary row v of example b. */
        void addTo(int v, int b, float[] row, int o, int k0, int n) {
            for (int i = start[v]; i < start[v + 1]; i++)
                if (occ[i] / T == b) VectorMath.axpy(1f, demb.data(), demb.row(occ[i]) + k0, row, o, n);
        }
    }

    /**
     * dW (N,K) += scale·Σ_b dout_bᵀ inp_b and db (N) += scale·Σ_{b,t} dout_bt (bias null: none), with per-example
     * norms of both. dout (R,N), inp (R,K), R = B·T. Simultaneous method: for a block of W (rows × columns), each
     * example's block of dW_b is formed (reduction over its own T tokens), squared and summed into the batch gradient
     * in the same pass, so no B×N×K copy exists. Ghost method: the plain batch gradient here, |dW_b|² from the two
     * Gram matrices. tied (or null) adds the embedding scatter into the rows before squaring. inp is packed into
     * scratch ({@link Gemm#packedSize}(R, K) floats) once for every block.
     */
    static void backwardWeight(Parallel par, Param w, Param bias, Mat dout, Mat inp, int B, float scale,
                               boolean ghost, TiedRows tied, float[] scratch) {
        int T = inp.rows() / B, K = inp.cols(), N = dout.cols();
        boolean perExample = w.norms() != null && !ghost;
        Param.Norms biasNorms = bias == null ? null : bias.norms();
        // Blocks of wRows rows × a run of panels of Gemm.NR columns. The per-example norms are summed block by block in
        // block order, so the blocks are a function of the shapes alone: the same bits whatever the thread count.
        int panels = ceilDiv(K, Gemm.NR), blockRows = W_ROWS;
        while (ceilDiv(N, blockRows) * panels < MIN_BLOCKS && blockRows > MIN_ROWS) blockRows /= 2;
        int rowBlocks = ceilDiv(N, blockRows), wRows = blockRows;
        int panelsPerBlock = ceilDiv(panels, Math.min(panels, ceilDiv(MIN_BLOCKS, rowBlocks)));
        int colBlocks = ceilDiv(panels, panelsPerBlock), blocks = rowBlocks * colBlocks;
        // Where a block spans all K columns (wide layers: the head, whose K = C pads 256 to 288 on 48-wide panels), the
        // packing of inp may take another panel width without moving a block boundary; otherwise Gemm.NR's.
        Gemm.Packed x = Gemm.pack(par, colBlocks == 1 ? Gemm.tileFor(wRows, K) : Gemm.TILE, Gemm.View.of(inp), inp.rows(), K,
                scratch, 0);
        double[] partW = perExample ? new double[blocks * B] : null;
        double[] partB = biasNorms != null ? new double[blocks * B] : null;
        float[] dy = dout.data();
        par.forEach(blocks, blk -> {
            int n0 = blk / colBlocks * wRows, rows = Math.min(wRows, N - n0);
            int k0 = blk % colBlocks * panelsPerBlock * Gemm.NR, cols = Math.min(panelsPerBlock * Gemm.NR, K - k0);
            Gemm.Packed xCols = x.columns(k0 / x.nr(), cols);
            boolean withBias = bias != null && k0 == 0;
            float[] acc = new float[rows * cols], dyT = new float[T * rows];
            float[] example = perExample || tied != null ? new float[rows * cols] : null;
            double[] biasSum = withBias ? new double[rows] : null, localB = withBias && partB != null ? new double[B] : null;
            // A (rows, T) = dyTᵀ: reads of it stay inside one small block instead of striding over dout's rows
            Gemm.View a = new Gemm.View(dyT, 0, 1, rows);
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) System.arraycopy(dy, dout.row(b * T + t) + n0, dyT, t * rows, rows);
                if (withBias)
                    for (int i = 0; i < rows; i++) {
                        double s = 0;
                        for (int t = 0; t < T; t++) s += dyT[t * rows + i];
                        biasSum[i] += s;
                        if (localB != null) localB[b] += s * s;
                    }
                if (example == null) {
                    Gemm.serial(a, xCols, b * T, rows, cols, T, acc, 0, cols, new Gemm.Addend(acc, 0, cols));
                    continue;
                }
                Gemm.serial(a, xCols, b * T, rows, cols, T, example, 0, cols, null);
                if (tied != null) for (int i = 0; i < rows; i++) tied.addTo(n0 + i, b, example, i * cols, k0, cols);
                if (perExample) partW[blk * B + b] = VectorMath.sumSq(example, 0, rows * cols);
                VectorMath.axpy(1f, example, 0, acc, 0, rows * cols);
            }
            for (int i = 0; i < rows; i++) {
                VectorMath.axpy(scale, acc, i * cols, w.grad(), w.gradOffset() + (n0 + i) * K + k0, cols);
                if (withBias) bias.grad()[bias.gradOffset() + n0 + i] += (float) (scale * biasSum[i]);
            }
            if (localB != null) System.arraycopy(localB, 0, partB, blk * B, B);
        });
        Profile.time(Profile.Op.NORM_REDUCTIONS, () -> {
            for (int b = 0; b < B; b++) {
                double sw = 0, sb = 0;
                for (int blk = 0; blk < blocks; blk++) {
                    if (partW != null) sw += partW[blk * B + b];
                    if (partB != null) sb += partB[blk * B + b];
                }
                if (partB != null) biasNorms.put(b, sb);
                if (perExample) w.norms().put(b, sw);
            }
        });
        if (w.norms() != null && ghost) par.forEach(B, b -> w.norms().put(b, ghostSumSq(inp, dout, b, T)));
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

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
     * dlogits (R,V), x = final-norm output (R,C), demb (R,C), ids (R); scratch as {@link #backwardWeight}'s.
     */
    static void tiedEmbeddingHeadBackward(Parallel par, Param wte, Mat dlogits, Mat x, Mat demb, int[] ids, int B,
                                          float scale, boolean ghost, float[] scratch) {
        int R = x.rows(), T = R / B, C = x.cols(), V = dlogits.cols();
        if (wte.norms() == null || ghost) {
            backwardWeight(par, wte.untracked(), null, dlogits, x, B, scale, false, null, scratch);
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
        backwardWeight(par, wte, null, dlogits, x, B, scale, false, new TiedRows(start, occ, demb, T), scratch);
    }
}
