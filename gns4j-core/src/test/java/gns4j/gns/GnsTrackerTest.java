package gns4j.gns;

import gns4j.gns.GnsEstimator.Estimate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.*;

class GnsTrackerTest {

    /** The per-type groups in the order gns4j reports them. */
    static final List<String> GPT2_TYPES =
            List.of("embedding", "attn_qkv", "attn_proj", "mlp_in", "mlp_out", "norm", "lm_head");

    /** Two tensors of one block: a LayerNorm γ and an MLP matrix. */
    static final List<TrackedTensor> TWO_TENSORS = List.of(
            new TrackedTensor(0, "ln", "norm", "h.0", true),
            new TrackedTensor(1, "fc", "mlp_in", "h.0", false));

    private static final List<TrackedTensor> LAYOUT = gpt2(2);

    /** The tensors of a GPT-2 with biases and a tied head (so no lm_head tensor), in the order gns4j lays them out. */
    static List<TrackedTensor> gpt2(int layers) {
        List<TrackedTensor> out = new ArrayList<>();
        for (String table : List.of("wte", "wpe"))
            out.add(new TrackedTensor(out.size(), "transformer." + table + ".weight", "embedding", "embed", false));
        String[][] block = {{"ln_1", "norm"}, {"attn.c_attn", "attn_qkv"}, {"attn.c_proj", "attn_proj"},
                {"ln_2", "norm"}, {"mlp.c_fc", "mlp_in"}, {"mlp.c_proj", "mlp_out"}};
        for (int i = 0; i < layers; i++)
            for (String[] module : block)
                for (String param : List.of("weight", "bias"))
                    out.add(new TrackedTensor(out.size(), "transformer.h." + i + "." + module[0] + "." + param,
                            module[1], "h." + i, module[1].equals("norm")));
        for (String param : List.of("weight", "bias"))
            out.add(new TrackedTensor(out.size(), "transformer.ln_f." + param, "norm", "head", true));
        return out;
    }

    private static GnsTracker tracker(List<TrackedTensor> tensors, double alpha) {
        return new GnsTracker(tensors, GPT2_TYPES, alpha);
    }

    /**
     * Two tensors of one block, B = 2: g1 = (1 | 2, 2), g2 = (3 | 0, 4), the first component being a LayerNorm γ.
     * norm:  |g1|² = 1, |g2|² = 9,  sum 10, G_B = 2,      |G_B|² = 4  → |G|² = (2·4 − 5)/1 = 3,   tr Σ = 2·(5 − 4) = 2
     * mlp:   |g1|² = 8, |g2|² = 16, sum 24, G_B = (1, 3), |G_B|² = 10 → |G|² = (2·10 − 12)/1 = 8, tr Σ = 2·(12 − 10) = 4
     * total: |G|² = 11, tr Σ = 6 (squared norms add).
     */
    @Test
    void handComputedGroups() {
        GnsTracker tr = tracker(TWO_TENSORS, 0.99);
        assertTrue(tr.update(new double[]{10, 24}, 2, new double[]{4, 10}));

        assertEquals(6.0 / 11, tr.gnsTotal(), 1e-12);
        assertEquals(2.0 / 3, tr.gnsLn(), 1e-12);
        assertEquals(11, tr.rawTotal().gradSq(), 1e-12);
        assertEquals(6, tr.rawTotal().traceSigma(), 1e-12);
        assertEquals(3, tr.rawLn().gradSq(), 1e-12);
        assertEquals(2, tr.rawLn().traceSigma(), 1e-12);
        assertEquals(11, tr.emaTotal().gradSq(), 1e-12);
        assertEquals(6, tr.emaTotal().traceSigma(), 1e-12);
        assertEquals(List.of("ln", "fc"), List.copyOf(tr.gnsByTensor().keySet()));
        assertEquals(0.5, tr.gnsByTensor().get("fc"), 1e-12);
        assertEquals(List.of("mlp_in", "norm"), List.copyOf(tr.gnsByType().keySet())); // the order of the types
        assertEquals(0.5, tr.gnsByType().get("mlp_in"), 1e-12);
        assertEquals(6.0 / 11, tr.gnsByLayer().get("h.0"), 1e-12);
        assertEquals(1, tr.gnsByLayer().size());
    }

    @Test
    void groupsOfAGpt2() {
        GnsTracker tr = tracker(LAYOUT, 0); // α = 0: the smoothed values are the step's estimates, exactly
        int n = LAYOUT.size(), b = 4;
        Random rng = new Random(7);
        double[] sq = new double[n], gb = new double[n];
        for (int t = 0; t < n; t++) {
            gb[t] = rng.nextDouble();
            sq[t] = b * gb[t] * (1 + rng.nextDouble()); // S ≥ |G_B|², as real norms are
        }
        tr.update(sq, b, gb);

        // Membership, identified independently of the tensors' types and layers: by tensor name.
        assertEquals(estimateOf(sq, gb, b, name -> true), tr.ema("total"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".ln_")), tr.ema("ln"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".ln_")), tr.ema("type/norm"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".wte.") || name.contains(".wpe.")), tr.ema("layer/embed"));
        assertEquals(estimateOf(sq, gb, b, name -> name.startsWith("transformer.h.1.")), tr.ema("layer/h.1"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".ln_f.")), tr.ema("layer/head")); // tied: no lm_head
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".c_attn.")), tr.ema("type/attn_qkv"));
        assertEquals(10, LAYOUT.stream().filter(t -> t.name().contains(".ln_")).count());

        // Every tensor sits in exactly one type and one layer, so (estimators being linear) the parts add up.
        assertEquals(List.of("embedding", "attn_qkv", "attn_proj", "mlp_in", "mlp_out", "norm"),
                List.copyOf(tr.gnsByType().keySet()));
        assertEquals(List.of("embed", "h.0", "h.1", "head"), List.copyOf(tr.gnsByLayer().keySet()));
        assertEquals(n, tr.gnsByTensor().size());
        Estimate total = tr.emaTotal();
        for (String prefix : List.of("type/", "layer/", "tensor/")) {
            double g = 0, s = 0;
            for (String id : tr.groupIds()) {
                if (!id.startsWith(prefix)) continue;
                g += tr.ema(id).gradSq();
                s += tr.ema(id).traceSigma();
            }
            assertEquals(total.gradSq(), g, 1e-12 * Math.abs(total.gradSq()), prefix);
            assertEquals(total.traceSigma(), s, 1e-12 * Math.abs(total.traceSigma()), prefix);
        }
        assertThrows(IllegalArgumentException.class, () -> tr.ema("layer/h.2"));
    }

    private static Estimate estimateOf(double[] sq, double[] gb, int b, Predicate<String> in) {
        double s = 0, g = 0;
        for (TrackedTensor t : LAYOUT) {
            if (!in.test(t.name())) continue;
            s += sq[t.index()];
            g += gb[t.index()];
        }
        return GnsEstimator.estimate(s / b, g, b);
    }

    @Test
    void constantInputGivesTheTrueRatioAndBatchOfOneIsSkipped() {
        GnsTracker tr = tracker(LAYOUT, Ema.DEFAULT_ALPHA);
        int n = LAYOUT.size();
        assertNull(tr.gnsTotal());
        assertNull(tr.gnsLn());
        assertNull(tr.emaTotal());
        assertNull(tr.rawTotal());
        assertTrue(tr.gnsByTensor().isEmpty());

        double[] ones = new double[n];
        Arrays.fill(ones, 1);
        assertFalse(tr.update(ones, 1, ones));
        assertNull(tr.gnsTotal());

        // Per tensor S = 3, |G_B|² = 1, B = 5: |G|² = (5 − 3)/4 = 0.5, tr Σ = 5·(3 − 1)/4 = 2.5, GNS = 5.
        double[] sq = new double[n];
        Arrays.fill(sq, 15);
        for (int step = 0; step < 300; step++) {
            assertTrue(tr.update(sq, 5, ones));
            assertEquals(5, tr.gnsTotal(), 1e-9);
            assertEquals(5, tr.gnsLn(), 1e-9);
        }
        assertEquals(0.5 * n, tr.emaTotal().gradSq(), 1e-9);
        tr.gnsByLayer().values().forEach(v -> assertEquals(5, v, 1e-9));

        Double before = tr.gnsTotal();
        assertFalse(tr.update(new double[n], 1, ones)); // would change the estimates if it were used
        assertEquals(before, tr.gnsTotal());
    }

    @Test
    void gnsIsAbsentWhileSmoothedGradSqIsNotPositive() {
        GnsTracker tr = tracker(LAYOUT, 0.5);
        int n = LAYOUT.size();
        double[] sq = new double[n], gb = new double[n];
        Arrays.fill(sq, 8); // S = 2 > B·|G_B|² = 0: pure noise, |G|² estimate −0.67
        tr.update(sq, 4, gb);
        assertTrue(tr.emaTotal().gradSq() < 0);
        assertNull(tr.gnsTotal());
        assertTrue(tr.gnsByType().isEmpty());
        tr.update(new double[n], 4, gb); // all zero: |G|² = 0
        assertNull(tr.gnsLn());
    }

    @Test
    void invalidInputIsRejectedAndLeavesTheStateAlone() {
        GnsTracker tr = tracker(LAYOUT, Ema.DEFAULT_ALPHA);
        int n = LAYOUT.size();
        double[] ok = new double[n];
        Arrays.fill(ok, 1);
        tr.update(scaled(ok, 8), 4, ok);
        GnsTracker.Snapshot before = tr.snapshot();

        double[] nan = ok.clone();
        nan[3] = Double.NaN;
        double[] negative = ok.clone();
        negative[0] = -1;
        assertThrows(IllegalArgumentException.class, () -> tr.update(ok, 4, new double[n - 1]));
        assertThrows(IllegalArgumentException.class, () -> tr.update(new double[n + 1], 4, ok));
        assertThrows(IllegalArgumentException.class, () -> tr.update(ok, 0, ok));
        assertThrows(IllegalArgumentException.class, () -> tr.update(nan, 4, ok));
        assertThrows(IllegalArgumentException.class, () -> tr.update(ok, 4, nan));
        assertThrows(IllegalArgumentException.class, () -> tr.update(ok, 1, nan)); // validated even when skipped
        assertThrows(IllegalArgumentException.class, () -> tr.update(negative, 4, ok));
        assertEquals(before, tr.snapshot());

        assertThrows(IllegalArgumentException.class, () -> tracker(LAYOUT, 1.0));
        assertThrows(IllegalArgumentException.class, () -> tracker(List.of(), 0.9));
        assertThrows(IllegalArgumentException.class, () -> tracker(LAYOUT.subList(1, 3), 0.9));
        assertThrows(IllegalArgumentException.class, () -> new GnsTracker(LAYOUT, List.of("embedding", "norm"), 0.9));
        assertThrows(IllegalArgumentException.class, () -> new GnsTracker(TWO_TENSORS, List.of("norm", "mlp_in", "norm"), 0.9));
        List<TrackedTensor> sameName = List.of(TWO_TENSORS.get(0), new TrackedTensor(1, "ln", "norm", "h.0", true));
        assertThrows(IllegalArgumentException.class, () -> tracker(sameName, 0.9));
    }

    @Test
    void snapshotRestoreContinuesIdentically() {
        int n = LAYOUT.size();
        Random rng = new Random(3);
        GnsTracker a = tracker(LAYOUT, Ema.DEFAULT_ALPHA);
        for (int i = 0; i < 5; i++) a.update(scaled(randomNorms(rng, n), 8), 4, randomNorms(rng, n));

        GnsTracker b = tracker(LAYOUT, Ema.DEFAULT_ALPHA);
        b.restore(a.snapshot());
        assertEquals(a.gnsByTensor(), b.gnsByTensor());
        assertNull(b.rawTotal());
        double[] sq = scaled(randomNorms(rng, n), 8), gb = randomNorms(rng, n);
        a.update(sq, 4, gb);
        b.update(sq, 4, gb);
        assertEquals(a.snapshot(), b.snapshot());
        assertEquals(a.gnsTotal(), b.gnsTotal());

        assertThrows(IllegalArgumentException.class, () -> tracker(LAYOUT, 0.9).restore(a.snapshot()));
        assertThrows(IllegalArgumentException.class, () -> tracker(gpt2(3), Ema.DEFAULT_ALPHA).restore(a.snapshot()));
    }

    /**
     * The contract under gradient accumulation: the step's B examples are all micro-batches together. Summing
     * Σ|g_b|² over micro-batches and accumulating G_B as Σ_m (1/accum)·mean_m gives the same result as one batch.
     */
    @Test
    void microBatchesSumToTheWholeBatch() {
        int b = 6, micro = 2, accum = b / micro, n = LAYOUT.size();
        Random rng = new Random(11);
        double[][][] g = new double[b][n][]; // g[example][tensor] = per-example gradient of that tensor
        double[][] mu = new double[n][];
        for (TrackedTensor t : LAYOUT) {
            int size = 1 + t.index() % 5; // tensors of a few sizes
            mu[t.index()] = new double[size];
            for (int i = 0; i < size; i++) mu[t.index()][i] = 0.3 * rng.nextGaussian();
            for (int e = 0; e < b; e++) {
                g[e][t.index()] = new double[size];
                for (int i = 0; i < size; i++) g[e][t.index()][i] = mu[t.index()][i] + rng.nextGaussian();
            }
        }

        double[] wholeSq = new double[n], wholeGb = new double[n], microSq = new double[n], microGb = new double[n];
        for (int t = 0; t < n; t++) {
            double[] mean = new double[g[0][t].length], acc = new double[mean.length];
            for (int e = 0; e < b; e++) {
                wholeSq[t] += GnsEstimatorTest.dot(g[e][t], g[e][t]);
                for (int i = 0; i < mean.length; i++) mean[i] += g[e][t][i] / b;
            }
            for (int m = 0; m < accum; m++) {
                double partialSq = 0;
                double[] microMean = new double[mean.length];
                for (int e = m * micro; e < (m + 1) * micro; e++) {
                    partialSq += GnsEstimatorTest.dot(g[e][t], g[e][t]);
                    for (int i = 0; i < mean.length; i++) microMean[i] += g[e][t][i] / micro;
                }
                microSq[t] += partialSq;
                for (int i = 0; i < mean.length; i++) acc[i] += microMean[i] / accum;
            }
            wholeGb[t] = GnsEstimatorTest.dot(mean, mean);
            microGb[t] = GnsEstimatorTest.dot(acc, acc);
        }

        GnsTracker whole = tracker(LAYOUT, Ema.DEFAULT_ALPHA), split = tracker(LAYOUT, Ema.DEFAULT_ALPHA);
        whole.update(wholeSq, b, wholeGb);
        split.update(microSq, b, microGb);
        for (String id : whole.groupIds()) {
            Estimate x = whole.ema(id), y = split.ema(id);
            double tol = 1e-12 * (Math.abs(x.gradSq()) + x.traceSigma()); // summation order differs
            assertEquals(x.gradSq(), y.gradSq(), tol, id);
            assertEquals(x.traceSigma(), y.traceSigma(), tol, id);
        }
        assertTrue(whole.gnsTotal() > 0);
    }

    private static double[] randomNorms(Random rng, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rng.nextDouble();
        return a;
    }

    private static double[] scaled(double[] a, double f) {
        double[] out = a.clone();
        for (int i = 0; i < out.length; i++) out[i] *= f;
        return out;
    }
}
