package gns4j.gns;

/**
 * Unbiased estimators of the squared true-gradient norm |G|² and of the per-example gradient noise tr(Σ) from one
 * optimizer step (McCandlish et al. 2018, "An Empirical Model of Large-Batch Training", appendix A, with
 * B_small = 1 and B_big = B).
 *
 * <p>Inputs, for any set of parameters (one tensor, a layer, all parameters: squared norms add over parameters, and
 * both estimators are linear in them, so the estimate of a group is the sum of the estimates of its members):
 * <ul>
 *   <li>{@code S = (1/B) Σ_b |g_b|²}, the mean squared norm of the per-example gradients g_b = ∇L_b, where L_b is
 *       the mean token loss of example b (not of the batch loss L = (1/B) Σ_b L_b);</li>
 *   <li>{@code |G_B|²}, the squared norm of the batch gradient G_B = (1/B) Σ_b g_b;</li>
 *   <li>the batch size B ≥ 2.</li>
 * </ul>
 * Then {@code E[S] = |G|² + tr(Σ)} and {@code E[|G_B|²] = |G|² + tr(Σ)/B}, which give
 * <pre>
 *   |G|²  ≈ (B·|G_B|² − S) / (B − 1)
 *   tr(Σ) ≈ (S − |G_B|²) / (1 − 1/B)
 *   B_simple = tr(Σ) / |G|²
 * </pre>
 * Since S ≥ |G_B|² always holds (a mean of squares is at least the square of the mean), a clearly negative tr(Σ)
 * estimate means the inputs were scaled wrongly, typically a missing 1/B or 1/accumulation-steps factor.
 *
 * <p>The general form ({@link #twoBatch}) takes the mean squared norm of gradients over batches of B_small examples
 * instead of single examples: data-parallel ranks (B_small = the local batch) and the estimator comparison use it.
 * The per-example estimator above is its case B_small = 1 (docs/design.md, "the estimators").
 */
public final class GnsEstimator {

    private GnsEstimator() {}

    /**
     * Estimates of |G|² and tr(Σ); either may be slightly negative, as unbiased estimates of small quantities are.
     *
     * @param gradSq     the estimate of |G|², the squared norm of the true gradient
     * @param traceSigma the estimate of tr(Σ), the trace of the per-example gradient covariance
     */
    public record Estimate(double gradSq, double traceSigma) {

        /** {@return the simple noise scale tr(Σ)/|G|², or null when undefined (|G|² estimate ≤ 0)} */
        public Double bSimple() {
            return GnsEstimator.bSimple(traceSigma, gradSq);
        }
    }

    /**
     * Both estimators of one step.
     *
     * @param meanPerExampleSq S = (1/B) Σ_b |g_b|², finite and ≥ 0
     * @param batchGradSq      |G_B|², finite and ≥ 0
     * @param batchSize        B ≥ 2 (with B = 1 nothing separates signal from noise)
     * @return the unbiased estimates of |G|² and tr(Σ)
     * @throws IllegalArgumentException on B &lt; 2 or a negative or non-finite norm
     */
    public static Estimate estimate(double meanPerExampleSq, double batchGradSq, int batchSize) {
        if (batchSize < 2) throw new IllegalArgumentException("batch size must be >= 2 to estimate GNS, got " + batchSize);
        checkSquaredNorm("mean per-example squared norm", meanPerExampleSq);
        return twoBatch(meanPerExampleSq, 1, batchGradSq, batchSize);
    }

    /**
     * McCandlish's estimates from |G_small|² (the mean over batches of {@code bSmall} examples of their gradients'
     * squared norms) and |G_big|² (the squared norm of one gradient over {@code bBig} examples):
     * <pre>
     *   |G|²  ≈ (B_big·|G_big|² − B_small·|G_small|²) / (B_big − B_small)
     *   tr(Σ) ≈ (|G_small|² − |G_big|²) / (1/B_small − 1/B_big)
     * </pre>
     *
     * @param smallGradSq |G_small|², finite and ≥ 0
     * @param bSmall      B_small ≥ 1, examples per small batch
     * @param bigGradSq   |G_big|², finite and ≥ 0
     * @param bBig        B_big &gt; B_small, examples in the big batch
     * @return the unbiased estimates of |G|² and tr(Σ)
     * @throws IllegalArgumentException unless 1 ≤ bSmall &lt; bBig and both norms are finite and ≥ 0
     */
    public static Estimate twoBatch(double smallGradSq, long bSmall, double bigGradSq, long bBig) {
        if (bSmall < 1 || bBig <= bSmall)
            throw new IllegalArgumentException("need 1 <= B_small < B_big, got " + bSmall + " and " + bBig);
        checkSquaredNorm("small-batch gradient squared norm", smallGradSq);
        checkSquaredNorm("batch gradient squared norm", bigGradSq);
        double s = bSmall, b = bBig;
        return new Estimate((b * bigGradSq - s * smallGradSq) / (b - s),
                // the tr(Σ) line above written as s·b·(|G_s|² − |G_b|²)/(b − s), which does not round 1/s and 1/b
                s * b * (smallGradSq - bigGradSq) / (b - s));
    }

    /**
     * The simple noise scale B_simple.
     *
     * @param traceSigma tr(Σ)
     * @param gradSq     |G|²
     * @return tr(Σ)/|G|², or null when {@code gradSq} ≤ 0 or either value is not finite (never Infinity or NaN)
     */
    public static Double bSimple(double traceSigma, double gradSq) {
        if (!(gradSq > 0) || !Double.isFinite(gradSq) || !Double.isFinite(traceSigma)) return null;
        double r = traceSigma / gradSq;
        return Double.isFinite(r) ? r : null;
    }

    static void checkSquaredNorm(String what, double v) {
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY)
            throw new IllegalArgumentException(what + " must be finite and >= 0, got " + v);
    }
}
