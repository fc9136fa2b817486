package gns4j.train;

import gns4j.UserError;
import gns4j.backend.NormTracking;
import gns4j.checkpoint.TrainingState;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.parallel.DistributedGnsStats;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GNS a run reports and its batch schedule follows, from hand-computed steps of B = 2 on a one-block GPT-2: norm
 * tensors with Σ_b|g_b|² = 10 and |G_B|² = 4 (|G|² = 2·4 − 5 = 3, tr(Σ) = (5 − 4)/(1 − ½) = 2: GNS 2/3), every other
 * tensor with 24 and 10 (|G|² = 20 − 12 = 8, tr(Σ) = 2·(12 − 10) = 4: GNS ½).
 */
class StepGnsTest {
    private static final ParameterLayout LAYOUT =
            new ParameterLayout(new ModelConfig(1, 1, 4, 4, 8, true, NormType.LAYERNORM, true));
    private static final int B = 2;
    private static final long NORMS = LAYOUT.tensors.stream().filter(t -> t.kind().isNorm()).count();
    private static final long OTHERS = LAYOUT.tensors.size() - NORMS;
    /** Σ tr(Σ) / Σ |G|² over all tensors. */
    private static final double TOTAL = (2.0 * NORMS + 4 * OTHERS) / (3.0 * NORMS + 8 * OTHERS);
    /** Block 0 holds 4 norm tensors (ln_1, ln_2: weight and bias) and 8 others. */
    private static final double BLOCK_0 = (2.0 * 4 + 4 * 8) / (3.0 * 4 + 8 * 8);

    private static double[] perTensor(double norm, double other) {
        return LAYOUT.tensors.stream().mapToDouble(t -> t.kind().isNorm() ? norm : other).toArray();
    }

    private static final double[] EXAMPLE_SQ = perTensor(10, 24), GRAD_SQ = perTensor(4, 10);

    private static StepStats stats(NormTracking tracking) {
        StepStats s = new StepStats(LAYOUT, tracking, B);
        // examples' squared norms over all tensors [9, 16] and over the norm layers [1, 4]
        s.setBatch(EXAMPLE_SQ, new double[]{9, 16, 1, 4}, 0, B);
        return s;
    }

    private static Double step(StepGns g, NormTracking tracking, TrainConfig.AdaptiveSource source) {
        return g.update(g.exampleSq(stats(tracking)), B, GRAD_SQ, null, source);
    }

    @Test
    void allTensorsTrackedGiveTotalAndLn() {
        StepGns g = new StepGns(LAYOUT, NormTracking.ALL, 0.9);
        assertArrayEquals(EXAMPLE_SQ, g.exampleSq(stats(NormTracking.ALL)));
        assertEquals(TOTAL, step(g, NormTracking.ALL, TrainConfig.AdaptiveSource.TOTAL), 1e-12);
        assertEquals(TOTAL, g.total(), 1e-12);
        assertEquals(2.0 / 3, g.ln(), 1e-12);
        assertEquals(2.0 / 3, g.byType().get("norm"), 1e-12);
        assertEquals(0.5, g.byType().get("mlp_in"), 1e-12);
        assertEquals(List.of("embed", "h.0", "head"), List.copyOf(g.byLayer().keySet()));
        assertEquals(0.5, g.byLayer().get("embed"), 1e-12);
        assertEquals(BLOCK_0, g.byLayer().get("h.0"), 1e-12);
        assertEquals(2.0 / 3, g.byLayer().get("head"), 1e-12, "the final norm");
        assertNotNull(g.snapshot());
    }


    @Test
    void theScheduleFollowsTheLnGnsUnlessTotalIsAskedAndTracked() {
        StepGns all = new StepGns(LAYOUT, NormTracking.ALL, 0.9);
        assertEquals(2.0 / 3, step(all, NormTracking.ALL, TrainConfig.AdaptiveSource.LN), 1e-12);
        StepGns ln = new StepGns(LAYOUT, NormTracking.LN, 0.9);
        assertEquals(2.0 / 3, step(ln, NormTracking.LN, TrainConfig.AdaptiveSource.TOTAL), 1e-12);
        assertNull(ln.total());
        assertEquals(2.0 / 3, ln.ln(), 1e-12);
        assertEquals(Map.of(), ln.byLayer());
        assertEquals(List.of("norm"), List.copyOf(ln.byType().keySet()));
        assertEquals(NORMS, ln.exampleSq(stats(NormTracking.LN)).length);
    }

    @Test
    void nothingTrackedGivesNothing() {
        StepGns off = new StepGns(LAYOUT, NormTracking.OFF, 0.9);
        assertNull(off.exampleSq(stats(NormTracking.OFF)));
        assertNull(off.update(null, B, GRAD_SQ, null, TrainConfig.AdaptiveSource.LN));
        assertNull(off.total());
        assertNull(off.ln());
        assertEquals(Map.of(), off.byType());
        assertEquals(Map.of(), off.byLayer());
        assertNull(off.snapshot());
        off.restore(null, "nowhere"); // nothing to restore, and no state is read
        assertNull(off.normsTotal(stats(NormTracking.OFF)));
        assertNull(off.normsLn(stats(NormTracking.OFF)));
    }

    @Test
    void stepsAreSmoothedWithBiasCorrection() {
        // α = ½: after x1 then x2 the corrected average is (½·½·x1 + ½·x2) / (1 − ¼) = (x1 + 2·x2) / 3
        StepGns g = new StepGns(LAYOUT, NormTracking.LN, 0.5);
        step(g, NormTracking.LN, TrainConfig.AdaptiveSource.LN);
        // second step: norm tensors Σ_b|g_b|² = 24, |G_B|² = 10 → |G|² 8, tr(Σ) 4
        StepStats second = new StepStats(LAYOUT, NormTracking.LN, B);
        second.setBatch(perTensor(24, 24), new double[]{9, 16, 1, 4}, 0, B);
        Double gns = g.update(g.exampleSq(second), B, perTensor(10, 10), null, TrainConfig.AdaptiveSource.LN);
        assertEquals((2 + 2 * 4) / 3.0 / ((3 + 2 * 8) / 3.0), gns, 1e-12);
    }

    @Test
    void dataParallelStepsFeedTheTwoBatchEstimate() {
        StepGns g = new StepGns(LAYOUT, NormTracking.OFF, 0.5);
        assertNull(g.ddp());
        // two ranks of one example: Σ_t mean local |G_r|² = 12, Σ_t |G_B|² = Σ GRAD_SQ
        double[] local = new double[LAYOUT.tensors.size()];
        local[0] = 12;
        double gB = Arrays.stream(GRAD_SQ).sum();
        DistributedGnsStats.Sums ranks = new DistributedGnsStats.Sums(EXAMPLE_SQ, local, 2, 2, 1);
        g.update(null, 2, GRAD_SQ, ranks, TrainConfig.AdaptiveSource.LN);
        // B_small 1, B_big 2: |G|² = 2·gB − 12, tr(Σ) = 1·2·(12 − gB)
        assertEquals(2 * (12 - gB) / (2 * gB - 12), g.ddp(), 1e-12);
        StepGns single = new StepGns(LAYOUT, NormTracking.OFF, 0.5);
        single.update(null, 2, GRAD_SQ, new DistributedGnsStats.Sums(EXAMPLE_SQ, local, 2, 1, 2), TrainConfig.AdaptiveSource.LN);
        assertNull(single.ddp(), "one rank has no two-batch estimate");
    }

    @Test
    void examplesCarryTheirOffsetsAndTrackedNorms() {
        long[] offsets = {40, 7};
        List<Map<String, Object>> all = new StepGns(LAYOUT, NormTracking.ALL, 0.9).examples(offsets, B, stats(NormTracking.ALL));
        assertEquals(List.of(40L, 7L), all.stream().map(e -> e.get("offset")).toList());
        assertEquals(List.of(3.0, 4.0), all.stream().map(e -> e.get("norm_total")).toList());
        assertEquals(List.of(1.0, 2.0), all.stream().map(e -> e.get("norm_ln")).toList());
        List<Map<String, Object>> ln = new StepGns(LAYOUT, NormTracking.LN, 0.9).examples(offsets, B, stats(NormTracking.LN));
        assertNull(ln.get(0).get("norm_total"));
        assertEquals(2.0, ln.get(1).get("norm_ln"));
        List<Map<String, Object>> off = new StepGns(LAYOUT, NormTracking.OFF, 0.9).examples(offsets, B, stats(NormTracking.OFF));
        assertNull(off.get(1).get("norm_ln"));
        StepGns g = new StepGns(LAYOUT, NormTracking.ALL, 0.9);
        assertArrayEquals(new double[]{3, 4}, g.normsTotal(stats(NormTracking.ALL)));
        assertArrayEquals(new double[]{1, 2}, g.normsLn(stats(NormTracking.ALL)));
        assertNull(new StepGns(LAYOUT, NormTracking.LN, 0.9).normsTotal(stats(NormTracking.LN)));
    }

    @Test
    void restoreContinuesFromACheckpointOrNamesIt() {
        StepGns a = new StepGns(LAYOUT, NormTracking.ALL, 0.9);
        step(a, NormTracking.ALL, TrainConfig.AdaptiveSource.LN);
        StepGns b = new StepGns(LAYOUT, NormTracking.ALL, 0.9);
        b.restore(state(a.snapshot()), "step-1");
        assertEquals(a.total(), b.total());
        assertEquals(a.byLayer(), b.byLayer());
        UserError missing = assertThrows(UserError.class, () -> b.restore(state(null), "step-1"));
        assertEquals("checkpoint step-1 has no GNS state", missing.getMessage());
        StepGns ln = new StepGns(LAYOUT, NormTracking.LN, 0.9);
        UserError other = assertThrows(UserError.class, () -> ln.restore(state(a.snapshot()), "step-1"));
        assertTrue(other.getMessage().startsWith("checkpoint step-1: "), other.getMessage());
    }

    private static TrainingState state(gns4j.gns.GnsTracker.Snapshot gns) {
        return new TrainingState(TrainingState.FORMAT, 1, 8, 1, 0, 0, 0, null, null, 0, null, "", 0, gns,
                new com.google.gson.JsonObject());
    }

    @Test
    void tensorsInTheLayoutAreThoseTheNumbersAssume() {
        List<ParamTensor> norms = LAYOUT.tensors.stream().filter(t -> t.kind().isNorm()).toList();
        assertEquals(6, norms.size(), "ln_1, ln_2 and ln_f, weight and bias");
        assertEquals(12 + 4, LAYOUT.tensors.size());
    }
}
