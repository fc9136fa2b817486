package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix kernel of the CPU backend, in outer-product form: C[i, j] (+)= Σ_p A[i, p]·B[p, j], where
 * A is read one scalar at a time (any strides) and broadcast, and B is read in vectors along contiguous rows. A 4 ×
 * 3-vector register tile (12 accumulators, 7 loads per 12 FMAs, no horizontal sums) does the work. Forward
 * (x · Wᵀ, with Wᵀ prepared), input gradient (dy · W) and per-example weight gradient (dy_bᵀ · x_b, A strided)
 * are all this shape.
 */
final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length(), MR = 4, NR = 3 * L;
    /** Reduction block: a KC × NR panel of B stays in L1/L2 while MC rows of A pass over it. */
    private static final int KC = 256, MC = 32;

    private Gemm() {}

    /** C[c + i·ldc + j] (+)= Σ_{p<P} A[a + i·ai + p·ap] · B[b + p·bs + j], for i < m ≤ MR, j < n ≤ NR. */
    static void kernel(float[] A, int a, int ai, int ap, float[] B, int b, int bs, int m, int n, int P,
                       float[] C, int c, int ldc, boolean accumulate) {
        if (m != MR || n != NR || !VectorMath.VECTOR) {
            edgeKernel(A, a, ai, ap, B, b, bs, m, n, P, C, c, ldc, accumulate);
            return;
        }
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
        for (int p = 0; p < P; p++) {
            int bp = b + p * bs, ap0 = a + p * ap;
            FloatVector b0 = FloatVector.fromArray(S, B, bp), b1 = FloatVector.fromArray(S, B, bp + L),
                    b2 = FloatVector.fromArray(S, B, bp + 2 * L);
            FloatVector x = FloatVector.broadcast(S, A[ap0]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, A[ap0 + ai]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, A[ap0 + 2 * ai]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(S, A[ap0 + 3 * ai]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
        }
        store(c00, C, c, accumulate);
        store(c01, C, c + L, accumulate);
        store(c02, C, c + 2 * L, accumulate);
        store(c10, C, c + ldc, accumulate);
        store(c11, C, c + ldc + L, accumulate);
        store(c12, C, c + ldc + 2 * L, accumulate);
        store(c20, C, c + 2 * ldc, accumulate);
        store(c21, C, c + 2 * ldc + L, accumulate);
        store(c22, C, c + 2 * ldc + 2 * L, accumulate);
        store(c30, C, c + 3 * ldc, accumulate);
        store(c31, C, c + 3 * ldc + L, accumulate);
        store(c32, C, c + 3 * ldc + 2 * L, accumulate);
    }

    private static void store(FloatVector v, float[] C, int c, boolean accumulate) {
        (accumulate ? v.add(FloatVector.fromArray(S, C, c)) : v).intoArray(C, c);
    }

    /** Partial tiles: full 4-row groups one vector at a time, then single rows, then scalar columns. */
    private static void edgeKernel(float[] A, int a, int ai, int ap, float[] B, int b, int bs, int m, int n, int P,
                                   float[] C, int c, int ldc, boolean accumulate) {
        int vectorCols = VectorMath.VECTOR ? n / L * L : 0;
        for (int j = 0; j < vectorCols; j += L) {
            if (m == MR) {
                FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
                for (int p = 0; p < P; p++) {
                    FloatVector v = FloatVector.fromArray(S, B, b + p * bs + j);
                    int ap0 = a + p * ap;
                    c0 = FloatVector.broadcast(S, A[ap0]).fma(v, c0);
                    c1 = FloatVector.broadcast(S, A[ap0 + ai]).fma(v, c1);
                    c2 = FloatVector.broadcast(S, A[ap0 + 2 * ai]).fma(v, c2);
                    c3 = FloatVector.broadcast(S, A[ap0 + 3 * ai]).fma(v, c3);
                }
                store(c0, C, c + j, accumulate);
                store(c1, C, c + ldc + j, accumulate);
                store(c2, C, c + 2 * ldc + j, accumulate);
                store(c3, C, c + 3 * ldc + j, accumulate);
                continue;
            }
            for (int i = 0; i < m; i++) {
                FloatVector acc = FloatVector.zero(S);
                for (int p = 0; p < P; p++)
                    acc = FloatVector.broadcast(S, A[a + i * ai + p * ap]).fma(FloatVector.fromArray(S, B, b + p * bs + j), acc);
                store(acc, C, c + i * ldc + j, accumulate);
            }
        }
        for (int i = 0; i < m; i++)
            for (int j = vectorCols; j < n; j++) {
                float s = 0f;
                for (int p = 0; p < P; p++) s += A[a + i * ai + p * ap] * B[b + p * bs + j];
                int o = c + i * ldc + j;
                C[o] = accumulate ? C[o] + s : s;
            }
    }

    /**
     * C (M,N) (+)= A (M,P) · B (P,N) on the calling thread; A[i,p] = A[a + i·ai + p·ap], B[p,j] = B[b + p·bs + j],
     * C row stride ldc from c. Blocked over the reduction so a panel of B stays in cache.
     */
    static void serial(float[] A, int a, int ai, int ap, float[] B, int b, int bs, int M, int N, int P,
                       float[] C, int c, int ldc, boolean accumulate) {
        for (int pc = 0; pc < P; pc += KC) {
            int kc = Math.min(KC, P - pc);
            boolean acc = accumulate || pc > 0;
            for (int j = 0; j < N; j += NR) {
                int n = Math.min(NR, N - j);
                for (int i = 0; i < M; i += MR)
                    kernel(A, a + i * ai + pc * ap, ai, ap, B, b + pc * bs + j, bs, Math.min(MR, M - i), n, kc,
                            C, c + i * ldc + j, ldc, acc);
            }
        }
    }

    /** {@link #serial} split over chunks of MC rows of C. */
    static void parallel(Parallel par, float[] A, int a, int ai, int ap, float[] B, int b, int bs, int M, int N, int P,
                         float[] C, int c, int ldc, boolean accumulate) {
        par.forEach((M + MC - 1) / MC, chunk -> {
            int i0 = chunk * MC;
            serial(A, a + i0 * ai, ai, ap, B, b, bs, Math.min(MC, M - i0), N, P, C, c + i0 * ldc, ldc, accumulate);
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
