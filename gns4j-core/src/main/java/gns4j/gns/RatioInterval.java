package gns4j.gns;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Confidence interval for a ratio of means Σx / Σy over n paired samples (one pair per batch: x = tr(Σ) and
 * y = |G|² estimates). A ratio with Σy ≤ 0 counts as +∞: with a non-positive signal estimate the noise dominates
 * and nothing bounds the noise scale from above.
 */
final class RatioInterval {
    private RatioInterval() {}

    /** estimate is NaN when Σy ≤ 0; low/high may be infinite; batchesToHalve is null when it cannot be predicted. */
    record Result(double estimate, double low, double high, Integer batchesToHalve) {}

    static Result compute(double[] x, double[] y, double confidence, IntervalMethod method, int resamples, long seed) {
        int n = x.length;
        if (n != y.length) throw new IllegalArgumentException("x and y differ in length");
        if (n < 2) throw new IllegalArgumentException("a confidence interval needs at least 2 batches, got " + n);
        if (!(confidence > 0 && confidence < 1))
            throw new IllegalArgumentException("confidence must be in (0, 1), got " + confidence);
        double sx = 0, sy = 0;
        for (int i = 0; i < n; i++) {
            sx += x[i];
            sy += y[i];
        }
        double estimate = sy > 0 ? sx / sy : Double.NaN;
        double[] jack = new double[n];
        boolean jackFinite = true;
        for (int i = 0; i < n; i++) {
            jack[i] = ratio(sx - x[i], sy - y[i]);
            jackFinite &= Double.isFinite(jack[i]);
        }
        double alpha = (1 - confidence) / 2;
        double low, high;
        if (method == IntervalMethod.JACKKNIFE) {
            if (Double.isNaN(estimate) || !jackFinite) {
                low = Double.NEGATIVE_INFINITY;
                high = Double.POSITIVE_INFINITY;
            } else {
                double mean = mean(jack), ss = 0;
                for (double j : jack) ss += (j - mean) * (j - mean);
                double se = Math.sqrt((n - 1.0) / n * ss);
                double t = Distributions.tQuantile(1 - alpha, n - 1);
                low = estimate - t * se;
                high = estimate + t * se;
            }
        } else {
            double[] boot = bootstrap(x, y, x.length, resamples, new SplittableRandom(seed));
            double z0 = 0, a = 0;
            if (!Double.isNaN(estimate)) {
                // A resample that draws every batch once is the estimate itself, up to the rounding of another
                // summation order; with few batches there are many, so a rounding-level difference counts as a tie
                // (else the bias correction z0, and the interval, would hinge on the last bit of the inputs).
                double tie = 1e-12 * Math.abs(estimate);
                int below = 0, ties = 0;
                for (double b : boot) {
                    if (b < estimate - tie) below++;
                    else if (b <= estimate + tie) ties++;
                }
                double p = (below + 0.5 * ties) / resamples;
                p = Math.min(Math.max(p, 0.5 / resamples), 1 - 0.5 / resamples);
                z0 = Distributions.normalQuantile(p);
                if (jackFinite) a = acceleration(jack);
            }
            // Expanded for small n (Hesterberg 2015): z_q → √(n/(n−1))·t_{q,n−1}, which undoes the bootstrap's
            // narrowness bias (its variance is (n−1)/n of the sample variance, and tails are normal, not t).
            double z = Math.sqrt(n / (n - 1.0)) * Distributions.tQuantile(1 - alpha, n - 1);
            low = Quantiles.ofSorted(boot, bcaLevel(-z, z0, a));
            high = Quantiles.ofSorted(boot, bcaLevel(z, z0, a));
        }
        return new Result(estimate, low, high, batchesToHalve(x, y, estimate, alpha, resamples, seed));
    }

    private static double ratio(double sx, double sy) {
        return sy > 0 ? sx / sy : Double.POSITIVE_INFINITY;
    }

    /** Sorted ratios of means of {@code resamples} bootstrap resamples of {@code m} batches (drawn with replacement). */
    private static double[] bootstrap(double[] x, double[] y, int m, int resamples, SplittableRandom rng) {
        int n = x.length;
        double[] out = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            double sx = 0, sy = 0;
            for (int k = 0; k < m; k++) {
                int i = rng.nextInt(n);
                sx += x[i];
                sy += y[i];
            }
            out[r] = ratio(sx, sy);
        }
        Arrays.sort(out);
        return out;
    }

    /** BCa acceleration from the leave-one-out values: Σd³ / (6 (Σd²)^{3/2}), d = mean − θ₍ᵢ₎. */
    private static double acceleration(double[] jack) {
        double mean = mean(jack), s2 = 0, s3 = 0;
        for (double j : jack) {
            double d = mean - j;
            s2 += d * d;
            s3 += d * d * d;
        }
        return s2 > 0 ? s3 / (6 * Math.pow(s2, 1.5)) : 0;
    }

    /** The percentile level BCa uses for the standard-normal point zq: Φ(z0 + (z0 + zq) / (1 − a (z0 + zq))). */
    private static double bcaLevel(double zq, double z0, double a) {
        double denom = 1 - a * (z0 + zq);
        if (denom <= 0) return zq < 0 ? 0 : 1;
        return Distributions.normalCdf(z0 + (z0 + zq) / denom);
    }

    /**
     * Batches needed for an interval half as wide as the one from n batches, projected from the measured batches
     * themselves: the width of an (expanded) percentile bootstrap interval of the ratio is computed for resamples of
     * n and of 4n batches drawn from the n measured ones, a power law width ∝ m^(−p) is fitted through the two, and
     * n·2^(1/p) is returned. For a well-determined ratio p ≈ ½ and the answer is a little under 4n (the t quantile
     * shrinks too); when |G|² is poorly determined the ratio's upper tail shrinks faster than 1/√m and fewer suffice.
     * Null when the estimate is undefined or either projected width is not finite and positive.
     */
    static Integer batchesToHalve(double[] x, double[] y, double estimate, double alpha, int resamples, long seed) {
        int n = x.length;
        if (!Double.isFinite(estimate)) return null;
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        double w1 = percentileWidth(x, y, n, resamples, rng, alpha);
        double w4 = percentileWidth(x, y, 4 * n, resamples, rng, alpha);
        if (!(w1 > 0 && w4 > 0 && Double.isFinite(w1) && Double.isFinite(w4) && w4 < w1)) return null;
        double p = Math.log(w1 / w4) / Math.log(4);
        double batches = Math.ceil(n * Math.pow(2, 1 / p));
        return batches > Integer.MAX_VALUE ? null : (int) Math.max(n + 1, batches);
    }

    /** Width of the expanded percentile interval of the ratio of means over resamples of m of the n batches. */
    private static double percentileWidth(double[] x, double[] y, int m, int resamples, SplittableRandom rng,
                                          double alpha) {
        double[] boot = bootstrap(x, y, m, resamples, rng);
        double z = Math.sqrt(m / (m - 1.0)) * Distributions.tQuantile(1 - alpha, m - 1);
        return Quantiles.ofSorted(boot, Distributions.normalCdf(z))
                - Quantiles.ofSorted(boot, Distributions.normalCdf(-z));
    }

    static double mean(double[] a) {
        double s = 0;
        for (double v : a) s += v;
        return s / a.length;
    }
}
