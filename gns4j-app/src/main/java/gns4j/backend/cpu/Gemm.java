package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The one matrix product of the CPU backend: C (M,N) = A (M,P) · B (P,N), plus C itself, a bias row or nothing, then
 * optionally an {@link Epilogue} on each finished block of C. B is first packed into panels of NR columns
 * ({@link Packed}: P rows of NR contiguous floats, zero padded past N), so the micro-kernel streams it whatever B's
 * layout was (a weight read transposed, a weight, activations) and needs no column edge case. A is read in place
 * through two strides, one scalar at a time, broadcast.
 *
 * <p>Micro-kernel: an MR × NR tile of C held in vector accumulators ({@link Tile}): 4 × 3 vectors of 256 bits on AVX2
 * (16 registers), 8 × 3 vectors of 512 bits on AVX-512 (32 registers), chosen from the CPU's preferred species; on
 * AVX-512 each product may take the 6 × 4 tile instead where its 64-wide panels pad N less ({@link #tileFor}).
 *
 * <p>Summation order: every element of C is the sum over the KC-blocks of p in order, each block summed from zero by
 * one fused multiply-add per p before it is added to C. It depends only on P, never on how tiles are spread over
 * threads, nor on the tile: both kernels and the scalar one give the same bits.
 */
final class Gemm {
    private static final VectorSpecies<Float> S256 = Tile.narrowSpecies(), S512 = FloatVector.SPECIES_512;

    /** The register tile: MR rows × NR = 3 vectors. */
    enum Tile {
        /** 4 × 3 vectors of 256 bits (or the preferred width where narrower): 12 accumulators, 3 of B and a broadcast. */
        AVX2(4, 3 * narrowSpecies().length()),
        /** 8 × 3 vectors of 512 bits: 24 accumulators + 4 of the 32 registers, 11 loads per 24 FMAs (AVX2: 7 per 12). */
        AVX512(8, 48),
        /**
         * 6 × 4 vectors of 512 bits: 24 accumulators + 5 registers, 10 loads per 24 FMAs. Picked per product where its
         * 64-wide panels pad less than 48-wide ones ({@link #tileFor}): N = 256 pads to 288 columns on the 8 × 3 tile.
         */
        AVX512_WIDE(6, 64);

        final int mr, nr;

        Tile(int mr, int nr) {
            this.mr = mr;
            this.nr = nr;
        }

        /**
         * 256-bit lanes, or the preferred species where that is narrower. Here rather than in Gemm: AVX2's width must not
         * start Gemm's initialisation, which reads Tile's constants (Tile loaded first would leave Gemm.TILE null).
         */
        static VectorSpecies<Float> narrowSpecies() {
            return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256 ? FloatVector.SPECIES_256 : FloatVector.SPECIES_PREFERRED;
        }
    }

    /**
     * The tile of this JVM: {@code -Dgns4j.gemm=avx2|avx512} picks one (to compare them); by default AVX512 where the
     * preferred species has 512 bits, else AVX2.
     */
    static final Tile TILE = switch (System.getProperty("gns4j.gemm", "auto")) {
        case "avx2" -> Tile.AVX2;
        case "avx512" -> Tile.AVX512;
        case "auto" -> FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? Tile.AVX512 : Tile.AVX2;
        default -> throw new IllegalArgumentException("-Dgns4j.gemm must be avx2, avx512 or auto, got "
                + System.getProperty("gns4j.gemm"));
    };
    /** Panel width of {@link #TILE}. */
    static final int NR = TILE.nr;
    /** Reduction block: a KC × NR slice of a panel (48 KiB for AVX-512) stays in L1/L2 while MC rows of A pass over it. */
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
     * B (P,N) packed for tile's kernel: panel jp holds columns jp·NR.. as P rows of NR floats (zeros past N), element
     * (p, j) at data[offset + ((j / NR)·P + p)·NR + j mod NR]. Rows p0..p0+P' of it are B's rows p0.. for any slice of P.
     */
    record Packed(float[] data, int offset, int P, int N, Tile tile) {
        int nr() { return tile.nr; }

        int panels() { return (N + nr() - 1) / nr(); }

        /** Index of row p of panel jp. */
        int at(int jp, int p) { return offset + (jp * P + p) * nr(); }

        /** Columns jp0·NR .. jp0·NR + n (inside this one): the panels from jp0. */
        Packed columns(int jp0, int n) { return new Packed(data, at(jp0, 0), P, n, tile); }
    }

    /**
     * The tile for an M × N product: {@link #TILE}, or on AVX-512 the 6 × 64 one where it computes fewer elements
     * (M rounded up to MR times N rounded up to NR). At N 256 (C 256, its projections and the head's input gradient)
     * or N 64 (a head of attention) the 48-wide panels pad N by 12.5% or 50%; at N 384 or 768 they pad nothing and
     * the 8-row tile wastes no rows. The bits are the same whichever runs.
     */
    static Tile tileFor(int M, int N) {
        if (TILE != Tile.AVX512) return TILE;
        Tile wide = Tile.AVX512_WIDE;
        long narrowWork = (long) roundUp(M, TILE.mr) * roundUp(N, TILE.nr), wideWork = (long) roundUp(M, wide.mr) * roundUp(N, wide.nr);
        return wideWork < narrowWork ? wide : TILE;
    }

    /** Floats a {@link Packed} (P,N) takes, whichever tile {@link #tileFor} picks. */
    static int packedSize(int P, int N) {
        int width = TILE == Tile.AVX512 ? Math.max(roundUp(N, NR), roundUp(N, Tile.AVX512_WIDE.nr)) : roundUp(N, NR);
        return Math.multiplyExact(P, width);
    }

    /** B (P,N) packed into dst from dstOff (at least {@link #packedSize} floats) for products of M rows ({@link #tileFor}). */
    static Packed pack(Parallel par, int M, View B, int P, int N, float[] dst, int dstOff) {
        return pack(par, tileFor(M, N), B, P, N, dst, dstOff);
    }

    /** B (P,N) packed for tile (at most {@link #packedSize} floats). */
    static Packed pack(Parallel par, Tile tile, View B, int P, int N, float[] dst, int dstOff) {
        Packed out = new Packed(dst, dstOff, P, N, tile);
        int nr = tile.nr;
        float[] src = B.data();
        par.forEach(out.panels(), jp -> {
            int j0 = jp * nr, n = Math.min(nr, N - j0), o = out.at(jp, 0);
            if (B.cs() == 1) { // rows of B contiguous (a weight, activations): n floats a row
                for (int p = 0; p < P; p++) {
                    System.arraycopy(src, B.offset() + p * B.rs() + j0, dst, o + p * nr, n);
                    if (n < nr) Arrays.fill(dst, o + p * nr + n, o + (p + 1) * nr, 0f);
                }
                return;
            }
            // columns contiguous (a weight read transposed): read each column along p, write with stride NR
            for (int j = 0; j < nr; j++) {
                int s = B.offset() + (j0 + j) * B.cs();
                for (int p = 0; p < P; p++) dst[o + p * nr + j] = j < n ? src[s + p * B.rs()] : 0f;
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
     * Work on a finished m × n block of C (rows i.., columns j.. of the product, at C[c..] with row stride ldc), done
     * by the thread that stored it right after its last KC block, while it is in L1: a pointwise op fused into the
     * product. It must treat each element alone, so the result does not depend on the tile.
     */
    interface Epilogue {
        void apply(float[] C, int c, int ldc, int i, int j, int m, int n);
    }

    /**
     * C (M,N) = A (M,P) · rows p0..p0+P of B + add, C row-major from c with row stride ldc, then after (or null) on
     * every finished block. Split over tiles of C sized by the work: a few per thread, at most {@link #MC} rows ×
     * {@link #PANELS} panels.
     */
    static void multiply(Parallel par, View A, Packed B, int p0, int M, int N, int P, float[] C, int c, int ldc, Addend add,
                         Epilogue after) {
        int mr = B.tile().mr, nr = B.nr(), panels = (N + nr - 1) / nr;
        int mc = Math.min(MC / mr * mr, roundUp(M, mr)), np = Math.min(PANELS, panels);
        while (ceilDiv(M, mc) * ceilDiv(panels, np) < 4 * par.threads && (mc > mr || np > 1)) {
            if (np > 1 && (np * nr >= mc || mc == mr)) np = (np + 1) / 2;
            else mc = roundUp(mc / 2, mr);
        }
        int rowTiles = ceilDiv(M, mc), colTiles = ceilDiv(panels, np), tileRows = mc, tilePanels = np;
        par.forEach(rowTiles * colTiles, tile -> {
            int i0 = tile / colTiles * tileRows, jp0 = tile % colTiles * tilePanels;
            tile(A, B, p0, i0, Math.min(tileRows, M - i0), jp0, Math.min(jp0 + tilePanels, panels), N, P, C, c, ldc, add, after);
        });
    }

    /** {@link #multiply} on the calling thread, without an epilogue. */
    static void serial(View A, Packed B, int p0, int M, int N, int P, float[] C, int c, int ldc, Addend add) {
        tile(A, B, p0, 0, M, 0, ceilDiv(N, B.nr()), N, P, C, c, ldc, add, null);
    }

    /** Rows i0..i0+m of C, panels jp0..jp1; blocked over p so each panel slice is reused from L1 by all m rows. */
    private static void tile(View A, Packed B, int p0, int i0, int m, int jp0, int jp1, int N, int P, float[] C, int c,
                             int ldc, Addend add, Epilogue after) {
        Tile tile = B.tile();
        int mr = tile.mr, nr = tile.nr;
        float[] scratch = new float[mr * nr];
        for (int pc = 0; pc < P; pc += KC) {
            int kc = Math.min(KC, P - pc);
            boolean last = pc + kc >= P;
            // the first block adds the addend, later ones what the earlier blocks stored
            Addend first = pc == 0 ? add : new Addend(C, c, ldc);
            for (int jp = jp0; jp < jp1; jp++) {
                int j = jp * nr, n = Math.min(nr, N - j), b = B.at(jp, p0 + pc);
                for (int i = i0; i < i0 + m; i += mr) {
                    int a = A.offset() + i * A.rs() + pc * A.cs(), rows = Math.min(mr, i0 + m - i), o = c + i * ldc + j;
                    kernel(tile, A.data(), a, A.rs(), A.cs(), rows, B.data(), b, kc, C, o, ldc, n,
                            first == null ? null : first.data(), first == null ? 0 : first.offset() + i * first.rs() + j,
                            first == null ? 0 : first.rs(), scratch);
                    if (last && after != null) after.apply(C, o, ldc, i, j, rows, n);
                }
            }
        }
    }

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
    private static void kernel(Tile tile, float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc, float[] C,
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
    private static void scalarKernel(Tile tile, float[] A, int a, int ai, int ap, int m, float[] B, int b, int kc,
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

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static int roundUp(int a, int b) { return ceilDiv(a, b) * b; }
}
