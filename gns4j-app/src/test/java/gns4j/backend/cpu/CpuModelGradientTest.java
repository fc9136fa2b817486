package gns4j.backend.cpu;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every gradient tensor of the fp32 backward against central finite differences of the double-precision reference. */
class CpuModelGradientTest {

    @ParameterizedTest(name = "bias={0} norm={1} tied={2}")
    @CsvSource({"true, LAYERNORM, true", "false, RMSNORM, false", "true, LAYERNORM, false", "false, LAYERNORM, true"})
    void everyGradientMatchesFiniteDifferences(boolean bias, NormType norm, boolean tied) {
        checkGradients(TinyModels.config(bias, norm, tied), layout -> new ReferenceGpt(layout));
    }

    /** Llama: grouped-query (2 query heads per kv head), multi-query, plain multi-head; RoPE bases far apart. */
    @ParameterizedTest(name = "llama n_kv_head={0} rope_theta={1} tied={2}")
    @CsvSource({"2, 10000, false", "1, 20, true", "4, 20, false"})
    void everyLlamaGradientMatchesFiniteDifferences(int nKvHead, double theta, boolean tied) {
        checkGradients(TinyModels.llama(nKvHead, theta, tied), layout -> new ReferenceLlama(layout));
    }

    /** Mean loss of a batch under weights w, in double precision. */
    private static void checkGradients(ModelConfig cfg, Function<ParameterLayout, ReferenceModel> reference) {
        int B = 2, T = 5;
        int[] ids = TinyModels.tokens(B, T, cfg.vocabSize(), 7);
        int[] targets = TinyModels.tokens(B, T, cfg.vocabSize(), 8);
        try (CpuModel m = new CpuModel(cfg, B, 1)) {
            TinyModels.randomise(m, 3);
            double loss = m.forward(ids, targets, B, T);
            m.zeroGrad();
            m.backward(1f / B, NormTracking.OFF, LinearNormMethod.AUTO, null);

            double[] w = new double[m.params.length];
            for (int i = 0; i < w.length; i++) w[i] = m.params[i];
            ReferenceModel ref = reference.apply(m.layout);
            assertEquals(ref.loss(w, ids, targets, B, T), loss, 1e-5, "fp32 forward vs double reference");

            double h = 1e-5;
            for (ParamTensor t : m.layout.tensors) {
                double errSq = 0, refSq = 0;
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    double saved = w[i];
                    w[i] = saved + h;
                    double up = ref.loss(w, ids, targets, B, T);
                    w[i] = saved - h;
                    double down = ref.loss(w, ids, targets, B, T);
                    w[i] = saved;
                    double numeric = (up - down) / (2 * h);
                    assertEquals(numeric, m.grads[i], 1e-4 + 1e-3 * Math.abs(numeric), t.name() + "[" + (i - t.offset()) + "]");
                    errSq += (numeric - m.grads[i]) * (numeric - m.grads[i]);
                    refSq += numeric * numeric;
                }
                assertTrue(refSq > 0, t.name() + " has a zero gradient: the test would not see a wrong one");
                assertTrue(Math.sqrt(errSq / refSq) < 1e-3, t.name() + " relative error " + Math.sqrt(errSq / refSq));
            }
        }
    }
}
