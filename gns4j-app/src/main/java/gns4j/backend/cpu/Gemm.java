package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The one matrix product of the CPU backend: C (M,N) = A (M,P) · B (P,N), plus C itself, a bias row or nothing.
 * B is first packed into panels of NR columns ({@link Packed}: P rows of NR contiguous floats, zero padded past N),
 * so the micro-kernel streams it whatever B's layout was (a weight read transposed, a weight, activations) and needs
 * no column edge case. A is read in place through two strides, one scalar at a time, broadcast.
 *
 * <p>Micro-kernel: an MR × NR tile of C in MR·3 = 12 vector accumulators; with the 3 vectors of B and one broadcast
 * that is the 16 registers of AVX2 (7 loads per 12 FMAs, no horizontal sums). A 512-bit species widens NR to 48.
 *
 * <p>Summation order: every element of C is the sum over the KC-blocks of p in order, each block summed in one
 * register from zero before it is added to C. It depends only on P, never on how tiles are spread over threads.
 */
final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length(), MR = 4, NR = 3 * L;
    /** Reduction block: a KC × NR slice of a panel (24 KiB for AVX2) stays in L1 while MC rows of A pass over it. */
    static final int KC = 256;
    /** Rows and panels of one task at most: its MC × KC block of A (128 KiB) stays in L2 across the task's panels. */
    private static final int MC = 128, PANELS = 10;

    private Gemm() {}

    /** A matrix read through strides: element (i, j) = data[offset + i·rs + j·cs]. */
    record View(float[] data, int offset, int rs, int cs) {
        static View of(Mat m) { return new View(m.data(), m.offset(), m.cols(), 1); }

        /** mᵀ: element (i, j) = m[j, i]. */
        static View transposed(Mat m) { return new View(m.data(), m.offset(), 1, m.cols()); }
    }

    /**
     * B (P,N) packed: panel jp holds columns jp·NR.. as P rows of NR floats (zeros past N), element (p, j) at
     * data[offset + ((j / NR)·P + p)·NR + j mod NR]. Rows p0..p0+P' of it are B's rows p0.. for any slice of P.
     */
    record Packed(float[] data, int offset, int P, int N) {
        int panels() { return (N + NR - 1) / NR; }

        /** Index of row p of panel jp. */
        int at(int jp, int p) { return offset + (jp * P + p) * NR; }

        /** Columns jp0·NR .. jp0·NR + n (inside this one): the panels from jp0. */
        Packed columns(int jp0, int n) { return new Packed(data, at(jp0, 0), P, n); }
    }

    /** Floats a {@link Packed} (P,N) takes. */
    static int packedSize(int P, int N) { return Math.multiplyExact(P, (N + NR - 1) / NR * NR); }

    /** B (P,N) packed into dst from dstOff (at least {@link #packedSize} floats). */
    static Packed pack(Parallel par, View B, int P, int N, float[] dst, int dstOff) {
        Packed out = new Packed(dst, dstOff, P, N);
        float[] src = B.data();
        par.forEach(out.panels(), jp -> {
            int j0 = jp * NR, n = Math.min(NR, N - j0), o = out.at(jp, 0);
            if (B.cs() == 1) { // rows of B contiguous (a weight, activations): n floats a row
                for (int p = 0; p < P; p++) {
                    System.arraycopy(src, B.offset() + p * B.rs() + j0, dst, o + p * NR, n);
                    if (n < NR) Arrays.fill(dst, o + p * NR + n, o + (p + 1) * NR, 0f);
                }
                return;
            }
            // columns contiguous (a weight read transposed): read each column along p, write with stride NR
            for (int j = 0; j < NR; j++) {
                int s = B.offset() + (j0 + j) * B.cs();
                for (int p = 0; p < P; p++) dst[o + p * NR + j] = j < n ? src[s + p * B.rs()] : 0f;
            }
        });
        return out;
    }

    /**
     * What the product is added to before it is stored: element (i, j) = data[offset + i·rs + j]. C itself to
     * accumulate, a bias (rs = 0), or null for nothing.
     */
    record Addend(float[] data, int offset, int rs) {
        static Addend bias(Mat bias) { return bias == null ? null : new Addend(bias.data(), bias.offset(), 0); }
    }

    /**
     * C (M,N) = A (M,P) · rows p0..p0+P of B + add, C row-major from c with row stride ldc. Split over tiles of C
     * sized by the work: a few per thread, as large as {@link #MC} × {@link #PANELS} panels.
     */
    static void multiply(Parallel par, View A, Packed B, int p0, int M, int N, int P, float[] C, int c, int ldc, Addend add) {
        int panels = (N + NR - 1) / NR, mc = Math.min(MC, roundUp(M, MR)), np = Math.min(PANELS, panels);
        while (ceilDiv(M, mc) * ceilDiv(panels, np) < 4 * par.threads && (mc > MR || np > 1)) {
            if (np > 1 && (np * NR >= mc || mc == MR)) np = (np + 1) / 2;
            else mc = roundUp(mc / 2, MR);
        }
        int rowTiles = ceilDiv(M, mc), colTiles = ceilDiv(panels, np), tileRows = mc, tilePanels = np;
        par.forEach(rowTiles * colTiles, tile -> {
            int i0 = tile / colTiles * tileRows, jp0 = tile % colTiles * tilePanels;
            tile(A, B, p0, i0, Math.min(tileRows, M - i0), jp0, Math.min(jp0 + tilePanels, panels), N, P, C, c, ldc, add);
        });
    }

    /** {@link #multiply} on the calling thread. */
    static void serial(View A, Packed B, int p0, int M, int N, int P, float[] C, int c, int ldc, Addend add) {
        tile(A, B, p0, 0, M, 0, (N + NR - 1) / NR, N, P, C, c, ldc, add);
    }

    /** Rows i0..i0+m of C, panels jp0..jp1; blocked over p so each panel slice is reused from L1 by all m rows. */
    private static void tile(View A, Packed B, int p0, int i0, int m, int jp0, int jp1, int N, int P, float[] C, int c,
                             int ldc, Addend add) {
        float[] scratch = new float[MR * NR];
        for (int pc = 0; pc < P; pc += KC) {
            int kc = Math.min(KC, P - pc);
            // the first block adds the addend, later ones what the earlier blocks stored
            Addend first = pc == 0 ? add : new Addend(C, c, ldc);
            for (int jp = jp0; jp < jp1; jp++) {
                int j = jp * NR, n = Math.min(NR, N - j), b = B.at(jp, p0 + pc);
                for (int i = i0; i < i0 + m; i += MR) {
                    int a = A.offset() + i * A.rs() + pc * A.cs();
                    kernel(A.data(), a, A.rs(), A.cs(), Math.min(MR, i0 + m - i), B.data(), b, kc, C, c + i * ldc + j, ldc,
                            n, first == null ? null : first.data(), first == null ? 0 : first.offset() + i * first.rs() + j,
                            first == null ? 0 : first.rs(), scratch);
                }
            }
        }
    }

    /**
     * C[c + i·ldc + j] = Σ_{p<kc} A[a + i·ai + p·ap] · B[b + p·NR + j] (+ add[ao + i·ars + j]) for i < m ≤ MR, j < n ≤ NR.
     * Rows past m repeat row 0 (never read outside A) and are not stored; scratch holds a partial tile (MR·NR).
     */
    private static void kernel(float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc, float[] C, int c,
                               int ldc, int n, float[] add, int ao, int ars, float[] scratch) {
        int a1 = a + (m > 1 ? ai : 0), a2 = a + (m > 2 ? 2 * ai : 0), a3 = a + (m > 3 ? 3 * ai : 0);
        boolean full = m == MR && n == NR;
        if (!VectorMath.VECTOR) scalarKernel(A, new int[]{a, a1, a2, a3}, ap, B, b, kc, scratch);
        else if (full) vectorKernel(A, a, a1, a2, a3, ap, B, b, kc, C, c, ldc, add, ao, ars);
        else vectorKernel(A, a, a1, a2, a3, ap, B, b, kc, scratch, 0, NR, null, 0, 0);
        if (!full || !VectorMath.VECTOR) storePartial(scratch, m, n, C, c, ldc, add, ao, ars);
    }

    /** The register tile: out[o + i·ld + j] = Σ_p A[a_i + p·ap] · B[b + p·NR + j] (+ add[ao + i·ars + j]). */
    private static void vectorKernel(float[] A, int a0, int a1, int a2, int a3, int ap, float[] B, int b, int kc,
                                     float[] out, int o, int ld, float[] add, int ao, int ars) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
        for (int p = 0; p < kc; p++) {
            int bp = b + p * NR, pa = p * ap;
            FloatVector b0 = FloatVector.fromArray(S, B, bp), b1 = FloatVector.fromArray(S, B, bp + L),
                    b2 = FloatVector.fromArray(S, B, bp + 2 * L);
            FloatVector x = FloatVector.broadcast(S, A[a0 + pa]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            x = FloatVector.broadcast(S, A[a1 + pa]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            x = FloatVector.broadcast(S, A[a2 + pa]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            x = FloatVector.broadcast(S, A[a3 + pa]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
        }
        store(c00, out, o, add, ao);
        store(c01, out, o + L, add, ao + L);
        store(c02, out, o + 2 * L, add, ao + 2 * L);
        store(c10, out, o + ld, add, ao + ars);
        store(c11, out, o + ld + L, add, ao + ars + L);
        store(c12, out, o + ld + 2 * L, add, ao + ars + 2 * L);
        store(c20, out, o + 2 * ld, add, ao + 2 * ars);
        store(c21, out, o + 2 * ld + L, add, ao + 2 * ars + L);
        store(c22, out, o + 2 * ld + 2 * L, add, ao + 2 * ars + 2 * L);
        store(c30, out, o + 3 * ld, add, ao + 3 * ars);
        store(c31, out, o + 3 * ld + L, add, ao + 3 * ars + L);
        store(c32, out, o + 3 * ld + 2 * L, add, ao + 3 * ars + 2 * L);
    }

    /** The tile without vectors (-Dgns4j.scalar=true): tile (MR, NR) = Σ_p A[rows[i] + p·ap] · B[b + p·NR + j]. */
    private static void scalarKernel(float[] A, int[] rows, int ap, float[] B, int b, int kc, float[] tile) {
        Arrays.fill(tile, 0f);
        for (int p = 0; p < kc; p++)
            for (int i = 0; i < MR; i++) {
                float x = A[rows[i] + p * ap];
                for (int j = 0; j < NR; j++) tile[i * NR + j] += x * B[b + p * NR + j];
            }
    }

    private static void store(FloatVector v, float[] C, int c, float[] add, int ao) {
        (add != null ? v.add(FloatVector.fromArray(S, add, ao)) : v).intoArray(C, c);
    }

    /** The m × n corner of a tile held in scratch (MR, NR), stored as {@link #store} would, lane by lane. */
    private static void storePartial(float[] scratch, int m, int n, float[] C, int c, int ldc, float[] add, int ao, int ars) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float v = scratch[i * NR + j];
                C[c + i * ldc + j] = add != null ? v + add[ao + i * ars + j] : v;
            }
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static int roundUp(int a, int b) { return ceilDiv(a, b) * b; }
}
