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
 */
public final class GnsEstimator {

    private GnsEstimator() {}

    /**
     * Estimates of |G|² ({@code gradSq}) and tr(Σ) ({@code traceSigma}); either may be slightly negative, as
     * unbiased estimates of small quantities are.
     */
    public record Estimate(double gradSq, double traceSigma) {

        /** The simple noise scale tr(Σ)/|G|², or null when undefined (|G|² estimate ≤ 0). */
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
     * @throws IllegalArgumentException on B &lt; 2 or a negative or non-finite norm
     */
    public static Estimate estimate(double meanPerExampleSq, double batchGradSq, int batchSize) {
        if (batchSize < 2) throw new IllegalArgumentException("batch size must be >= 2 to estimate GNS, got " + batchSize);
        checkSquaredNorm("mean per-example squared norm", meanPerExampleSq);
        checkSquaredNorm("batch gradient squared norm", batchGradSq);
        double b = batchSize;
        return new Estimate((b * batchGradSq - meanPerExampleSq) / (b - 1),
                // (S − |G_B|²) / (1 − 1/B), written as B·(S − |G_B|²)/(B − 1) to avoid rounding 1/B
                b * (meanPerExampleSq - batchGradSq) / (b - 1));
    }

    /** tr(Σ)/|G|², or null when {@code gradSq} ≤ 0 or either value is not finite (never Infinity or NaN). */
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
