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
 * <p>Micro-kernel ({@link MicroKernels}): an MR × NR tile of C held in vector accumulators ({@link Tile}): 4 × 3
 * vectors of 256 bits on AVX2 (16 registers), 8 × 3 vectors of 512 bits on AVX-512 (32 registers), chosen from the
 * CPU's preferred species; on AVX-512 each product may take the 6 × 4 tile instead where its 64-wide panels pad N less
 * ({@link #tileFor}).
 *
 * <p>Summation order: every element of C is the sum over the KC-blocks of p in order, each block summed from zero by
 * one fused multiply-add per p before it is added to C. It depends only on P, never on how tiles are spread over
 * threads, nor on the tile: both kernels and the scalar one give the same bits.
 */
final class Gemm {

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
                    MicroKernels.run(tile, A.data(), a, A.rs(), A.cs(), rows, B.data(), b, kc, C, o, ldc, n,
                            first == null ? null : first.data(), first == null ? 0 : first.offset() + i * first.rs() + j,
                            first == null ? 0 : first.rs(), scratch);
                    if (last && after != null) after.apply(C, o, ldc, i, j, rows, n);
                }
            }
        }
    }


    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    private static int roundUp(int a, int b) { return ceilDiv(a, b) * b; }
}
