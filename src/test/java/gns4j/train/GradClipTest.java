package gns4j.train;

import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class GradClipTest {

    @Test
    void clipScalesToExactlyMaxNorm() {
        float[] g = {3f, 0f, -4f};
        assertEquals(5.0, GradClip.clip(g, 1.0), 0);
        assertArrayEquals(new float[]{0.6f, 0f, -0.8f}, g, 1e-7f);
        assertEquals(1.0, GradClip.norm(g), 1e-7);
    }

    @Test
    void smallGradientsAndClipOffAreUntouched() {
        float[] g = {0.3f, -0.4f};
        assertEquals(0.5, GradClip.clip(g, 1.0), 1e-7);
        assertArrayEquals(new float[]{0.3f, -0.4f}, g, 0f);
        float[] big = {30f, 40f};
        assertEquals(50.0, GradClip.clip(big, 0.0), 0);
        assertArrayEquals(new float[]{30f, 40f}, big, 0f);
    }

    @Test
    void nonFiniteNormIsReportedNotApplied() {
        float[] g = {Float.NaN, 1f};
        assertEquals(Double.NaN, GradClip.clip(g, 1.0));
        assertEquals(1f, g[1]);
    }

    @Test
    void perTensorSquaredNormsSumToGlobal() {
        ParameterLayout layout = AdamWTest.tinyLayout();
        float[] g = new float[layout.totalSize];
        for (int i = 0; i < g.length; i++) g[i] = (i % 7) - 3;
        double[] sq = GradClip.perTensorSqNorm(layout, g);
        double total = 0;
        for (ParamTensor t : layout.tensors) {
            double expected = 0;
            for (int i = t.offset(); i < t.offset() + t.size(); i++) expected += g[i] * g[i];
            assertEquals(expected, sq[t.index()], 0, t.name());
            total += sq[t.index()];
        }
        assertEquals(Math.sqrt(total), GradClip.norm(g), 1e-12);
    }
}
