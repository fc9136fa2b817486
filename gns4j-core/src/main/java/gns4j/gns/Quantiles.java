package gns4j.gns;

/**
 * Quantiles of a sample by linear interpolation between order statistics (type 7 of Hyndman and Fan, as R and
 * NumPy default to). The bootstrap intervals take their ends this way; a report that summarises other samples next
 * to them (e.g. per-example gradient norms) can use the same definition.
 */
public final class Quantiles {
    private Quantiles() {}

    /**
     * The p-quantile of ascending values: at position p·(n − 1), interpolated between its two neighbours. Between
     * an infinite and another value it is the infinite one (a bootstrap ratio over a non-positive |G|² is +∞), where
     * interpolating would give NaN.
     *
     * @param sorted non-empty, in ascending order
     * @param p      level in [0, 1]
     * @return the interpolated order statistic
     */
    public static double ofSorted(double[] sorted, double p) {
        double h = p * (sorted.length - 1);
        int i = (int) Math.floor(h);
        if (i >= sorted.length - 1) return sorted[sorted.length - 1];
        double f = h - i, lo = sorted[i], hi = sorted[i + 1];
        if (f == 0 || lo == hi) return lo;
        if (Double.isInfinite(lo)) return lo;
        if (Double.isInfinite(hi)) return hi;
        return lo + f * (hi - lo);
    }
}
