package gns4j.gns;

import gns4j.gns.GnsEstimator.Estimate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.*;

class GnsEstimatorTest {

    @Test
    void handComputedTwoExamples() {
        // g1 = (1, 2, 2), g2 = (3, 0, 4), B = 2
        // |g1|² = 9, |g2|² = 25                 → S = (9 + 25) / 2 = 17
        // G_B = (2, 1, 3)                       → |G_B|² = 4 + 1 + 9 = 14
        // |G|²  = (2·14 − 17) / (2 − 1) = 11    (for B = 2 this is g1·g2 = 3 + 0 + 8 = 11)
        // tr(Σ) = (17 − 14) / (1 − 1/2) = 6     (for B = 2 this is |g1 − g2|²/2 = |(−2, 2, −2)|²/2 = 6)
        double[] g1 = {1, 2, 2}, g2 = {3, 0, 4};
        double s = (dot(g1, g1) + dot(g2, g2)) / 2;
        double[] gb = {(g1[0] + g2[0]) / 2, (g1[1] + g2[1]) / 2, (g1[2] + g2[2]) / 2};
        assertEquals(17, s, 0);
        assertEquals(14, dot(gb, gb), 0);

        Estimate e = GnsEstimator.estimate(s, dot(gb, gb), 2);
        assertEquals(11, e.gradSq(), 1e-12);
        assertEquals(6, e.traceSigma(), 1e-12);
        assertEquals(6.0 / 11, e.bSimple(), 1e-12);
    }

    @Test
    void handComputedThreeExamples() {
        // scalar gradients 1, 2, 6 (D = 1), B = 3: S = (1 + 4 + 36)/3 = 41/3, G_B = 3, |G_B|² = 9
        // |G|²  = (3·9 − 41/3) / 2 = 20/3            (the mean of the pairwise products (2 + 6 + 12)/3)
        // tr(Σ) = (41/3 − 9) / (2/3) = 7             (the sample variance ((−2)² + (−1)² + 3²)/2)
        Estimate e = GnsEstimator.estimate(41.0 / 3, 9, 3);
        assertEquals(20.0 / 3, e.gradSq(), 1e-12);
        assertEquals(7, e.traceSigma(), 1e-12);
    }

    /** g_b = μ + σ·ε_b in D dimensions: |G|² = |μ|², tr(Σ) = D·σ². */
    @Test
    @Tag("simulation")
    void unbiasedOnSyntheticGradients() {
        int d = 50, b = 8, trials = 4000;
        double sigma = 0.5;
        double[] mu = new double[d];
        for (int i = 0; i < d; i++) mu[i] = 0.2 * ((i % 5) - 2) + 0.05;
        double trueGradSq = dot(mu, mu), trueTrace = d * sigma * sigma;

        Random rng = new Random(20241101);
        double[][] trial = new double[trials][]; // {S, |G_B|²}
        for (int k = 0; k < trials; k++) {
            double sumSq = 0;
            double[] mean = new double[d];
            for (int e = 0; e < b; e++) {
                for (int i = 0; i < d; i++) {
                    double g = mu[i] + sigma * rng.nextGaussian();
                    sumSq += g * g;
                    mean[i] += g / b;
                }
            }
            trial[k] = new double[]{sumSq / b, dot(mean, mean)};
        }

        assertTrue(zScore(trial, t -> GnsEstimator.estimate(t[0], t[1], b).gradSq(), trueGradSq) < 3);
        assertTrue(zScore(trial, t -> GnsEstimator.estimate(t[0], t[1], b).traceSigma(), trueTrace) < 3);
        // The same test rejects biased estimators: S alone (E = |G|² + tr Σ), |G_B|² alone (E = |G|² + tr Σ / B),
        // and S − |G_B|² without the 1/(1 − 1/B) correction (E = tr Σ · (1 − 1/B)).
        assertTrue(zScore(trial, t -> t[0], trueTrace) > 3);
        assertTrue(zScore(trial, t -> t[1], trueGradSq) > 3);
        assertTrue(zScore(trial, t -> t[0] - t[1], trueTrace) > 3);
    }

    /** |mean − truth| in standard errors of the mean. */
    private static double zScore(double[][] trials, ToDoubleFunction<double[]> estimator, double truth) {
        double sum = 0, sumSq = 0;
        for (double[] t : trials) {
            double x = estimator.applyAsDouble(t);
            sum += x;
            sumSq += x * x;
        }
        int n = trials.length;
        double mean = sum / n, var = (sumSq - n * mean * mean) / (n - 1);
        return Math.abs(mean - truth) / Math.sqrt(var / n);
    }

    @Test
    void bSimpleIsNullWhenUndefined() {
        assertNull(GnsEstimator.bSimple(1, 0));
        assertNull(GnsEstimator.bSimple(1, -1e-9));
        assertNull(GnsEstimator.bSimple(Double.NaN, 1));
        assertNull(GnsEstimator.bSimple(1e300, 1e-300)); // overflows: no Infinity
        assertEquals(-0.5, GnsEstimator.bSimple(-1, 2));
    }

    @Test
    void rejectsInvalidInputs() {
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.estimate(1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.estimate(Double.NaN, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.estimate(1, Double.POSITIVE_INFINITY, 4));
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.estimate(-1, 1, 4));
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
