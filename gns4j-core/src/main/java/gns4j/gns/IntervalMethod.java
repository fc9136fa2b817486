package gns4j.gns;

/**
 * How a {@link GnsMeasurement} puts a confidence interval on GNS = mean tr(Σ) / mean |G|², treating each measured
 * batch as one independent draw (the batches must be sampled independently, e.g. random windows).
 */
public enum IntervalMethod {
    /**
     * Bias-corrected and accelerated (BCa) bootstrap: {@link GnsMeasurement#BOOTSTRAP_RESAMPLES} resamples of the
     * batches with replacement, the ratio of means of each, percentiles shifted by the bootstrap median bias and the
     * jackknife skewness (Efron 1987), and widened for few batches by using √(n/(n−1))·t_{n−1} quantiles in place of
     * normal ones (Hesterberg 2015, "expanded percentile"). Follows the skew of a ratio; the default.
     */
    BOOTSTRAP("BCa bootstrap over batches"),
    /**
     * Jackknife over batches: leave-one-batch-out ratios give a standard error, the interval is the estimate ± a
     * Student-t quantile (n − 1 degrees of freedom) times it. Symmetric and deterministic.
     */
    JACKKNIFE("jackknife over batches (Student t)");

    private final String description;

    IntervalMethod(String description) { this.description = description; }

    /** {@return one line for reports, e.g. "BCa bootstrap over batches"} */
    public String description() { return description; }

    /** {@return the name used on the command line and in JSON ("bootstrap", "jackknife")} */
    public String key() { return name().toLowerCase(); }
}
