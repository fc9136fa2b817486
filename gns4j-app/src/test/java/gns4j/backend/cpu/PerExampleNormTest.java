package gns4j.backend.cpu;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-example squared norms from one batched backward equal |∇L_b|² from running the backward on each example
 * alone, for every tensor, both Linear methods, bias on/off, LayerNorm/RMSNorm, tied/untied, with accumulation.
 */
class PerExampleNormTest {
    static final int B = 3, T = 6;

    static Stream<Object[]> variants() {
        List<Object[]> out = new ArrayList<>();
        for (LinearNormMethod method : new LinearNormMethod[]{LinearNormMethod.SIMULTANEOUS, LinearNormMethod.GHOST})
            for (boolean bias : new boolean[]{true, false})
                for (NormType norm : NormType.values())
                    for (boolean tied : new boolean[]{true, false}) out.add(new Object[]{method, bias, norm, tied});
        return out.stream();
    }

    @ParameterizedTest(name = "{0} bias={1} {2} tied={3}")
    @MethodSource("variants")
    void batchedNormsEqualSingleExampleBackward(LinearNormMethod method, boolean bias, NormType norm, boolean tied) {
        checkAgainstSingleExamples(TinyModels.config(bias, norm, tied), B, T, method);
    }

    private static void checkAgainstSingleExamples(ModelConfig cfg, int B, int T, LinearNormMethod method) {
        int[] ids = TinyModels.tokens(B, T, cfg.vocabSize(), 11);
        int[] targets = TinyModels.tokens(B, T, cfg.vocabSize(), 12);
        try (CpuModel m = new CpuModel(cfg, B, 2)) {
            TinyModels.randomise(m, 5);
            int n = m.layout.numTensors();

            // Reference: each example alone, its own mean-loss gradient.
            double[][] expected = new double[B][n];
            float[] meanGrad = new float[m.params.length];
            for (int b = 0; b < B; b++) {
                m.forward(Arrays.copyOfRange(ids, b * T, b * T + T), Arrays.copyOfRange(targets, b * T, b * T + T), 1, T);
                m.zeroGrad();
                m.backward(1f, NormTracking.OFF, method, null);
                for (ParamTensor t : m.layout.tensors) expected[b][t.index()] = sumSq(m.grads, t);
                for (int i = 0; i < meanGrad.length; i++) meanGrad[i] += m.grads[i] / B;
            }

            // One batched backward.
            double[] sq = new double[n * B];
            m.forward(ids, targets, B, T);
            m.zeroGrad();
            m.backward(1f / B, NormTracking.ALL, method, sq);
            for (ParamTensor t : m.layout.tensors)
                for (int b = 0; b < B; b++)
                    assertClose(expected[b][t.index()], sq[t.index() * B + b], t.name() + " example " + b);
            assertGradEquals(meanGrad, m.grads);

            // Two micro-batches (2 + 1 examples) accumulated: same gradient, same per-example norms.
            m.zeroGrad();
            double[] first = new double[n * 2], second = new double[n];
            m.forward(Arrays.copyOfRange(ids, 0, 2 * T), Arrays.copyOfRange(targets, 0, 2 * T), 2, T);
            m.backward(1f / B, NormTracking.ALL, method, first);
            m.forward(Arrays.copyOfRange(ids, 2 * T, 3 * T), Arrays.copyOfRange(targets, 2 * T, 3 * T), 1, T);
            m.backward(1f / B, NormTracking.ALL, method, second);
            for (ParamTensor t : m.layout.tensors) {
                assertClose(expected[0][t.index()], first[t.index() * 2], t.name() + " accum example 0");
                assertClose(expected[1][t.index()], first[t.index() * 2 + 1], t.name() + " accum example 1");
                assertClose(expected[2][t.index()], second[t.index()], t.name() + " accum example 2");
            }
            assertGradEquals(meanGrad, m.grads);
        }
    }

    /** Llama: grouped-query, multi-query and multi-head attention, tied and untied heads, both Linear methods. */
    @ParameterizedTest(name = "llama {0} n_kv_head={1} tied={2}")
    @MethodSource("llamaVariants")
    void llamaNormsEqualSingleExampleBackward(LinearNormMethod method, int nKvHead, boolean tied) {
        checkAgainstSingleExamples(TinyModels.llama(nKvHead, 20, tied), B, T, method);
    }

    static Stream<Object[]> llamaVariants() {
        List<Object[]> out = new ArrayList<>();
        for (LinearNormMethod method : new LinearNormMethod[]{LinearNormMethod.SIMULTANEOUS, LinearNormMethod.GHOST})
            for (int nKvHead : new int[]{1, 2, 4}) out.add(new Object[]{method, nKvHead, nKvHead != 2});
        return out.stream();
    }

    /** Widths past the vector length and T past one register tile, so the vectorised paths carry the result. */
    @ParameterizedTest(name = "wide {0}")
    @MethodSource("methods")
    void wideModelNormsEqualSingleExampleBackward(LinearNormMethod method) {
        checkAgainstSingleExamples(new ModelConfig(1, 2, 40, 24, 37, true, NormType.LAYERNORM, true), 3, 21, method);
        checkAgainstSingleExamples(ModelConfig.llama(1, 4, 2, 40, 24, 37, 72, 50, true), 3, 21, method);
    }

    static Stream<LinearNormMethod> methods() { return Stream.of(LinearNormMethod.SIMULTANEOUS, LinearNormMethod.GHOST); }

    @ParameterizedTest(name = "LN-only tracking, {0}")
    @MethodSource("variants")
    void lnTrackingFillsOnlyNormRows(LinearNormMethod method, boolean bias, NormType norm, boolean tied) {
        ModelConfig cfg = TinyModels.config(bias, norm, tied);
        int[] ids = TinyModels.tokens(B, T, cfg.vocabSize(), 1);
        try (CpuModel m = new CpuModel(cfg, B, 1)) {
            TinyModels.randomise(m, 2);
            double[] all = new double[m.layout.numTensors() * B], ln = new double[all.length];
            m.forward(ids, ids, B, T);
            m.backward(1f / B, NormTracking.ALL, method, all);
            m.forward(ids, ids, B, T);
            m.backward(1f / B, NormTracking.LN, method, ln);
            for (ParamTensor t : m.layout.tensors)
                for (int b = 0; b < B; b++) {
                    double v = ln[t.index() * B + b];
                    if (t.kind().isNorm()) assertEquals(all[t.index() * B + b], v, 1e-12, t.name());
                    else assertTrue(Double.isNaN(v), t.name() + " should be untracked");
                }
        }
    }

    private static double sumSq(float[] g, ParamTensor t) {
        double s = 0;
        for (int i = t.offset(); i < t.offset() + t.size(); i++) s += (double) g[i] * g[i];
        return s;
    }

    private static void assertClose(double expected, double actual, String what) {
        assertTrue(expected > 0, what + ": reference norm is zero, the comparison would prove nothing");
        assertEquals(expected, actual, 2e-4 * expected + 1e-9, what);
    }

    private static void assertGradEquals(float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++)
            assertEquals(expected[i], actual[i], 1e-5 + 1e-4 * Math.abs(expected[i]), "gradient element " + i);
    }
}
