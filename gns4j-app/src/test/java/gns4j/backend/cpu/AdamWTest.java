package gns4j.backend.cpu;

import gns4j.backend.AdamWSettings;

import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamKind;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class AdamWTest {
    static ParameterLayout tinyLayout() {
        return new ParameterLayout(new ModelConfig(1, 1, 2, 2, 3, true, NormType.LAYERNORM, true));
    }

    @Test
    void twoStepsMatchHandComputation() {
        ParameterLayout layout = tinyLayout();
        double lr1 = 0.1, lr2 = 0.05, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
        float p0 = 0.5f, g1 = 0.3f, g2 = -0.2f;
        float[] params = new float[layout.totalSize];
        float[] grads = new float[layout.totalSize];
        Arrays.fill(params, p0);
        AdamW adam = new AdamW(layout);
        try (Parallel par = new Parallel(2)) {
            Arrays.fill(grads, g1);
            adam.step(par, params, grads, new AdamWSettings(b1, b2, eps, wd), lr1, 1);
            Arrays.fill(grads, g2);
            adam.step(par, params, grads, new AdamWSettings(b1, b2, eps, wd), lr2, 2);
        }

        // The same two steps written out in double, once with decay and once without.
        double m1 = (1 - b1) * g1, v1 = (1 - b2) * g1 * g1;
        double u1 = (m1 / (1 - b1)) / (Math.sqrt(v1 / (1 - b2)) + eps);
        double m2 = b1 * m1 + (1 - b1) * g2, v2 = b2 * v1 + (1 - b2) * g2 * g2;
        double u2 = (m2 / (1 - b1 * b1)) / (Math.sqrt(v2 / (1 - b2 * b2)) + eps);
        double plain = p0 - lr1 * u1 - lr2 * u2;
        double decayed = ((p0 * (1 - lr1 * wd)) - lr1 * u1) * (1 - lr2 * wd) - lr2 * u2;
        assertNotEquals(plain, decayed, 1e-3);

        for (ParamTensor t : layout.tensors) {
            double expected = t.kind().decayed ? decayed : plain;
            for (int i = t.offset(); i < t.offset() + t.size(); i++)
                assertEquals(expected, params[i], 1e-6, t.name());
            assertEquals(m2, adam.m[t.offset()], 1e-7, t.name());
            assertEquals(v2, adam.v[t.offset()], 1e-8, t.name());
        }
        // both branches really occur in the layout
        assertEquals(true, layout.tensors.stream().anyMatch(t -> t.kind().decayed));
        assertEquals(true, layout.tensors.stream().anyMatch(t -> t.kind() == ParamKind.NORM_WEIGHT));
    }
}
