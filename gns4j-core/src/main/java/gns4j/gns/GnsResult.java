package gns4j.gns;

/**
 * GNS of one parameter group over several measured batches, with a confidence interval.
 *
 * <p>The estimate is a ratio of means, mean tr(Σ) / mean |G|² over the batches, never the mean of per-batch ratios
 * (a ratio of two noisy estimates is biased and heavy-tailed). It is the simple noise scale B_simple in examples
 * (sequences for a language model); multiply by the tokens per example for tokens, as
 * {@link #inTokens(double)} does.
 *
 * @param batches        number of batches combined
 * @param gradSq         mean over batches of the |G|² estimates
 * @param traceSigma     mean over batches of the tr(Σ) estimates
 * @param gns            traceSigma / gradSq, or null when gradSq ≤ 0 (noise swamps the signal: measure more
 *                       batches)
 * @param low            lower end of the interval; may be −∞ (jackknife with an undefined leave-one-out ratio)
 * @param high           upper end; +∞ when the data cannot rule out |G|² ≤ 0
 * @param confidence     nominal coverage, e.g. 0.9
 * @param method         how the interval was formed
 * @param batchesToHalve batches a new measurement would need for an interval half as wide, predicted from the
 *                       measured spread between batches (about 4× {@code batches}); null when the interval is
 *                       unbounded or of zero width
 */
public record GnsResult(int batches, double gradSq, double traceSigma, Double gns, double low, double high,
                        double confidence, IntervalMethod method, Integer batchesToHalve) {

    /** {@return whether the GNS is defined (mean |G|² estimate &gt; 0)} */
    public boolean defined() { return gns != null; }

    /** {@return whether both ends of the interval are finite} */
    public boolean bounded() { return Double.isFinite(low) && Double.isFinite(high); }

    /**
     * {@return whether the interval contains {@code value}, ends included}
     *
     * @param value e.g. a GNS known from elsewhere
     */
    public boolean covers(double value) { return low <= value && value <= high; }

    /** {@return the interval's width relative to the estimate, e.g. 0.4 for 10 ± 2; NaN when undefined or unbounded} */
    public double relativeWidth() {
        return defined() && bounded() ? (high - low) / Math.abs(gns) : Double.NaN;
    }

    /**
     * {@return the same result with GNS and interval in other units, e.g. tokens: {@code inTokens(blockSize)}}
     *
     * @param tokensPerExample the factor from examples to the new unit
     */
    public GnsResult inTokens(double tokensPerExample) {
        return new GnsResult(batches, gradSq, traceSigma, gns == null ? null : gns * tokensPerExample,
                low * tokensPerExample, high * tokensPerExample, confidence, method, batchesToHalve);
    }
}
