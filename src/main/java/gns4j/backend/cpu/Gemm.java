package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix kernel of the CPU backend: dot products of rows, C[i,j] = A_i·B_j with both operands row-major
 * along the reduction, computed in 2×4 register tiles (8 vector accumulators, 6 loads per 8 FMAs). Forward,
 * input-gradient (against a transposed weight) and per-example weight-gradient products are all this shape.
 */
final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int TI = 2, TJ = 4;
    /** Rows of the right operand kept hot in cache while a chunk of left rows streams past them. */
    private static final int B_BLOCK = 64;
    private static final int ROW_CHUNK = 8;
    /** Reduction length per pass: 2 + 4 operand rows of this many floats stay in L1/L2. */
    private static final int K_BLOCK = 1024;

    private Gemm() {}

    /**
     * tile[i·TJ + j] = Σ_k A[a + i·as + k]·B[b + j·bs + k] for i < mi ≤ 2, j < nj ≤ 4 (as/bs: row strides).
     */
    static void tile(float[] A, int a, int as, int mi, float[] B, int b, int bs, int nj, int K, float[] tile) {
        if (mi != TI || nj != TJ || !VectorMath.VECTOR) {
            for (int i = 0; i < mi; i++)
                for (int j = 0; j < nj; j++) tile[i * TJ + j] = VectorMath.dot(A, a + i * as, B, b + j * bs, K);
            return;
        }
        int a0 = a, a1 = a + as, b0 = b, b1 = b + bs, b2 = b + 2 * bs, b3 = b + 3 * bs;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        int k = 0;
        for (int bound = S.loopBound(K); k < bound; k += S.length()) {
            FloatVector x0 = FloatVector.fromArray(S, A, a0 + k), x1 = FloatVector.fromArray(S, A, a1 + k);
            FloatVector w = FloatVector.fromArray(S, B, b0 + k);
            c00 = x0.fma(w, c00);
            c10 = x1.fma(w, c10);
            w = FloatVector.fromArray(S, B, b1 + k);
            c01 = x0.fma(w, c01);
            c11 = x1.fma(w, c11);
            w = FloatVector.fromArray(S, B, b2 + k);
            c02 = x0.fma(w, c02);
            c12 = x1.fma(w, c12);
            w = FloatVector.fromArray(S, B, b3 + k);
            c03 = x0.fma(w, c03);
            c13 = x1.fma(w, c13);
        }
        tile[0] = c00.reduceLanes(VectorOperators.ADD);
        tile[1] = c01.reduceLanes(VectorOperators.ADD);
        tile[2] = c02.reduceLanes(VectorOperators.ADD);
        tile[3] = c03.reduceLanes(VectorOperators.ADD);
        tile[4] = c10.reduceLanes(VectorOperators.ADD);
        tile[5] = c11.reduceLanes(VectorOperators.ADD);
        tile[6] = c12.reduceLanes(VectorOperators.ADD);
        tile[7] = c13.reduceLanes(VectorOperators.ADD);
        for (; k < K; k++) {
            float x0 = A[a0 + k], x1 = A[a1 + k];
            tile[0] += x0 * B[b0 + k];
            tile[1] += x0 * B[b1 + k];
            tile[2] += x0 * B[b2 + k];
            tile[3] += x0 * B[b3 + k];
            tile[4] += x1 * B[b0 + k];
            tile[5] += x1 * B[b1 + k];
            tile[6] += x1 * B[b2 + k];
            tile[7] += x1 * B[b3 + k];
        }
    }

    /**
     * out (M,N) = A (M,K) · B (N,K)ᵀ + bias (N, at biasOff; -1 = none). A and B are row-major with row length K,
     * starting at aOff and bOff. Parallel over chunks of rows of A; blocked over the reduction (so a long K, like the
     * vocabulary in the head's input gradient, stays in cache) and over rows of B.
     */
    static void abt(Parallel par, float[] out, float[] A, int aOff, float[] B, int bOff, float[] bias, int biasOff,
                    int M, int N, int K) {
        par.forEach((M + ROW_CHUNK - 1) / ROW_CHUNK, chunk -> {
            float[] t = new float[TI * TJ];
            int r0 = chunk * ROW_CHUNK, r1 = Math.min(M, r0 + ROW_CHUNK);
            for (int r = r0; r < r1; r++)
                for (int n = 0; n < N; n++) out[r * N + n] = biasOff >= 0 ? bias[biasOff + n] : 0f;
            for (int kb = 0; kb < K; kb += K_BLOCK) {
                int kLen = Math.min(K_BLOCK, K - kb);
                for (int nb = 0; nb < N; nb += B_BLOCK) {
                    int nEnd = Math.min(N, nb + B_BLOCK);
                    for (int r = r0; r < r1; r += TI) {
                        int mi = Math.min(TI, r1 - r);
                        for (int n = nb; n < nEnd; n += TJ) {
                            int nj = Math.min(TJ, nEnd - n);
                            tile(A, aOff + r * K + kb, K, mi, B, bOff + n * K + kb, K, nj, kLen, t);
                            for (int i = 0; i < mi; i++)
                                for (int j = 0; j < nj; j++) out[(r + i) * N + n + j] += t[i * TJ + j];
                        }
                    }
                }
            }
        });
    }

    /** dst (cols, rows) = src (rows, cols)ᵀ, src starting at srcOff. */
    static void transpose(Parallel par, float[] dst, float[] src, int srcOff, int rows, int cols) {
        final int blk = 32;
        par.forEach((cols + blk - 1) / blk, cb -> {
            int c0 = cb * blk, c1 = Math.min(cols, c0 + blk);
            for (int r0 = 0; r0 < rows; r0 += blk) {
                int r1 = Math.min(rows, r0 + blk);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++) dst[c * rows + r] = src[srcOff + r * cols + c];
            }
        });
    }
}
