package gns4j.gns;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class GnsMeasurementTest {
    /** Per-example gradients g_b = μ + σ·ε_b in D dimensions: |G|² = |μ|², tr(Σ) = σ²·D, GNS = σ²D/|μ|². */
    private static final int D = 16, B = 16, N = 20;
    private static final double SIGMA = 1.0, MU_SQ = 0.5;
    private static final double TRUE_GNS = SIGMA * SIGMA * D / MU_SQ; // 32 sequences, twice the batch size

    /** One synthetic measurement of {@code batches} batches: S and |G_B|² of each from B explicit gradients. */
    static GnsMeasurement synthetic(SplittableRandom rng, int batches, int batchSize) {
        double mu = Math.sqrt(MU_SQ / D); // |μ|² = MU_SQ, spread evenly over the coordinates
        GnsMeasurement m = new GnsMeasurement();
        double[] sum = new double[D];
        for (int i = 0; i < batches; i++) {
            Arrays.fill(sum, 0);
            double s = 0;
            for (int b = 0; b < batchSize; b++) {
                double sq = 0;
                for (int d = 0; d < D; d++) {
                    double g = mu + SIGMA * rng.nextGaussian();
                    sq += g * g;
                    sum[d] += g;
                }
                s += sq;
            }
            double gb = 0;
            for (double v : sum) gb += (v / batchSize) * (v / batchSize);
            m.add(batchSize, s / batchSize, gb);
        }
        return m;
    }

    private static double coverage(IntervalMethod method, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int trials = 400, covered = 0;
        for (int t = 0; t < trials; t++) {
            GnsResult r = synthetic(rng, N, B).result(0.90, method, t);
            if (r.covers(TRUE_GNS)) covered++;
        }
        return covered / (double) trials;
    }

    @Test
    @Tag("simulation")
    void bootstrapIntervalCoversTheTrueGnsAtItsNominalRate() {
        double c = coverage(IntervalMethod.BOOTSTRAP, 1);
        assertTrue(c >= 0.85 && c <= 0.95, "90% BCa bootstrap interval covered the true GNS in " + c + " of trials");
    }

    @Test
    @Tag("simulation")
    void jackknifeIntervalCoversTheTrueGnsAtItsNominalRate() {
        double c = coverage(IntervalMethod.JACKKNIFE, 2);
        assertTrue(c >= 0.85 && c <= 0.95, "90% jackknife interval covered the true GNS in " + c + " of trials");
    }

    @Test
    @Tag("simulation")
    void predictedBatchesHalveTheIntervalWidth() {
        // Median interval width over 100 measurements of N batches, then of the median predicted count.
        SplittableRandom rng = new SplittableRandom(3);
        double[] widths = new double[100];
        int[] predicted = new int[100];
        for (int t = 0; t < 100; t++) {
            GnsResult r = synthetic(rng, N, B).result();
            widths[t] = r.high() - r.low();
            predicted[t] = r.batchesToHalve();
        }
        Arrays.sort(widths);
        Arrays.sort(predicted);
        int n2 = predicted[50];
        assertTrue(n2 > 2 * N && n2 < 5 * N, "about 4N batches, got " + n2);
        double[] widths2 = new double[100];
        for (int t = 0; t < 100; t++) {
            GnsResult r = synthetic(rng, n2, B).result();
            widths2[t] = r.high() - r.low();
        }
        Arrays.sort(widths2);
        double ratio = widths2[50] / widths[50];
        assertTrue(ratio > 0.42 && ratio < 0.58, n2 + " batches gave " + ratio + " of the width of " + N);
    }

    @Test
    void distributionsMatchTables() {
        assertEquals(0.5, Distributions.normalCdf(0), 1e-7);
        assertEquals(0.975002104851780, Distributions.normalCdf(1.96), 1e-7);
        assertEquals(0.022750131948179, Distributions.normalCdf(-2), 1e-7);
        assertEquals(1.644853626951472, Distributions.normalQuantile(0.95), 1e-8);
        assertEquals(-2.326347874040841, Distributions.normalQuantile(0.01), 1e-8);
        assertEquals(3.090232306167813, Distributions.normalQuantile(0.999), 1e-8);
        assertEquals(6.313751514675043, Distributions.tQuantile(0.95, 1), 1e-8);
        assertEquals(2.570581835636314, Distributions.tQuantile(0.975, 5), 1e-8);
        assertEquals(1.729132811521367, Distributions.tQuantile(0.95, 19), 1e-8);
        assertEquals(-1.729132811521367, Distributions.tQuantile(0.05, 19), 1e-8);
        assertEquals(1.660234326, Distributions.tQuantile(0.95, 100), 1e-8);
    }

    @Test
    void sampleRoundTripsItsNormsAndChecksThem() {
        // B = 4: S = 10, |G_B|² = 4 → |G|² = (16 − 10)/3 = 2, tr(Σ) = 4·(10 − 4)/3 = 8
        BatchGnsSample s = BatchGnsSample.of(4, 10, 4);
        assertEquals(2, s.gradSq(), 1e-12);
        assertEquals(8, s.traceSigma(), 1e-12);
        assertEquals(10, s.meanPerExampleSq(), 1e-12);
        assertEquals(4, s.batchGradSq(), 1e-12);
        assertEquals(4, s.bSimple(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> BatchGnsSample.of(1, 10, 4));
        assertThrows(IllegalArgumentException.class, () -> BatchGnsSample.of(4, -1, 4));
        assertThrows(IllegalArgumentException.class, () -> BatchGnsSample.of(4, Double.NaN, 4));
        assertThrows(IllegalArgumentException.class, () -> new GnsMeasurement().add(s).result()); // one batch
        assertThrows(IllegalArgumentException.class, () -> new GnsMeasurement().add(s).add(s).result(1.0, IntervalMethod.BOOTSTRAP, 0));
    }

    @Test
    void ratioOfMeansNotMeanOfRatios() {
        // Batch 1: |G|² 1, tr Σ 10 (ratio 10); batch 2: |G|² 3, tr Σ 6 (ratio 2). Ratio of means 16/4 = 4, mean of ratios 6.
        GnsMeasurement m = new GnsMeasurement()
                .add(new BatchGnsSample(8, 1, 10)).add(new BatchGnsSample(8, 3, 6)).add(new BatchGnsSample(8, 2, 8));
        GnsResult r = m.result();
        assertEquals(24.0 / 6, r.gns(), 1e-12);
        assertEquals(2, r.gradSq(), 1e-12);
        assertEquals(8, r.traceSigma(), 1e-12);
        assertTrue(r.low() <= r.gns() && r.gns() <= r.high());
        assertEquals(r, m.result(), "a fixed seed gives the same interval");
        assertEquals(128, r.inTokens(32).gns(), 1e-9);
    }

    @Test
    void noiseSwampingTheSignalLeavesGnsUndefinedAndTheIntervalOpen() {
        GnsMeasurement m = new GnsMeasurement();
        for (int i = 0; i < 10; i++) m.add(new BatchGnsSample(8, i % 2 == 0 ? 0.5 : -0.7, 5));
        for (IntervalMethod method : IntervalMethod.values()) {
            GnsResult r = m.result(0.9, method, 1);
            assertNull(r.gns());
            assertFalse(r.defined());
            assertEquals(Double.POSITIVE_INFINITY, r.high(), method.toString());
            assertNull(r.batchesToHalve());
            assertTrue(Double.isNaN(r.relativeWidth()));
        }
    }

    @Test
    void groupsSumTheirTensorsLikeTheTracker() {
        // The GnsTrackerTest example, two tensors of one block, B = 2; a second batch with doubled norms.
        GroupedGnsMeasurement g = new GroupedGnsMeasurement(GnsTrackerTest.TWO_TENSORS, GnsTrackerTest.GPT2_TYPES);
        g.add(new double[]{10, 24}, 2, new double[]{4, 10});
        g.add(new double[]{20, 48}, 2, new double[]{8, 20});
        assertEquals(List.of("total", "ln", "type/mlp_in", "type/norm", "layer/h.0", "tensor/ln", "tensor/fc"), g.groupIds());
        Map<String, GnsResult> r = g.results(0.9, IntervalMethod.JACKKNIFE, 0);
        assertEquals(6.0 / 11, r.get("total").gns(), 1e-12);   // (2+4)·1.5 / ((3+8)·1.5)
        assertEquals(2.0 / 3, r.get("ln").gns(), 1e-12);
        assertEquals(4.0 / 8, r.get("tensor/fc").gns(), 1e-12);
        assertEquals(2, g.batches());
        assertThrows(IllegalArgumentException.class, () -> g.add(new double[]{1, 1}, 1, new double[]{1, 1}));
        assertThrows(IllegalArgumentException.class, () -> g.group("nope"));
        assertEquals(2, g.batches(), "a rejected batch adds nothing");
    }
}
