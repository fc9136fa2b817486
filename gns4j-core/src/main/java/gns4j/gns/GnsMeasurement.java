package gns4j.gns;

import gns4j.gns.GnsEstimator.Estimate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Gradient noise scale of one parameter group from a fixed set of batches, with a confidence interval — the
 * "how sure is this number" companion of the smoothed {@link GnsTracker}. Feed it one
 * {@link BatchGnsSample} per batch, from this project's backends or from any program that has per-example squared
 * gradient norms:
 *
 * <pre>{@code
 * GnsMeasurement m = new GnsMeasurement();
 * for (Batch batch : batches) {
 *     // S = mean over the B examples of |g_b|²; gB = |mean gradient|²
 *     m.add(BatchGnsSample.of(batch.size(), batch.meanPerExampleSq(), batch.meanGradSq()));
 * }
 * GnsResult r = m.result();             // 90 % BCa bootstrap interval over the batches
 * System.out.printf("GNS %.1f [%.1f, %.1f]; %d batches would halve the interval%n",
 *         r.gns(), r.low(), r.high(), r.batchesToHalve());
 * }</pre>
 *
 * The batches should be drawn independently (random examples per batch, model unchanged between them). Batches may
 * differ in size. Not thread-safe.
 */
public final class GnsMeasurement {
    /** Resamples of the bootstrap interval. */
    public static final int BOOTSTRAP_RESAMPLES = 2000;
    /** Nominal coverage of {@link #result()}. */
    public static final double DEFAULT_CONFIDENCE = 0.90;
    /** Seed of the bootstrap resampling in {@link #result()}, so a result is reproducible. */
    public static final long DEFAULT_SEED = 0x6E5;

    private final List<BatchGnsSample> samples = new ArrayList<>();

    /** A measurement without batches yet. */
    public GnsMeasurement() {}

    /**
     * Adds one batch.
     *
     * @param sample the batch's estimates
     * @return this measurement
     */
    public GnsMeasurement add(BatchGnsSample sample) {
        samples.add(Objects.requireNonNull(sample));
        return this;
    }

    /**
     * Adds one batch of B examples from its norms.
     *
     * @param batchSize        B ≥ 2
     * @param meanPerExampleSq S = (1/B) Σ_b |g_b|² (see {@link BatchGnsSample#of(int, double, double)})
     * @param batchGradSq      |G_B|², G_B = (1/B) Σ_b g_b
     * @return this measurement
     * @throws IllegalArgumentException on B &lt; 2 or a negative or non-finite norm
     */
    public GnsMeasurement add(int batchSize, double meanPerExampleSq, double batchGradSq) {
        return add(BatchGnsSample.of(batchSize, meanPerExampleSq, batchGradSq));
    }

    /**
     * Adds one batch from estimates already formed (e.g. a {@link GnsTracker}'s per-step estimates).
     *
     * @param batchSize B ≥ 2
     * @param estimate  the batch's |G|² and tr(Σ) estimates
     * @return this measurement
     */
    public GnsMeasurement add(int batchSize, Estimate estimate) {
        return add(BatchGnsSample.of(batchSize, estimate));
    }

    /** {@return the batches added so far, in order} */
    public List<BatchGnsSample> samples() { return Collections.unmodifiableList(samples); }

    /** {@return the number of batches added so far} */
    public int batches() { return samples.size(); }

    /**
     * {@return GNS with a 90 % BCa bootstrap interval} The seed is fixed: the same batches give the same interval.
     *
     * @throws IllegalArgumentException with fewer than 2 batches
     */
    public GnsResult result() {
        return result(DEFAULT_CONFIDENCE, IntervalMethod.BOOTSTRAP, DEFAULT_SEED);
    }

    /**
     * GNS = mean tr(Σ) / mean |G|² over the batches, with an interval.
     *
     * @param confidence nominal coverage in (0, 1)
     * @param method     bootstrap (BCa) or jackknife over batches
     * @param seed       seed of the bootstrap resampling (unused by the jackknife)
     * @return the estimate, its interval and the batches that would halve the interval
     * @throws IllegalArgumentException with fewer than 2 batches or a confidence outside (0, 1)
     */
    public GnsResult result(double confidence, IntervalMethod method, long seed) {
        int n = samples.size();
        double[] x = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = samples.get(i).traceSigma();
            y[i] = samples.get(i).gradSq();
        }
        RatioInterval.Result r = RatioInterval.compute(x, y, confidence, method, BOOTSTRAP_RESAMPLES, seed);
        return new GnsResult(n, RatioInterval.mean(y), RatioInterval.mean(x),
                Double.isNaN(r.estimate()) ? null : r.estimate(), r.low(), r.high(), confidence, method,
                r.batchesToHalve());
    }
}
