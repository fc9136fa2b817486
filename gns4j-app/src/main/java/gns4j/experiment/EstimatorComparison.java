package gns4j.experiment;

import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.data.TokenDataset;
import gns4j.gns.BatchGnsSample;
import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsMeasurement;
import gns4j.gns.GnsResult;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * How precise is B_simple (all parameters) from three estimators fed by exactly the same forward/backward passes of
 * one model state, i.e. at equal compute: {@code batches} batches of B random sequences, each run as B/b
 * micro-batches of b sequences, weights unchanged. From each micro-batch the pass keeps the per-example squared
 * norms and the micro-batch's own gradient; the batch gradient is the mean of its micro-batches' gradients.
 *
 * <ul>
 *   <li><b>per-example</b> (this project, the paper): B_small = 1, B_big = B, from S = mean_b |g_b|² and |G_B|²; one
 *       sample per batch.</li>
 *   <li><b>micro-batch</b> (McCandlish et al.'s two-batch-size estimator as in data-parallel training, each
 *       micro-batch standing for one worker): B_small = b, B_big = B, from the mean over micro-batches of
 *       |G_b|² and |G_B|²; one sample per batch. Needs no per-example norms.</li>
 *   <li><b>sequential</b> (what a trainer with neither can do: compare consecutive steps' gradients): B_small = B,
 *       B_big = 2B, from the mean of |G_B|² of two consecutive batches and the squared norm of their mean; one
 *       sample per pair of batches. Here both batches see the same weights; during training the step between them
 *       adds a bias that this measurement does not include.</li>
 * </ul>
 * For each: the two-size unbiased estimates |G|² ≈ (B_big|G_big|² − B_small|G_small|²)/(B_big − B_small) and
 * tr(Σ) ≈ (|G_small|² − |G_big|²)/(1/B_small − 1/B_big) per sample, B_simple = mean tr(Σ) / mean |G|² (ratio of
 * means) with a 90% BCa bootstrap interval over the samples, and the spread of the same ratio over {@code groups}
 * disjoint groups of consecutive batches (each group a repeat of the measurement at 1/groups of the compute).
 */
public final class EstimatorComparison {
    private EstimatorComparison() {}

    /** The estimators, in table order. */
    public enum Estimator {
        PER_EXAMPLE("per-example norms", "B_small = 1, B_big = B: per-example squared norms and the batch gradient"),
        MICRO_BATCH("micro-batch norms (two batch sizes)", "B_small = micro batch b, B_big = B: micro-batch gradient norms and the batch gradient"),
        SEQUENTIAL("sequential steps", "B_small = B, B_big = 2B: the gradients of two consecutive batches and their mean");

        public final String label, uses;

        Estimator(String label, String uses) {
            this.label = label;
            this.uses = uses;
        }
    }

    /** One estimator's numbers; groupMean/groupStd over the groups' estimates (NaN where a group's is undefined). */
    public record Row(Estimator estimator, int samples, GnsResult all, int groups, double groupMean, double groupStd) {
        /** Variance of the per-group estimate. */
        public double groupVariance() { return groupStd * groupStd; }
    }

    /** The result: setting and rows. */
    public record Result(int batches, int batchSize, int microBatch, int blockSize, double seconds, List<Row> rows) {}

    /**
     * @param batches    even, &ge; 2·groups (each group needs a pair of batches for the sequential estimator)
     * @param batchSize  B, a multiple of microBatch with at least 2 micro-batches
     * @param microBatch b &ge; 1, at most backend.maxMicroBatch()
     * @param groups     &ge; 2 disjoint groups of batches, dividing batches/2
     */
    public static Result measure(Backend backend, TokenDataset data, int batches, int batchSize, int microBatch,
                                 int blockSize, int groups, LinearNormMethod method, RandomGenerator rng) {
        if (microBatch < 1 || microBatch > backend.maxMicroBatch())
            throw new IllegalArgumentException("micro batch " + microBatch + " must be in [1, " + backend.maxMicroBatch() + "]");
        if (batchSize % microBatch != 0 || batchSize / microBatch < 2 || batchSize < 2)
            throw new IllegalArgumentException("batch size " + batchSize + " must be at least two micro batches of " + microBatch);
        if (groups < 2 || batches % 2 != 0 || (batches / 2) % groups != 0)
            throw new IllegalArgumentException("batches (" + batches + ") must be even and batches/2 a multiple of groups (" + groups + ")");
        int T = blockSize, micros = batchSize / microBatch, nt = backend.layout().numTensors();
        int P = backend.layout().totalSize;
        double[] sq = new double[nt * microBatch];
        int[] inputs = new int[microBatch * T], targets = new int[microBatch * T];
        long[] offsets = new long[microBatch];
        float[] g = new float[P];
        double[] batchGrad = new double[P], previousBatchGrad = new double[P];
        double previousBigSq = 0;
        List<BatchGnsSample> perExample = new ArrayList<>(), microBatchSamples = new ArrayList<>(), sequential = new ArrayList<>();
        long start = System.nanoTime();
        for (int batch = 0; batch < batches; batch++) {
            java.util.Arrays.fill(batchGrad, 0);
            double sumExampleSq = 0, sumMicroSq = 0;
            for (int m = 0; m < micros; m++) {
                data.sampleBatch(rng, microBatch, T, inputs, targets, offsets);
                backend.zeroGrad();
                // gradScale 1/b: the gradient buffer holds this micro-batch's mean gradient G_b.
                backend.forwardBackward(inputs, targets, microBatch, T, 1f / microBatch, NormTracking.ALL, method, sq);
                for (double v : sq) sumExampleSq += v;
                backend.readGrads(g);
                double microSq = 0;
                for (int i = 0; i < P; i++) {
                    microSq += (double) g[i] * g[i];
                    batchGrad[i] += g[i];
                }
                sumMicroSq += microSq;
            }
            double bigSq = 0;
            for (int i = 0; i < P; i++) {
                batchGrad[i] /= micros;
                bigSq += batchGrad[i] * batchGrad[i];
            }
            perExample.add(twoSize(1, sumExampleSq / batchSize, batchSize, bigSq));
            microBatchSamples.add(twoSize(microBatch, sumMicroSq / micros, batchSize, bigSq));
            if (batch % 2 == 1) {
                double pairSq = 0;
                for (int i = 0; i < P; i++) {
                    double mean = 0.5 * (batchGrad[i] + previousBatchGrad[i]);
                    pairSq += mean * mean;
                }
                sequential.add(twoSize(batchSize, 0.5 * (bigSq + previousBigSq), 2 * batchSize, pairSq));
            }
            double[] t = previousBatchGrad;
            previousBatchGrad = batchGrad;
            batchGrad = t;
            previousBigSq = bigSq;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Row> rows = List.of(row(Estimator.PER_EXAMPLE, perExample, groups),
                row(Estimator.MICRO_BATCH, microBatchSamples, groups), row(Estimator.SEQUENTIAL, sequential, groups));
        return new Result(batches, batchSize, microBatch, T, seconds, rows);
    }

    /** One sample of the two-batch-size estimator ({@link GnsEstimator#twoBatch}): bSmall &lt; bBig examples. */
    static BatchGnsSample twoSize(int bSmall, double smallSq, int bBig, double bigSq) {
        return BatchGnsSample.of(bBig, GnsEstimator.twoBatch(smallSq, bSmall, bigSq, bBig));
    }

    private static Row row(Estimator e, List<BatchGnsSample> samples, int groups) {
        GnsMeasurement all = new GnsMeasurement();
        samples.forEach(all::add);
        int per = samples.size() / groups;
        double[] est = new double[groups];
        for (int k = 0; k < groups; k++) {
            double x = 0, y = 0;
            for (BatchGnsSample s : samples.subList(k * per, (k + 1) * per)) {
                x += s.traceSigma();
                y += s.gradSq();
            }
            est[k] = y > 0 ? x / y : Double.NaN;
        }
        double mean = 0, ss = 0;
        for (double v : est) mean += v / groups;
        for (double v : est) ss += (v - mean) * (v - mean);
        return new Row(e, samples.size(), all.result(), groups, mean, Math.sqrt(ss / (groups - 1)));
    }
}
