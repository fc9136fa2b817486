package gns4j.model;

import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsEstimator.Estimate;
import gns4j.gns.GnsTracker;
import gns4j.gns.TrackedTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

class GnsGroupingTest {
    /** Two blocks with LayerNorm and biases, tied head. */
    private static final ParameterLayout LAYOUT =
            new ParameterLayout(new ModelConfig(2, 2, 8, 4, 16, true, NormType.LAYERNORM, true));

    @Test
    void groupsOfARealLayout() {
        GnsTracker tr = GnsGrouping.tracker(LAYOUT.tensors, 0); // α = 0: the smoothed values are the step's estimates
        int n = LAYOUT.numTensors(), b = 4;
        Random rng = new Random(7);
        double[] sq = new double[n], gb = new double[n];
        for (int t = 0; t < n; t++) {
            gb[t] = rng.nextDouble();
            sq[t] = b * gb[t] * (1 + rng.nextDouble()); // S ≥ |G_B|², as real norms are
        }
        tr.update(sq, b, gb);

        // Membership, identified independently of ParamKind: by tensor name.
        assertEquals(estimateOf(sq, gb, b, name -> true), tr.ema("total"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".ln_")), tr.ema("ln"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".ln_")), tr.ema("type/norm"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".wte.") || name.contains(".wpe.")), tr.ema("layer/embed"));
        assertEquals(estimateOf(sq, gb, b, name -> name.startsWith("transformer.h.1.")), tr.ema("layer/h.1"));
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".ln_f.")), tr.ema("layer/head")); // tied: no lm_head
        assertEquals(estimateOf(sq, gb, b, name -> name.contains(".c_attn.")), tr.ema("type/attn_qkv"));
        assertEquals(10, LAYOUT.tensors.stream().filter(t -> t.name().contains(".ln_")).count());

        // Types in ParamKind.Group order (as metrics and checkpoints have them), layers in tensor order.
        assertEquals(List.of("embedding", "attn_qkv", "attn_proj", "mlp_in", "mlp_out", "norm"),
                List.copyOf(tr.gnsByType().keySet()));
        assertEquals(List.of("embed", "h.0", "h.1", "head"), List.copyOf(tr.gnsByLayer().keySet()));
    }

    @Test
    void aSubsetIsRenumberedForTheTrackerAndKeepsItsRowsOtherwise() {
        List<ParamTensor> norms = LAYOUT.tensors.stream().filter(t -> t.kind().isNorm()).toList();
        GnsTracker tr = GnsGrouping.tracker(norms, 0);
        double[] sq = new double[norms.size()], gb = new double[norms.size()];
        for (int i = 0; i < sq.length; i++) {
            gb[i] = 1;
            sq[i] = 2 * (i + 1);
        }
        tr.update(sq, 2, gb);
        assertEquals(GnsEstimator.estimate(sq[3] / 2, gb[3], 2), tr.ema("tensor/" + norms.get(3).name()));

        List<TrackedTensor> tracked = GnsGrouping.tracked(norms);
        for (int i = 0; i < norms.size(); i++) assertEquals(norms.get(i).index(), tracked.get(i).index());
    }

    private static Estimate estimateOf(double[] sq, double[] gb, int b, Predicate<String> in) {
        double s = 0, g = 0;
        for (ParamTensor t : LAYOUT.tensors) {
            if (!in.test(t.name())) continue;
            s += sq[t.index()];
            g += gb[t.index()];
        }
        return GnsEstimator.estimate(s / b, g, b);
    }
}
