package gns4j.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The tiled kernel against a plain triple loop, at sizes that hit full tiles, edges and vector tails. */
class GemmTest {
    @ParameterizedTest(name = "M={0} N={1} K={2}")
    @CsvSource({"1, 1, 1", "2, 4, 8", "7, 13, 37", "16, 130, 64", "33, 65, 129", "3, 5, 2500"})
    void abtMatchesNaive(int M, int N, int K) {
        SplittableRandom rng = new SplittableRandom(M * 1000L + N * 10L + K);
        float[] a = new float[3 + M * K], b = new float[5 + N * K], bias = new float[2 + N], out = new float[M * N];
        for (float[] arr : new float[][]{a, b, bias}) for (int i = 0; i < arr.length; i++) arr[i] = (float) rng.nextGaussian();
        try (Parallel par = new Parallel(2)) {
            Gemm.abt(par, out, a, 3, b, 5, bias, 2, M, N, K);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    double s = bias[2 + n];
                    for (int k = 0; k < K; k++) s += (double) a[3 + m * K + k] * b[5 + n * K + k];
                    assertEquals(s, out[m * N + n], 1e-4 * Math.sqrt(K), "out[" + m + "," + n + "]");
                }
            float[] t = new float[M * K];
            Gemm.transpose(par, t, a, 3, M, K);
            for (int m = 0; m < M; m++)
                for (int k = 0; k < K; k++) assertEquals(a[3 + m * K + k], t[k * M + m]);
        }
    }
}
