package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The register tiles of {@link Gemm}: one MR × NR block of C summed over a KC slice of p, by the vector kernel of
 * each {@link Gemm.Tile} or the scalar one. Apart from Gemm because each tile is one long, flat method (every
 * accumulator a named local, so the JIT keeps them all in registers), and Gemm reads better without them.
 */
final class MicroKernels {
    private static final VectorSpecies<Float> S256 = Gemm.Tile.narrowSpecies(), S512 = FloatVector.SPECIES_512;

    private MicroKernels() {}

    /**
     * C[c + i·ldc + j] = Σ_{p<kc} A[a + i·ai + p·ap] · B[b + p·NR + j] (+ add[ao + i·ars + j]) for i < m ≤ MR, j < n ≤ NR.
     * Rows past m repeat row 0 (never read outside A) and are not stored. The register tile stores plain sums: straight
     * into C when the tile is whole and nothing is added, else into scratch (MR·NR), stored from there with the addend
     * (which may be C itself). Adding inside the tile would pass its vectors to a store helper that the JIT, out of
     * inlining room with the 8-row tile, leaves out of line, and so boxes them.
     *
     * <p>A's reads: row i of step p is A[q + rᵢ], q = a + p·ap, rᵢ = i·ai ({@link #row}). Written plainly, C2 keeps a
     * bounds check and a register per row (8 of each on the 8-row tile, its general registers spilled) since neither
     * stride is a constant. So each kernel spells the two layouts that occur as conditions it hoists out of the loop
     * (loop unswitching): ap = 1 (A row-major in place: forward, input gradient), where q is the loop counter plus a
     * constant and every check is hoisted; ai = 1 on a whole tile (A read transposed: the weight gradient's dout,
     * attention's dSᵀ and Pᵀ), where rᵢ = i is a constant and the checks of one step merge into one. Same reads, same
     * order, same bits; 8 × 48 in L1 on the 2-core Zen 4 VM: 89 → 98-102 GFLOP/s (ap = 1).
     */
    static void run(Gemm.Tile tile, float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc, float[] C,
                    int c, int ldc, int n, float[] add, int ao, int ars, float[] scratch) {
        boolean direct = m == tile.mr && n == tile.nr && add == null && VectorMath.VECTOR;
        float[] out = direct ? C : scratch;
        int o = direct ? c : 0, ld = direct ? ldc : tile.nr;
        if (!VectorMath.VECTOR) scalarKernel(tile, A, a, ai, ap, m, B, b, kc, scratch);
        else switch (tile) {
            case AVX512 -> kernel8x3(A, a, ai, ap, m, B, b, kc, out, o, ld);
            case AVX512_WIDE -> kernel6x4(A, a, ai, ap, m, B, b, kc, out, o, ld);
            case AVX2 -> kernel4x3(A, a, ai, ap, m, B, b, kc, out, o, ld);
        }
        if (!direct) store(scratch, tile.nr, m, n, C, c, ldc, add, ao, ars);
    }

    /** Offset of row i of A's tile: a + i·ai for i < m, a (row 0) past it (so rᵢ = row(0, ai, m, i)). */
    private static int row(int a, int ai, int m, int i) { return a + (i < m ? i * ai : 0); }

    /** The AVX2 register tile: out[o + i·ld + j] = Σ_p A[row i + p·ap] · B[b + p·NR + j]. */
    private static void kernel4x3(float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc, float[] out, int o,
                                  int ld) {
        VectorSpecies<Float> s = S256;
        int l = s.length(), nr = 3 * l;
        int r1 = row(0, ai, m, 1), r2 = row(0, ai, m, 2), r3 = row(0, ai, m, 3);
        FloatVector z = FloatVector.zero(s);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
        boolean unit = ai == 1 && m == 4;
        for (int p = 0; p < kc; p++) {
            int bp = b + p * nr, q = a + (ap == 1 ? p : p * ap);
            FloatVector b0 = FloatVector.fromArray(s, B, bp), b1 = FloatVector.fromArray(s, B, bp + l),
                    b2 = FloatVector.fromArray(s, B, bp + 2 * l);
            FloatVector x = FloatVector.broadcast(s, A[q]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(s, A[q + (unit ? 1 : r1)]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(s, A[q + (unit ? 2 : r2)]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(s, A[q + (unit ? 3 : r3)]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
        }
        c00.intoArray(out, o);
        c01.intoArray(out, o + l);
        c02.intoArray(out, o + 2 * l);
        c10.intoArray(out, o + ld);
        c11.intoArray(out, o + ld + l);
        c12.intoArray(out, o + ld + 2 * l);
        c20.intoArray(out, o + 2 * ld);
        c21.intoArray(out, o + 2 * ld + l);
        c22.intoArray(out, o + 2 * ld + 2 * l);
        c30.intoArray(out, o + 3 * ld);
        c31.intoArray(out, o + 3 * ld + l);
        c32.intoArray(out, o + 3 * ld + 2 * l);
    }

    /** The AVX-512 register tile: as {@link #kernel4x3} with 8 rows of 3 vectors of 16 floats. */
    private static void kernel8x3(float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc, float[] out, int o,
                                  int ld) {
        VectorSpecies<Float> s = S512;
        int l = s.length(), nr = 3 * l;
        int r1 = row(0, ai, m, 1), r2 = row(0, ai, m, 2), r3 = row(0, ai, m, 3), r4 = row(0, ai, m, 4),
                r5 = row(0, ai, m, 5), r6 = row(0, ai, m, 6), r7 = row(0, ai, m, 7);
        FloatVector z = FloatVector.zero(s);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
        FloatVector c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z, c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;
        boolean unit = ai == 1 && m == 8;
        for (int p = 0; p < kc; p++) {
            int bp = b + p * nr, q = a + (ap == 1 ? p : p * ap);
            FloatVector b0 = FloatVector.fromArray(s, B, bp), b1 = FloatVector.fromArray(s, B, bp + l),
                    b2 = FloatVector.fromArray(s, B, bp + 2 * l);
            FloatVector x = FloatVector.broadcast(s, A[q]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(s, A[q + (unit ? 1 : r1)]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(s, A[q + (unit ? 2 : r2)]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(s, A[q + (unit ? 3 : r3)]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            x = FloatVector.broadcast(s, A[q + (unit ? 4 : r4)]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            c42 = x.fma(b2, c42);
            x = FloatVector.broadcast(s, A[q + (unit ? 5 : r5)]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            c52 = x.fma(b2, c52);
            x = FloatVector.broadcast(s, A[q + (unit ? 6 : r6)]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            c62 = x.fma(b2, c62);
            x = FloatVector.broadcast(s, A[q + (unit ? 7 : r7)]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            c72 = x.fma(b2, c72);
        }
        c00.intoArray(out, o);
        c01.intoArray(out, o + l);
        c02.intoArray(out, o + 2 * l);
        c10.intoArray(out, o + ld);
        c11.intoArray(out, o + ld + l);
        c12.intoArray(out, o + ld + 2 * l);
        c20.intoArray(out, o + 2 * ld);
        c21.intoArray(out, o + 2 * ld + l);
        c22.intoArray(out, o + 2 * ld + 2 * l);
        c30.intoArray(out, o + 3 * ld);
        c31.intoArray(out, o + 3 * ld + l);
        c32.intoArray(out, o + 3 * ld + 2 * l);
        c40.intoArray(out, o + 4 * ld);
        c41.intoArray(out, o + 4 * ld + l);
        c42.intoArray(out, o + 4 * ld + 2 * l);
        c50.intoArray(out, o + 5 * ld);
        c51.intoArray(out, o + 5 * ld + l);
        c52.intoArray(out, o + 5 * ld + 2 * l);
        c60.intoArray(out, o + 6 * ld);
        c61.intoArray(out, o + 6 * ld + l);
        c62.intoArray(out, o + 6 * ld + 2 * l);
        c70.intoArray(out, o + 7 * ld);
        c71.intoArray(out, o + 7 * ld + l);
        c72.intoArray(out, o + 7 * ld + 2 * l);
    }

    /** The wide AVX-512 register tile: as {@link #kernel4x3} with 6 rows of 4 vectors of 16 floats. */
    private static void kernel6x4(float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc, float[] out, int o,
                                  int ld) {
        VectorSpecies<Float> s = S512;
        int l = s.length(), nr = 4 * l;
        int r1 = row(0, ai, m, 1), r2 = row(0, ai, m, 2), r3 = row(0, ai, m, 3), r4 = row(0, ai, m, 4),
                r5 = row(0, ai, m, 5);
        FloatVector z = FloatVector.zero(s);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z, c20 = z, c21 = z, c22 = z, c23 = z;
        FloatVector c30 = z, c31 = z, c32 = z, c33 = z, c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
        boolean unit = ai == 1 && m == 6;
        for (int p = 0; p < kc; p++) {
            int bp = b + p * nr, q = a + (ap == 1 ? p : p * ap);
            FloatVector b0 = FloatVector.fromArray(s, B, bp), b1 = FloatVector.fromArray(s, B, bp + l),
                    b2 = FloatVector.fromArray(s, B, bp + 2 * l), b3 = FloatVector.fromArray(s, B, bp + 3 * l);
            FloatVector x = FloatVector.broadcast(s, A[q]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(s, A[q + (unit ? 1 : r1)]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(s, A[q + (unit ? 2 : r2)]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(s, A[q + (unit ? 3 : r3)]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            c33 = x.fma(b3, c33);
            x = FloatVector.broadcast(s, A[q + (unit ? 4 : r4)]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            c42 = x.fma(b2, c42);
            c43 = x.fma(b3, c43);
            x = FloatVector.broadcast(s, A[q + (unit ? 5 : r5)]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            c52 = x.fma(b2, c52);
            c53 = x.fma(b3, c53);
        }
        c00.intoArray(out, o);
        c01.intoArray(out, o + l);
        c02.intoArray(out, o + 2 * l);
        c03.intoArray(out, o + 3 * l);
        c10.intoArray(out, o + ld);
        c11.intoArray(out, o + ld + l);
        c12.intoArray(out, o + ld + 2 * l);
        c13.intoArray(out, o + ld + 3 * l);
        c20.intoArray(out, o + 2 * ld);
        c21.intoArray(out, o + 2 * ld + l);
        c22.intoArray(out, o + 2 * ld + 2 * l);
        c23.intoArray(out, o + 2 * ld + 3 * l);
        c30.intoArray(out, o + 3 * ld);
        c31.intoArray(out, o + 3 * ld + l);
        c32.intoArray(out, o + 3 * ld + 2 * l);
        c33.intoArray(out, o + 3 * ld + 3 * l);
        c40.intoArray(out, o + 4 * ld);
        c41.intoArray(out, o + 4 * ld + l);
        c42.intoArray(out, o + 4 * ld + 2 * l);
        c43.intoArray(out, o + 4 * ld + 3 * l);
        c50.intoArray(out, o + 5 * ld);
        c51.intoArray(out, o + 5 * ld + l);
        c52.intoArray(out, o + 5 * ld + 2 * l);
        c53.intoArray(out, o + 5 * ld + 3 * l);
    }

    /**
     * The tile without vectors (-Dgns4j.scalar=true): tile (MR, NR) = Σ_p A[row i + p·ap] · B[b + p·NR + j], one fused
     * multiply-add per p as in the vector lanes, so the same bits.
     */
    private static void scalarKernel(Gemm.Tile tile, float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc,
                                     float[] out) {
        int mr = tile.mr, nr = tile.nr;
        Arrays.fill(out, 0, mr * nr, 0f);
        for (int p = 0; p < kc; p++)
            for (int i = 0; i < mr; i++) {
                float x = A[row(a, ai, m, i) + p * ap];
                for (int j = 0; j < nr; j++) out[i * nr + j] = Math.fma(x, B[b + p * nr + j], out[i * nr + j]);
            }
    }

    /** C[c + i·ldc + j] = tile[i·nr + j] (+ add[ao + i·ars + j]) for i < m, j < n: a tile held in scratch, stored. */
    private static void store(float[] tile, int nr, int m, int n, float[] C, int c, int ldc, float[] add, int ao, int ars) {
        VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
        for (int i = 0; i < m; i++) {
            int j = 0, t = i * nr, o = c + i * ldc, x = ao + i * ars;
            if (VectorMath.VECTOR)
                for (int bound = s.loopBound(n); j < bound; j += s.length()) {
                    FloatVector v = FloatVector.fromArray(s, tile, t + j);
                    (add == null ? v : v.add(FloatVector.fromArray(s, add, x + j))).intoArray(C, o + j);
                }
            for (; j < n; j++) C[o + j] = add != null ? tile[t + j] + add[x + j] : tile[t + j];
        }
    }
}
