package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.gns.BatchGnsSample;
import gns4j.gns.GnsEstimator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The two-batch-size formulas the estimator comparison uses. */
class EstimatorFormulaTest {

    @Test
    void perExampleCaseMatchesTheTrainingEstimator() {
        BatchGnsSample s = EstimatorComparison.twoSize(1, 5.0, 16, 1.5);
        var e = GnsEstimator.estimate(5.0, 1.5, 16);
        assertEquals(e.gradSq(), s.gradSq(), 1e-12);
        assertEquals(e.traceSigma(), s.traceSigma(), 1e-12);
    }

    @Test
    void recoversGradSqAndTraceFromExpectedNorms() {
        // E|G_b|² = |G|² + tr(Σ)/b for any b: the formulas invert this exactly.
        double g = 2.0, tr = 30.0;
        for (int[] bb : new int[][]{{1, 8}, {4, 32}, {32, 64}}) {
            BatchGnsSample s = EstimatorComparison.twoSize(bb[0], g + tr / bb[0], bb[1], g + tr / bb[1]);
            assertEquals(g, s.gradSq(), 1e-9);
            assertEquals(tr, s.traceSigma(), 1e-9);
        }
    }

    @Test
    void isUnbiasedOnSimulatedGradients() {
        // 3-dim gradients: G = (1, 0, 0), per-example noise N(0, 1) per coordinate (tr Σ = 3).
        SplittableRandom rng = new SplittableRandom(1);
        int bSmall = 4, bBig = 16, trials = 20000;
        double sumG = 0, sumT = 0;
        for (int t = 0; t < trials; t++) {
            double[] big = new double[3];
            double smallSq = 0;
            for (int m = 0; m < bBig / bSmall; m++) {
                double[] small = new double[3];
                for (int b = 0; b < bSmall; b++)
                    for (int d = 0; d < 3; d++) small[d] += ((d == 0 ? 1 : 0) + gauss(rng)) / bSmall;
                for (int d = 0; d < 3; d++) {
                    smallSq += small[d] * small[d] / (bBig / bSmall);
                    big[d] += small[d] / (bBig / bSmall);
                }
            }
            double bigSq = big[0] * big[0] + big[1] * big[1] + big[2] * big[2];
            BatchGnsSample s = EstimatorComparison.twoSize(bSmall, smallSq, bBig, bigSq);
            sumG += s.gradSq();
            sumT += s.traceSigma();
        }
        assertEquals(1.0, sumG / trials, 0.03);
        assertEquals(3.0, sumT / trials, 0.1);
    }

    private static double gauss(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
