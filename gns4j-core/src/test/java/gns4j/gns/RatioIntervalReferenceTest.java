package gns4j.gns;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The GNS interval's numbers against an independent computation of the same recipe: scripts/ratio_interval_reference.py
 * redraws the same resamples (a reimplementation of SplittableRandom) and does the rest with NumPy and SciPy (sums,
 * quantiles, normal and t distributions). Its output is pasted below; the test needs no Python.
 *
 * <p>The ends agree to 1e-6 relative: SciPy's normal CDF is exact where the library's is good to about 1e-7, which
 * moves a quantile's position among 2000 resamples by about 2e-4 of one step. A changed bias correction, acceleration
 * or expansion moves it by whole steps.
 */
class RatioIntervalReferenceTest {
    private static final double[] SKEWED_TRACE = {31.5, 18.2, 44.0, 25.7, 90.3, 22.1, 27.9, 35.4, 19.8, 61.2, 28.8, 24.6};
    private static final double[] SKEWED_GRAD_SQ = {1.1, 0.62, 1.45, 0.35, 2.2, 0.91, 0.48, 1.75, 0.83, 0.57, 1.02, 1.31};
    private static final double[] THREE_TRACE = {4.0, 9.0, 5.5};
    private static final double[] THREE_GRAD_SQ = {0.3, 0.5, 0.1};
    /** |G|² of the first batch exceeds the sum: leaving it out leaves a non-positive |G|², an infinite ratio. */
    private static final double[] LARGE_FIRST_TRACE = {12.0, 15.0, 9.0, 14.0, 11.0, 13.0};
    private static final double[] LARGE_FIRST_GRAD_SQ = {2.0, -1.5, 0.2, 0.1, 0.3, 0.1};
    private static final double[] ONE_OUTLIER_TRACE = withLast(30, 10.0, 400.0);
    private static final double[] ONE_OUTLIER_GRAD_SQ = withLast(30, 1.0, 1.1);
    private static final double[] TIGHT_TRACE = {800000.03, 1099999.98, 950000.05, 1299999.96, 700000.01, 1050000.0,
            899999.97, 1200000.02, 1000000.04, 849999.99};
    private static final double[] TIGHT_GRAD_SQ = {0.8, 1.1, 0.95, 1.3, 0.7, 1.05, 0.9, 1.2, 1.0, 0.85};
    private static final double[] EIGHT_TRACE = {1.0, 2.0, 8.0, 3.0, 5.0, 4.0, 7.0, 6.0};
    private static final double[] EIGHT_ONES = {1, 1, 1, 1, 1, 1, 1, 1};

    private static double[] withLast(int n, double value, double last) {
        double[] a = new double[n];
        Arrays.fill(a, value);
        a[n - 1] = last;
        return a;
    }

    record Case(String name, double[] trace, double[] gradSq, double confidence, IntervalMethod method, int resamples,
                long seed, double estimate, double low, double high, Integer batchesToHalve) {
        @Override
        public String toString() { return name; }
    }

    static Stream<Case> cases() {
        IntervalMethod bootstrap = IntervalMethod.BOOTSTRAP, jackknife = IntervalMethod.JACKKNIFE;
        double inf = Double.POSITIVE_INFINITY;
        return Stream.of(
                // z0 0.0463893, a 0.0378287, levels 0.0480002 0.982965
                new Case("skewed", SKEWED_TRACE, SKEWED_GRAD_SQ, 0.9, bootstrap, 2000, 1765L,
                        34.114376489277205, 27.06703721235531, 46.83371574618874, 41),
                // z0 0.0539186, a 0.0378287, levels 0.021937 0.995812
                new Case("skewed-95", SKEWED_TRACE, SKEWED_GRAD_SQ, 0.95, bootstrap, 2000, 42L,
                        34.114376489277205, 25.92451606278059, 50.43440892350849, 35),
                new Case("skewed-jackknife", SKEWED_TRACE, SKEWED_GRAD_SQ, 0.9, jackknife, 2000, 0L,
                        34.114376489277205, 25.256848002667383, 42.97190497588703, 38),
                // a resample that draws each batch once is the estimate up to rounding: a tie
                // z0 0.0495261, a 0.0673725, levels 0.0279548 0.997843
                new Case("three", THREE_TRACE, THREE_GRAD_SQ, 0.8, bootstrap, 2000, 11L,
                        20.555555555555554, 13.333333333333334, 54.99999999999999, 6),
                new Case("three-jackknife", THREE_TRACE, THREE_GRAD_SQ, 0.8, jackknife, 2000, 0L,
                        20.555555555555554, 10.854962330586073, 30.256148780525034, 6),
                // an infinite leave-one-out ratio: no acceleration, and the jackknife is open on both sides
                // z0 -0.00501328, a 0, levels 0.0132978 0.986002
                new Case("negative-gradsq", LARGE_FIRST_TRACE, LARGE_FIRST_GRAD_SQ, 0.9, bootstrap, 500, 3L,
                        61.66666666666667, 9.797756292311327, inf, null),
                new Case("negative-gradsq-jackknife", LARGE_FIRST_TRACE, LARGE_FIRST_GRAD_SQ, 0.9, jackknife, 500, 3L,
                        61.66666666666667, -inf, inf, null),
                // Σ|G|² < 0: no estimate; z0 = a = 0, the plain expanded percentile interval
                // levels 0.00328955 0.99671
                new Case("undefined", new double[]{5.0, 6.0, 5.5, 4.5}, new double[]{0.5, -0.7, 0.5, -0.7}, 0.9,
                        bootstrap, 500, 5L, Double.NaN, 10.0, inf, null),
                // z0 0.102953, a 0.158215, levels 0.117054 0.996329
                new Case("outlier", ONE_OUTLIER_TRACE, ONE_OUTLIER_GRAD_SQ, 0.9, bootstrap, 500, 9L,
                        22.92358803986711, 10.0, 63.303482597819404, 180),
                // 99.9% over three batches: 1 − a (z0 + zq) ≤ 0 at zq = +38.7 (a > 0), level 1, the largest resample
                // z0 0.0802983, a 0.0678943, levels 1.80339e-26 1
                new Case("beyond-top", new double[]{1.0, 1.2, 9.0}, new double[]{1.0, 1.0, 1.0}, 0.999, bootstrap,
                        500, 13L, 3.733333333333333, 1.0, 9.0, 78),
                // the mirror image: at zq = −38.7 (a < 0), level 0, the smallest resample
                // z0 -0.0802983, a -0.0678943, levels 0 1
                new Case("beyond-bottom", new double[]{9.0, 8.8, 1.0}, new double[]{1.0, 1.0, 1.0}, 0.999, bootstrap,
                        500, 13L, 6.266666666666667, 1.0, 9.0, 78),
                // a resample whose |G|² sum is exactly 0 counts as +∞ (its tr(Σ) sum is negative: not −∞)
                // levels 2.14952e-19 1
                new Case("zero-sum", new double[]{-1.0, -3.0}, new double[]{1.0, -1.0}, 0.9, bootstrap, 500, 21L,
                        Double.NaN, -1.0, inf, null),
                // a GNS known to 1e-7 of itself: the jackknife's spread must not drown in the rounding of its size
                new Case("tight", TIGHT_TRACE, TIGHT_GRAD_SQ, 0.9, jackknife, 500, 0L,
                        1000000.0050761423, 999999.9869450462, 1000000.0232072383, 33),
                // two resamples of 4n batches that draw the odd batch equally often: the projected width is 0
                new Case("no-width", new double[]{2.0, 2.0, 5.0}, new double[]{1.0, 1.0, 1.0}, 0.9, bootstrap, 2, 17L,
                        3.0, 3.0, 3.0, null),
                // four resamples, all above the estimate: the bias share is clamped to 0.5/4
                // z0 -1.15035, levels 7.58902e-06 0.391539
                new Case("clamped-low", EIGHT_TRACE, EIGHT_ONES, 0.9, bootstrap, 4, 38L,
                        4.5, 4.625002845883856, 4.880963674747545, 150),
                // all below: clamped to 1 − 0.5/4
                // z0 1.15035, levels 0.608461 0.999992
                new Case("clamped-high", EIGHT_TRACE, EIGHT_ONES, 0.9, bootstrap, 4, 42L,
                        4.5, 4.0, 4.374991462348434, 67));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void intervalMatchesTheIndependentComputation(Case c) {
        RatioInterval.Result r = RatioInterval.compute(c.trace, c.gradSq, c.confidence, c.method, c.resamples, c.seed);
        assertClose(c.estimate, r.estimate(), 1e-14, "estimate");
        assertClose(c.low, r.low(), 1e-7, "low");
        assertClose(c.high, r.high(), 1e-7, "high");
        // and the width on its own, which the ends' tolerance would hide for an interval narrow next to its place
        assertClose(c.high - c.low, r.high() - r.low(), 1e-4, "width");
        assertEquals(c.batchesToHalve, r.batchesToHalve(), "batches to halve");
    }

    /** Within {@code relative} of a finite expected value; exactly an infinite or NaN one. */
    private static void assertClose(double expected, double actual, double relative, String what) {
        if (Double.isFinite(expected)) assertEquals(expected, actual, relative * Math.abs(expected), what);
        else assertEquals(expected, actual, what);
    }
}
