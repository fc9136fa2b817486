import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsMeasurement;
import gns4j.gns.GnsResult;

import java.util.Random;

/**
 * The gradient noise scale from per-example gradient norms, as any training loop can compute them. The gradients
 * here are synthetic, g_b = μ + σ·ε_b in D dimensions, so the true GNS is known:
 * tr(Σ)/|G|² = D·σ² / (D·μ²) = 1 / 0.2² = 25.
 *
 * <p>Run with the core jar: {@code java -cp gns4j-core/target/gns4j-core-0.1.0.jar examples/NoiseScaleExample.java}
 */
public class NoiseScaleExample {
    public static void main(String[] args) {
        int dims = 100, batchSize = 32, batches = 40;
        double mu = 0.2, sigma = 1.0;
        Random rng = new Random(42);
        GnsMeasurement measurement = new GnsMeasurement();
        for (int batch = 0; batch < batches; batch++) {
            double[] gradientSum = new double[dims];
            double squaredNormSum = 0;
            for (int b = 0; b < batchSize; b++) {
                double squaredNorm = 0; // |g_b|², what a per-example norm computation gives
                for (int d = 0; d < dims; d++) {
                    double g = mu + sigma * rng.nextGaussian();
                    squaredNorm += g * g;
                    gradientSum[d] += g;
                }
                squaredNormSum += squaredNorm;
            }
            double batchGradSq = 0; // |G_B|², the squared norm of the batch's mean gradient
            for (double s : gradientSum) batchGradSq += (s / batchSize) * (s / batchSize);
            double meanPerExampleSq = squaredNormSum / batchSize;
            if (batch == 0) // one batch alone gives unbiased but noisy estimates
                System.out.printf("first batch alone: GNS %.1f%n",
                        GnsEstimator.estimate(meanPerExampleSq, batchGradSq, batchSize).bSimple());
            measurement.add(batchSize, meanPerExampleSq, batchGradSq);
        }
        GnsResult r = measurement.result(); // ratio of means over the batches, 90 % BCa bootstrap interval
        System.out.printf("%d batches: GNS %.1f, 90%% interval [%.1f, %.1f] (true 25); %d batches would halve it%n",
                r.batches(), r.gns(), r.low(), r.high(), r.batchesToHalve());
    }
}
