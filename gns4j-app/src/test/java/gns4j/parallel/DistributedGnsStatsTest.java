package gns4j.parallel;

import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsEstimator.Estimate;
import gns4j.gns.GnsTracker;
import gns4j.model.GnsGrouping;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class DistributedGnsStatsTest {
    static final ParameterLayout LAYOUT = new ParameterLayout(new ModelConfig(1, 2, 8, 6, 11, true, NormType.LAYERNORM, false));
    static final List<ParamTensor> T = LAYOUT.tensors;

    /** Per-example gradients with a shared signal, per-tensor scales and noise. */
    static double[][] examples(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] signal = new double[LAYOUT.totalSize];
        for (int i = 0; i < signal.length; i++) signal[i] = 0.3 * rng.nextGaussian();
        double[][] g = new double[n][LAYOUT.totalSize];
        for (int b = 0; b < n; b++)
            for (ParamTensor t : T)
                for (int i = t.offset(); i < t.offset() + t.size(); i++) g[b][i] = signal[i] + (1 + t.index() % 3) * rng.nextGaussian();
        return g;
    }

    /** |G_t|² per tensor of a flat gradient, accumulated in double. */
    static double[] gradSqPerTensor(float[] grad) {
        double[] out = new double[T.size()];
        for (ParamTensor t : T)
            for (int i = t.offset(); i < t.offset() + t.size(); i++) out[t.index()] += (double) grad[i] * grad[i];
        return out;
    }

    static double[] gradSqPerTensor(double[] grad) {
        double[] out = new double[T.size()];
        for (ParamTensor t : T)
            for (int i = t.offset(); i < t.offset() + t.size(); i++) out[t.index()] += grad[i] * grad[i];
        return out;
    }

    static double[] sqSum(double[][] g, int from, int to) {
        double[] out = new double[T.size()];
        for (int b = from; b < to; b++) {
            double[] sq = gradSqPerTensor(g[b]);
            for (int t = 0; t < out.length; t++) out[t] += sq[t];
        }
        return out;
    }

    static double[] mean(double[][] g, int from, int to) {
        double[] out = new double[LAYOUT.totalSize];
        for (int b = from; b < to; b++) for (int i = 0; i < out.length; i++) out[i] += g[b][i];
        for (int i = 0; i < out.length; i++) out[i] /= (to - from);
        return out;
    }

    /**
     * One rank's step as the trainer makes it: the sums, then this rank's mean gradient {@code grad} (replaced by the
     * global one) scaled by n_r/N, as backward's 1/N scales it, and summed; |G_B|² from that.
     */
    static DistributedGnsStats.Result reduce(Communicator c, double[] localSqSum, int n, double[] grad) {
        var sums = DistributedGnsStats.reduceSums(c, localSqSum, n, gradSqPerTensor(grad), new double[0]);
        for (int i = 0; i < grad.length; i++) grad[i] *= (double) n / sums.examples();
        c.allReduceSum(grad);
        return sums.result(gradSqPerTensor(grad));
    }

    @Test
    void fourRanksOfTwoGiveTheGnsInputsOfOneRankOfEight() {
        double[][] g = examples(8, 11);
        // one process, the whole batch
        double[] sq1 = sqSum(g, 0, 8), gb1 = gradSqPerTensor(mean(g, 0, 8));
        // 4 ranks × 2 examples
        List<DistributedGnsStats.Result> res = InProcessCommunicator.run(4, c -> {
            int r = c.rank();
            return reduce(c, sqSum(g, 2 * r, 2 * r + 2), 2, mean(g, 2 * r, 2 * r + 2));
        });
        for (DistributedGnsStats.Result r : res) {
            assertEquals(8, r.examples());
            assertEquals(4, r.worldSize());
            assertEquals(2, r.localExamples());
            for (int t = 0; t < T.size(); t++) {
                assertEquals(sq1[t], r.perExampleSqSum()[t], 1e-12 * sq1[t], T.get(t).name());
                assertEquals(gb1[t], r.batchGradSq()[t], 1e-12 * gb1[t], T.get(t).name());
            }
            Estimate one = GnsEstimator.estimate(DistributedGnsStats.Result.sum(sq1) / 8, DistributedGnsStats.Result.sum(gb1), 8);
            assertEquals(one.gradSq(), r.perExampleEstimate().gradSq(), 1e-12 * Math.abs(one.traceSigma()));
            assertEquals(one.traceSigma(), r.perExampleEstimate().traceSigma(), 1e-12 * Math.abs(one.traceSigma()));
        }
        // and through the tracker, as Trainer will call it
        GnsTracker single = GnsGrouping.tracker(LAYOUT.tensors, 0.9), dist = GnsGrouping.tracker(LAYOUT.tensors, 0.9);
        single.update(sq1, 8, gb1);
        dist.update(res.get(2).perExampleSqSum(), (int) res.get(2).examples(), res.get(2).batchGradSq());
        assertEquals(single.rawTotal().traceSigma(), dist.rawTotal().traceSigma(), 1e-12 * Math.abs(single.rawTotal().traceSigma()));
        assertEquals(single.rawLn().gradSq(), dist.rawLn().gradSq(), 1e-12 * Math.abs(single.rawLn().traceSigma()));
    }

    @Test
    void floatGradientsAndUnequalLocalBatchesAreExactOnDyadicData() {
        // values k/8 with small k: every sum and the scalings n_r/N below are exact in float
        SplittableRandom rng = new SplittableRandom(5);
        int[] local = {1, 3, 2, 2};   // N = 8
        float[][] g = new float[8][LAYOUT.totalSize];
        for (float[] row : g) for (int i = 0; i < row.length; i++) row[i] = (rng.nextInt(17) - 8) / 8f;
        double[] want = new double[LAYOUT.totalSize];
        for (float[] row : g) for (int i = 0; i < row.length; i++) want[i] += row[i] / 8.0;
        double[] wantSq = gradSqPerTensor(want);
        List<DistributedGnsStats.Result> res = InProcessCommunicator.run(4, c -> {
            int from = 0;
            for (int r = 0; r < c.rank(); r++) from += local[r];
            int n = local[c.rank()];
            float[] grad = new float[LAYOUT.totalSize];
            double[] sq = new double[T.size()];
            for (int b = from; b < from + n; b++) {
                for (int i = 0; i < grad.length; i++) grad[i] += g[b][i] / n;
                double[] s = gradSqPerTensor(g[b]);
                for (int t = 0; t < sq.length; t++) sq[t] += s[t];
            }
            // the float gradient as the device holds it: scaled by n_r/N (exact here) and summed
            var sums = DistributedGnsStats.reduceSums(c, sq, n, gradSqPerTensor(grad), new double[0]);
            for (int i = 0; i < grad.length; i++) grad[i] *= (float) n / sums.examples();
            c.allReduceSum(grad);
            var r = sums.result(gradSqPerTensor(grad));
            for (int i = 0; i < grad.length; i++) assertEquals(want[i], grad[i], 1e-6, "G_B[" + i + "]");
            return r;
        });
        for (var r : res) {
            assertEquals(8, r.examples());
            assertEquals(-1, r.localExamples(), "unequal local batches are reported");
            assertNull(r.twoBatchEstimate());
            for (int t = 0; t < T.size(); t++) assertEquals(wantSq[t], r.batchGradSq()[t], 1e-5 * wantSq[t] + 1e-12);
        }
    }

    @Test
    void twoBatchEstimateReducesToTheEstimatorAtBSmallOneAndMatchesThroughTheCommunicator() {
        Estimate a = GnsEstimator.twoBatch(5.0, 1, 2.0, 8), b = GnsEstimator.estimate(5.0, 2.0, 8);
        assertEquals(b.gradSq(), a.gradSq(), 1e-12);
        assertEquals(b.traceSigma(), a.traceSigma(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.twoBatch(1, 4, 1, 4));

        double[][] g = examples(8, 3);
        List<DistributedGnsStats.Result> res = InProcessCommunicator.run(4, c -> reduce(c,
                sqSum(g, 2 * c.rank(), 2 * c.rank() + 2), 2, mean(g, 2 * c.rank(), 2 * c.rank() + 2)));
        double small = 0;
        for (int r = 0; r < 4; r++) small += DistributedGnsStats.Result.sum(gradSqPerTensor(mean(g, 2 * r, 2 * r + 2))) / 4;
        double big = DistributedGnsStats.Result.sum(gradSqPerTensor(mean(g, 0, 8)));
        Estimate want = GnsEstimator.twoBatch(small, 2, big, 8), got = res.get(1).twoBatchEstimate();
        assertEquals(want.gradSq(), got.gradSq(), 1e-12 * Math.abs(want.traceSigma()));
        assertEquals(want.traceSigma(), got.traceSigma(), 1e-12 * Math.abs(want.traceSigma()));
    }

    /** Mean and standard error of the estimates over trials, for the estimator and a biased variant. */
    @Test
    void twoBatchEstimateIsUnbiasedAndANaiveOneIsNot() {
        int d = 24, W = 4, n = 2, N = W * n, trials = 6000;
        SplittableRandom rng = new SplittableRandom(2024);
        double[] G = new double[d], sd = new double[d];
        double trueG = 0, trueTr = 0;
        for (int i = 0; i < d; i++) {
            G[i] = 0.5 * rng.nextGaussian();
            sd[i] = 0.5 + rng.nextDouble();
            trueG += G[i] * G[i];
            trueTr += sd[i] * sd[i];
        }
        double[] sumG = new double[3], sumG2 = new double[3], sumT = new double[3], sumT2 = new double[3];
        double[][] local = new double[W][d];
        double[] global = new double[d];
        for (int k = 0; k < trials; k++) {
            for (double[] l : local) java.util.Arrays.fill(l, 0);
            java.util.Arrays.fill(global, 0);
            for (int b = 0; b < N; b++) {
                for (int i = 0; i < d; i++) {
                    double x = G[i] + sd[i] * rng.nextGaussian();
                    local[b / n][i] += x / n;
                    global[i] += x / N;
                }
            }
            double small = 0, big = 0;
            for (double[] l : local) for (double v : l) small += v * v / W;
            for (double v : global) big += v * v;
            Estimate e = GnsEstimator.twoBatch(small, n, big, N);
            // biased variants: |G_big|² taken as |G|², and tr Σ without the 1/B_big correction
            double[] gs = {e.gradSq(), big, e.gradSq()}, ts = {e.traceSigma(), e.traceSigma(), n * (small - big)};
            for (int v = 0; v < 3; v++) {
                sumG[v] += gs[v];
                sumG2[v] += gs[v] * gs[v];
                sumT[v] += ts[v];
                sumT2[v] += ts[v] * ts[v];
            }
        }
        double[] zG = new double[3], zT = new double[3];
        for (int v = 0; v < 3; v++) {
            zG[v] = z(sumG[v], sumG2[v], trials, trueG);
            zT[v] = z(sumT[v], sumT2[v], trials, trueTr);
        }
        assertTrue(Math.abs(zG[0]) < 3, "|G|² estimate off by " + zG[0] + " standard errors");
        assertTrue(Math.abs(zT[0]) < 3, "tr(Σ) estimate off by " + zT[0] + " standard errors");
        assertTrue(Math.abs(zG[1]) > 3, "the naive |G_big|² must be rejected, z = " + zG[1]);
        assertTrue(Math.abs(zT[2]) > 3, "the uncorrected tr(Σ) must be rejected, z = " + zT[2]);
    }

    private static double z(double sum, double sumSq, int n, double truth) {
        double mean = sum / n, var = (sumSq - n * mean * mean) / (n - 1);
        return (mean - truth) / Math.sqrt(var / n);
    }
}
