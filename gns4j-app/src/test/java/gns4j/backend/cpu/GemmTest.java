package gns4j.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The packed product against a plain triple loop, at sizes that hit full tiles, row and panel edges and K blocks. */
class GemmTest {
    @ParameterizedTest(name = "{3} M={0} N={1} P={2}")
    @CsvSource({"1, 1, 1, AVX2", "4, 48, 8, AVX2", "7, 13, 37, AVX2", "16, 130, 64, AVX2", "33, 65, 129, AVX2",
            "5, 97, 700, AVX2", "130, 250, 300, AVX2", "1, 1, 1, AVX512", "8, 48, 8, AVX512", "7, 13, 37, AVX512",
            "17, 130, 64, AVX512", "33, 65, 129, AVX512", "5, 97, 700, AVX512", "130, 250, 300, AVX512", "1, 1, 1, AVX512_WIDE",
            "6, 64, 8, AVX512_WIDE", "7, 13, 37, AVX512_WIDE", "17, 130, 64, AVX512_WIDE", "33, 65, 129, AVX512_WIDE",
            "5, 97, 700, AVX512_WIDE", "130, 250, 300, AVX512_WIDE"})
    void stridedProductMatchesNaive(int M, int N, int P, Gemm.Tile tile) {
        SplittableRandom rng = new SplittableRandom(M * 1000L + N * 10L + P);
        // A read transposed (as the weight gradient reads dout) and B as a weight read transposed (as forward does),
        // both with padding; every way of adding.
        int ap = M + 2, bn = P + 3, ldc = N + 1, p0 = 2;
        float[] a = random(rng, 2 + P * ap), b = random(rng, 3 + N * bn), c = random(rng, ldc * M), bias = random(rng, N);
        Gemm.View A = new Gemm.View(a, 2, 1, ap), B = new Gemm.View(b, 3, 1, bn);
        float[] packed = new float[Gemm.packedSize(P + p0, N)];
        for (int mode = 0; mode < 3; mode++) {
            float[] out = c.clone();
            Gemm.Addend add = switch (mode) {
                case 0 -> null;
                case 1 -> new Gemm.Addend(out, 0, ldc);
                default -> new Gemm.Addend(bias, 0, 0);
            };
            try (Parallel par = new Parallel(2)) {
                // rows p0.. of a packed B whose first p0 rows are something else, as a per-example slice is
                Gemm.Packed all = Gemm.pack(par, tile, new Gemm.View(b, 3 - p0, 1, bn), P + p0, N, packed, 0);
                Gemm.multiply(par, A, all, p0, M, N, P, out, 0, ldc, add, null);
            }
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = mode == 1 ? c[i * ldc + j] : mode == 2 ? bias[j] : 0;
                    for (int p = 0; p < P; p++) s += (double) a[2 + i + p * ap] * b[3 + p + j * bn];
                    assertEquals(s, out[i * ldc + j], 1e-4 * Math.sqrt(P), "mode " + mode + " C[" + i + "," + j + "]");
                }
        }
    }

    @ParameterizedTest(name = "M={0} N={1} P={2}")
    @CsvSource({"33, 65, 129", "300, 200, 520"})
    void sameBitsWhateverTheThreadCount(int M, int N, int P) {
        SplittableRandom rng = new SplittableRandom(7);
        float[] a = random(rng, M * P), b = random(rng, P * N), packed = new float[Gemm.packedSize(P, N)];
        float[] one = null;
        for (int threads : new int[]{1, 2, 3, 8}) {
            float[] out = new float[M * N];
            try (Parallel par = new Parallel(threads)) {
                Gemm.Packed B = Gemm.pack(par, M, new Gemm.View(b, 0, N, 1), P, N, packed, 0);
                Gemm.multiply(par, new Gemm.View(a, 0, P, 1), B, 0, M, N, P, out, 0, N, null, null);
            }
            if (one == null) one = out;
            else assertArrayEquals(one, out, threads + " threads");
        }
    }

    /**
     * Every register tile gives the bits of one scalar order: per KC-block of p a sum of fused multiply-adds from zero,
     * the first block's plus the addend, each later one's plus what is stored. A is read row-major (stride 1 along p) and
     * transposed (stride 1 along rows): the kernels take a separate loop version for each.
     */
    @ParameterizedTest(name = "M={0} N={1} P={2}")
    @CsvSource({"9, 50, 7", "33, 97, 600", "130, 250, 300"})
    void everyTileGivesTheBitsOfTheFixedScalarOrder(int M, int N, int P) {
        SplittableRandom rng = new SplittableRandom(11);
        float[] a = random(rng, M * P), b = random(rng, P * N), bias = random(rng, N), packed = new float[Gemm.packedSize(P, N)];
        float[] expected = new float[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float c = 0f;
                for (int pc = 0; pc < P; pc += Gemm.KC) {
                    float block = 0f;
                    for (int p = pc; p < Math.min(P, pc + Gemm.KC); p++) block = Math.fma(a[i * P + p], b[p * N + j], block);
                    c = pc == 0 ? block + bias[j] : block + c;
                }
                expected[i * N + j] = c;
            }
        float[] aT = new float[P * M];
        for (int i = 0; i < M; i++)
            for (int p = 0; p < P; p++) aT[p * M + i] = a[i * P + p];
        for (Gemm.Tile tile : Gemm.Tile.values())
            for (Gemm.View A : new Gemm.View[]{new Gemm.View(a, 0, P, 1), new Gemm.View(aT, 0, 1, M)}) {
                float[] out = new float[M * N];
                try (Parallel par = new Parallel(2)) {
                    Gemm.Packed B = Gemm.pack(par, tile, new Gemm.View(b, 0, N, 1), P, N, packed, 0);
                    Gemm.multiply(par, A, B, 0, M, N, P, out, 0, N, new Gemm.Addend(bias, 0, 0), null);
                }
                assertArrayEquals(expected, out, tile.name() + (A.cs() == 1 ? " A row-major" : " A transposed"));
            }
    }

    /** GELU fused into the product's store gives the bits of GELU applied to the stored product afterwards. */
    @ParameterizedTest
    @EnumSource(Gemm.Tile.class)
    void fusedGeluGivesTheBitsOfGeluAfterwards(Gemm.Tile tile) {
        int M = 37, N = 4 * 29, P = 300;
        SplittableRandom rng = new SplittableRandom(5);
        float[] a = random(rng, M * P), b = random(rng, P * N), packed = new float[Gemm.packedSize(P, N)];
        float[] pre = new float[M * N], act = new float[M * N], dx = new float[M * N];
        try (Parallel par = new Parallel(3)) {
            Gemm.Packed B = Gemm.pack(par, tile, new Gemm.View(b, 0, N, 1), P, N, packed, 0);
            Gemm.multiply(par, new Gemm.View(a, 0, P, 1), B, 0, M, N, P, pre, 0, N, null, CpuKernels.gelu(Mat.of(act, M, N)));
            // backward: the product taken as dy's rows, each block then multiplied by gelu'(pre)
            Gemm.multiply(par, new Gemm.View(a, 0, P, 1), B, 0, M, N, P, dx, 0, N, null, CpuKernels.geluBackward(Mat.of(pre, M, N)));
        }
        float[] expectedAct = new float[M * N], expectedDx = new float[M * N];
        VectorMath.gelu(pre, 0, expectedAct, 0, M * N);
        float[] product = new float[M * N];
        try (Parallel par = new Parallel(1)) {
            Gemm.Packed B = Gemm.pack(par, tile, new Gemm.View(b, 0, N, 1), P, N, packed, 0);
            Gemm.multiply(par, new Gemm.View(a, 0, P, 1), B, 0, M, N, P, product, 0, N, null, null);
        }
        VectorMath.geluBackward(pre, 0, product, 0, expectedDx, 0, M * N);
        assertArrayEquals(expectedAct, act);
        assertArrayEquals(expectedDx, dx);
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
