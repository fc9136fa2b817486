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

    /** The GPT-2 groups' arithmetic is GnsTrackerTest's (in the core); here, which Llama tensor goes where. */
    @Test
    void groupsOfALlamaLayout() {
        ParameterLayout llama = new ParameterLayout(new ModelConfig(2, 4, 16, 8, 32, false, NormType.RMSNORM, false,
                Arch.LLAMA, 2, 10000, 48));
        GnsTracker tr = GnsGrouping.tracker(llama.tensors, 0); // α = 0: the smoothed values are the step's estimates
        int n = llama.numTensors(), b = 4;
        Random rng = new Random(7);
        double[] sq = new double[n], gb = new double[n];
        for (int t = 0; t < n; t++) {
            gb[t] = rng.nextDouble();
            sq[t] = b * gb[t] * (1 + rng.nextDouble()); // S ≥ |G_B|², as real norms are
        }
        tr.update(sq, b, gb);

        // Membership, identified independently of ParamKind: by tensor name.
        Predicate<String> rmsNorm = name -> name.endsWith("layernorm.weight") || name.equals("model.norm.weight");
        assertEquals(estimateOf(llama, sq, gb, b, rmsNorm), tr.ema("ln"));
        assertEquals(estimateOf(llama, sq, gb, b, rmsNorm), tr.ema("type/norm"));
        assertEquals(estimateOf(llama, sq, gb, b, name -> name.matches(".*\\.(q|k|v)_proj\\..*")), tr.ema("type/attn_qkv"));
        assertEquals(estimateOf(llama, sq, gb, b, name -> name.matches(".*\\.(gate|up)_proj\\..*")), tr.ema("type/mlp_in"));
        assertEquals(estimateOf(llama, sq, gb, b, name -> name.startsWith("model.layers.1.")), tr.ema("layer/h.1"));
        assertEquals(estimateOf(llama, sq, gb, b, name -> name.equals("model.embed_tokens.weight")), tr.ema("layer/embed"));
        assertEquals(estimateOf(llama, sq, gb, b, name -> name.equals("model.norm.weight") || name.equals("lm_head.weight")),
                tr.ema("layer/head"));
        assertEquals(List.of("embed", "h.0", "h.1", "head"), List.copyOf(tr.gnsByLayer().keySet()));
        assertEquals(5, llama.tensors.stream().filter(t -> rmsNorm.test(t.name())).count());
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

    private static Estimate estimateOf(ParameterLayout layout, double[] sq, double[] gb, int b, Predicate<String> in) {
        double s = 0, g = 0;
        for (ParamTensor t : layout.tensors) {
            if (!in.test(t.name())) continue;
            s += sq[t.index()];
            g += gb[t.index()];
        }
        return GnsEstimator.estimate(s / b, g, b);
    }
}
