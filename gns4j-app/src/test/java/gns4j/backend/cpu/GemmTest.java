package gns4j.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The tiled kernel against a plain triple loop, at sizes that hit full tiles, edges, vector tails and K blocks. */
class GemmTest {
    @ParameterizedTest(name = "M={0} N={1} P={2}")
    @CsvSource({"1, 1, 1", "4, 48, 8", "7, 13, 37", "16, 130, 64", "33, 65, 129", "5, 97, 700"})
    void stridedProductMatchesNaive(int M, int N, int P) {
        SplittableRandom rng = new SplittableRandom(M * 1000L + N * 10L + P);
        // A read transposed (ai = 1, ap = M + 2) and B with padded rows, as the weight-gradient call does.
        int ai = 1, ap = M + 2, bs = N + 3, ldc = N + 1;
        float[] a = new float[2 + P * ap], b = new float[3 + P * bs], c = new float[ldc * M];
        for (float[] arr : new float[][]{a, b, c}) for (int i = 0; i < arr.length; i++) arr[i] = (float) rng.nextGaussian();
        float[] before = c.clone();
        try (Parallel par = new Parallel(2)) {
            Gemm.parallel(par, a, 2, ai, ap, b, 3, bs, M, N, P, c, 0, ldc, true);
        }
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = before[i * ldc + j];
                for (int p = 0; p < P; p++) s += (double) a[2 + i * ai + p * ap] * b[3 + p * bs + j];
                assertEquals(s, c[i * ldc + j], 1e-4 * Math.sqrt(P), "C[" + i + "," + j + "]");
            }
    }

    @ParameterizedTest(name = "transpose {0}x{1}")
    @CsvSource({"1, 1", "7, 33", "64, 40"})
    void transposeMovesEveryElement(int rows, int cols) {
        float[] src = new float[3 + rows * cols], dst = new float[rows * cols];
        for (int i = 0; i < src.length; i++) src[i] = i;
        try (Parallel par = new Parallel(2)) {
            Gemm.transpose(par, dst, src, 3, rows, cols);
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) assertEquals(src[3 + r * cols + c], dst[c * rows + r]);
    }
}
