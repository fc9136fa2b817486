package gns4j.parallel;

import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsEstimator.Estimate;

/**
 * The GNS inputs of one data-parallel optimizer step, made global.
 *
 * <p>Each rank r has, over its n_r local examples (all its micro-batches): per tensor t the sum
 * {@code Σ_b |g_{b,t}|²} of per-example squared norms, and its accumulated local mean gradient
 * {@code G_r = (1/n_r) Σ_b g_b}. With N = Σ_r n_r the global batch, the single-process quantities of the global batch
 * are
 * <pre>
 *   Σ_b |g_{b,t}|²  = Σ_r (local sums)                 (all-reduce of the sums)
 *   B               = Σ_r n_r                          (all-reduce of the counts)
 *   G_B             = Σ_r (n_r / N) · G_r              (each rank scales by n_r/N, then all-reduce; = mean for equal n_r)
 * </pre>
 * and |G_B|² per tensor is taken from the reduced gradient (rank 0's, so that every rank has the same bits), so {@link gns4j.gns.GnsTracker#update} receives exactly what
 * one process seeing the whole batch would. In training the backward pass scales by 1/N directly (N is known from the
 * batch schedule), which makes the gradient all-reduce a plain sum that can run bucketed during backward
 * ({@link GradientBuckets}); {@link #reduceSums} reduces everything else in one collective.
 *
 * <p>The same step also gives the DDP-style two-batch-size estimate (McCandlish et al. 2018, appendix A.1) from the
 * per-rank norms, with B_small = n (the local batch, equal on every rank) and B_big = N:
 * <pre>
 *   |G|²  ≈ (B_big·|G_big|² − B_small·|G_small|²) / (B_big − B_small)
 *   tr(Σ) ≈ (|G_small|² − |G_big|²) / (1/B_small − 1/B_big)
 * </pre>
 * where |G_small|² is the mean over ranks of |G_r|² (each term is unbiased for |G|² + tr(Σ)/n, so their mean is too,
 * with less variance) and |G_big|² = |G_B|². With B_small = 1 this is {@link GnsEstimator}.
 */
public final class DistributedGnsStats {

    private DistributedGnsStats() {}

    /**
     * The global GNS inputs of one step (arrays per tensor, in layout index order).
     *
     * @param perExampleSqSum  Σ_b |g_{b,t}|² over all N examples
     * @param examples         N
     * @param batchGradSq      |G_{B,t}|² of the global mean gradient
     * @param meanLocalGradSq  (1/W) Σ_r |G_{r,t}|², W the world size
     * @param worldSize        W
     * @param localExamples    n, the local batch when every rank had the same; -1 when they differed
     */
    public record Result(double[] perExampleSqSum, long examples, double[] batchGradSq, double[] meanLocalGradSq,
                         int worldSize, long localExamples) {

        static double sum(double[] a) {
            double s = 0;
            for (double v : a) s += v;
            return s;
        }

        /** The per-example (B_small = 1) estimate over all tensors, as the tracker forms it. */
        public Estimate perExampleEstimate() {
            return GnsEstimator.estimate(sum(perExampleSqSum) / examples, sum(batchGradSq), Math.toIntExact(examples));
        }

        /** The DDP-style two-batch estimate over all tensors, or null with one rank or unequal local batches. */
        public Estimate twoBatchEstimate() {
            if (worldSize < 2 || localExamples < 1) return null;
            return GnsEstimator.twoBatch(sum(meanLocalGradSq), localExamples, sum(batchGradSq), examples);
        }
    }

    /**
     * The global sums of a step, all but |G_B|², which comes from the reduced gradient: {@link #result}.
     *
     * @param perExampleSqSum  Σ_b |g_{b,t}|² over all N examples, per tensor
     * @param meanLocalGradSq  (1/W) Σ_r |G_{r,t}|², per tensor
     * @param examples         N
     * @param localExamples    n when every rank had the same, else -1
     */
    public record Sums(double[] perExampleSqSum, double[] meanLocalGradSq, long examples, int worldSize, long localExamples) {
        public Result result(double[] batchGradSq) {
            return new Result(perExampleSqSum, examples, batchGradSq, meanLocalGradSq, worldSize, localExamples);
        }
    }

    /**
     * One double all-reduce of [Σ|g_b|² (nt), |G_r|² (nt), extra] and one exact long all-reduce of [n_r, n_r²], for a
     * caller that reduces the gradient itself (the trainer, on the device). Collective.
     *
     * @param localSqSum   per tensor: Σ_b |g_{b,t}|² over this rank's examples (not modified)
     * @param localCount   n_r ≥ 1
     * @param localGradSq  per tensor: |G_{r,t}|² of this rank's mean gradient
     * @param extra        further per-rank values to sum in the same collective; replaced by their sums
     */
    public static Sums reduceSums(Communicator comm, double[] localSqSum, int localCount, double[] localGradSq, double[] extra) {
        int nt = localSqSum.length;
        if (localGradSq.length != nt) throw new IllegalArgumentException("need one gradient norm per tensor (" + nt + "), got " + localGradSq.length);
        if (localCount < 1) throw new IllegalArgumentException("local example count must be >= 1, got " + localCount);
        double[] packed = new double[2 * nt + extra.length];
        System.arraycopy(localSqSum, 0, packed, 0, nt);
        System.arraycopy(localGradSq, 0, packed, nt, nt);
        System.arraycopy(extra, 0, packed, 2 * nt, extra.length);
        comm.allReduceSum(packed);
        long[] counts = {localCount, (long) localCount * localCount};
        comm.allReduceSum(counts);
        int w = comm.worldSize();
        double[] sqSum = new double[nt], meanLocal = new double[nt];
        System.arraycopy(packed, 0, sqSum, 0, nt);
        for (int t = 0; t < nt; t++) meanLocal[t] = packed[nt + t] / w;
        System.arraycopy(packed, 2 * nt, extra, 0, extra.length);
        // equal local counts iff W·Σn² = (Σn)² (Cauchy–Schwarz)
        boolean equal = (long) w * counts[1] == counts[0] * counts[0];
        return new Sums(sqSum, meanLocal, counts[0], w, equal ? counts[0] / w : -1);
    }
}
