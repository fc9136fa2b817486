package gns4j.gns;

import gns4j.gns.GnsEstimator.Estimate;

/**
 * One measured batch of one parameter group: the unbiased estimates of |G|² and tr(Σ) that its B per-example
 * gradients give ({@link GnsEstimator}). Build it from the raw norms with {@link #of(int, double, double)}; the
 * raw inputs are recoverable ({@link #meanPerExampleSq()}, {@link #batchGradSq()}) because the estimators are an
 * invertible linear map of them.
 *
 * @param batchSize  B ≥ 2, examples in the batch (all gradient-accumulation micro-batches together)
 * @param gradSq     (B·|G_B|² − S) / (B − 1), may be slightly negative
 * @param traceSigma (S − |G_B|²) / (1 − 1/B)
 */
public record BatchGnsSample(int batchSize, double gradSq, double traceSigma) {

    /** Checks the sample. @throws IllegalArgumentException on B &lt; 2 or a non-finite estimate */
    public BatchGnsSample {
        if (batchSize < 2) throw new IllegalArgumentException("batch size must be >= 2, got " + batchSize);
        if (!Double.isFinite(gradSq) || !Double.isFinite(traceSigma))
            throw new IllegalArgumentException("estimates must be finite, got |G|² " + gradSq + ", tr(Σ) " + traceSigma);
    }

    /**
     * The sample of a batch of B examples from their norms.
     *
     * @param batchSize        B ≥ 2
     * @param meanPerExampleSq S = (1/B) Σ_b |g_b|², g_b the gradient of example b's own (mean token) loss
     * @param batchGradSq      |G_B|², G_B = (1/B) Σ_b g_b the batch's mean gradient
     * @return the batch's estimates of |G|² and tr(Σ)
     * @throws IllegalArgumentException on B &lt; 2 or a negative or non-finite norm
     */
    public static BatchGnsSample of(int batchSize, double meanPerExampleSq, double batchGradSq) {
        return of(batchSize, GnsEstimator.estimate(meanPerExampleSq, batchGradSq, batchSize));
    }

    /**
     * The sample of a batch of B examples from estimates already formed (e.g. by a {@link GnsTracker}).
     *
     * @param batchSize B ≥ 2
     * @param estimate  the batch's |G|² and tr(Σ) estimates
     * @return the same estimates as a sample
     */
    public static BatchGnsSample of(int batchSize, Estimate estimate) {
        return new BatchGnsSample(batchSize, estimate.gradSq(), estimate.traceSigma());
    }

    /** {@return S = |G|² + tr(Σ), the mean per-example squared norm this sample came from} */
    public double meanPerExampleSq() { return gradSq + traceSigma; }

    /** {@return |G_B|² = |G|² + tr(Σ)/B, the batch gradient's squared norm this sample came from} */
    public double batchGradSq() { return gradSq + traceSigma / batchSize; }

    /**
     * {@return this batch's own tr(Σ)/|G|², or null when its |G|² estimate is not positive} It is noisy: a
     * measurement combines batches as a ratio of means instead.
     */
    public Double bSimple() { return GnsEstimator.bSimple(traceSigma, gradSq); }
}
