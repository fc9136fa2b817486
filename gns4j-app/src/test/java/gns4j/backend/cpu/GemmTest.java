package gns4j.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The packed product against a plain triple loop, at sizes that hit full tiles, row and panel edges and K blocks. */
class GemmTest {
    @ParameterizedTest(name = "M={0} N={1} P={2}")
    @CsvSource({"1, 1, 1", "4, 48, 8", "7, 13, 37", "16, 130, 64", "33, 65, 129", "5, 97, 700", "130, 250, 300"})
    void stridedProductMatchesNaive(int M, int N, int P) {
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
                Gemm.Packed all = Gemm.pack(par, new Gemm.View(b, 3 - p0, 1, bn), P + p0, N, packed, 0);
                Gemm.multiply(par, A, all, p0, M, N, P, out, 0, ldc, add);
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
                Gemm.Packed B = Gemm.pack(par, new Gemm.View(b, 0, N, 1), P, N, packed, 0);
                Gemm.multiply(par, new Gemm.View(a, 0, P, 1), B, 0, M, N, P, out, 0, N, null);
            }
            if (one == null) one = out;
            else assertArrayEquals(one, out, threads + " threads");
        }
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
