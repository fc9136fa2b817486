package gns4j.backend.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Blocked attention forward and backward against causal softmax attention written out in double, at sequence lengths
 * of one, several and a partial block of queries; and the same bits for any thread count.
 */
class AttentionKernelsTest {
    @ParameterizedTest(name = "T={0} NH={1} hs={2}")
    @CsvSource({"5, 2, 8", "64, 1, 16", "150, 2, 8", "130, 3, 20"})
    void matchesTheDoubleFormula(int T, int NH, int hs) {
        int B = 2, C = NH * hs, R = B * T;
        SplittableRandom rng = new SplittableRandom(T * 31L + hs);
        float[] qkv = random(rng, R * 3 * C), dout = random(rng, R * C);
        float[] out = new float[R * C], lse = new float[B * NH * T], dqkv = new float[R * 3 * C];
        try (Parallel par = new Parallel(2)) {
            AttentionKernels.forward(par, Mat.of(out, R, C), lse, Mat.of(qkv, R, 3 * C), B, NH);
            AttentionKernels.backward(par, Mat.of(dqkv, R, 3 * C), Mat.of(dout, R, C), Mat.of(qkv, R, 3 * C), lse, B, NH);
        }
        double scale = 1 / Math.sqrt(hs);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                double[] dq = new double[T * hs], dk = new double[T * hs], dv = new double[T * hs];
                for (int t = 0; t < T; t++) {
                    double[] p = new double[t + 1], dp = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0, pdp = 0;
                    for (int u = 0; u <= t; u++) {
                        p[u] = scale * dot(qkv, row(b, t, C, T) + h * hs, qkv, row(b, u, C, T) + C + h * hs, hs);
                        max = Math.max(max, p[u]);
                    }
                    for (int u = 0; u <= t; u++) sum += p[u] = Math.exp(p[u] - max);
                    assertEquals(max + Math.log(sum), lse[(b * NH + h) * T + t], 1e-5 * (1 + Math.abs(max)), "lse");
                    for (int d = 0; d < hs; d++) {
                        double o = 0;
                        for (int u = 0; u <= t; u++) o += p[u] / sum * qkv[row(b, u, C, T) + 2 * C + h * hs + d];
                        assertEquals(o, out[(b * T + t) * C + h * hs + d], 1e-5, "out");
                    }
                    int d0 = (b * T + t) * C + h * hs;
                    for (int u = 0; u <= t; u++) {
                        p[u] /= sum;
                        dp[u] = dot(dout, d0, qkv, row(b, u, C, T) + 2 * C + h * hs, hs);
                        pdp += p[u] * dp[u];
                        for (int d = 0; d < hs; d++) dv[u * hs + d] += p[u] * dout[d0 + d];
                    }
                    for (int u = 0; u <= t; u++) {
                        double ds = p[u] * (dp[u] - pdp) * scale;
                        for (int d = 0; d < hs; d++) {
                            dq[t * hs + d] += ds * qkv[row(b, u, C, T) + C + h * hs + d];
                            dk[u * hs + d] += ds * qkv[row(b, t, C, T) + h * hs + d];
                        }
                    }
                }
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < hs; d++) {
                        int o = row(b, t, C, T) + h * hs + d;
                        assertEquals(dq[t * hs + d], dqkv[o], 1e-4, "dq");
                        assertEquals(dk[t * hs + d], dqkv[o + C], 1e-4, "dk");
                        assertEquals(dv[t * hs + d], dqkv[o + 2 * C], 1e-4, "dv");
                    }
            }
    }

    @Test
    void sameBitsWhateverTheThreadCount() {
        int T = 150, B = 3, NH = 2, hs = 8, C = NH * hs, R = B * T;
        SplittableRandom rng = new SplittableRandom(3);
        float[] qkv = random(rng, R * 3 * C), dout = random(rng, R * C);
        float[] first = null;
        for (int threads : new int[]{1, 2, 5}) {
            float[] out = new float[R * C], lse = new float[B * NH * T], dqkv = new float[R * 3 * C];
            try (Parallel par = new Parallel(threads)) {
                AttentionKernels.forward(par, Mat.of(out, R, C), lse, Mat.of(qkv, R, 3 * C), B, NH);
                AttentionKernels.backward(par, Mat.of(dqkv, R, 3 * C), Mat.of(dout, R, C), Mat.of(qkv, R, 3 * C), lse, B, NH);
            }
            float[] all = new float[out.length + dqkv.length];
            System.arraycopy(out, 0, all, 0, out.length);
            System.arraycopy(dqkv, 0, all, out.length, dqkv.length);
            if (first == null) first = all;
            else assertArrayEquals(first, all, threads + " threads");
        }
    }

    private static int row(int b, int t, int C, int T) { return (b * T + t) * 3 * C; }

    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[ao + i] * b[bo + i];
        return s;
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
