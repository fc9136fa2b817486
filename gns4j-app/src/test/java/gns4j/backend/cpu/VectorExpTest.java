package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The JIT-independent vector exp (and the tanh GELU built on it) and lane sums that keep resumed runs bit for bit. */
class VectorExpTest {
    @Test
    void expIsAccurateAndUnderflowsToZero() {
        int L = FloatVector.SPECIES_PREFERRED.length();
        float[] x = new float[L], out = new float[L];
        double worst = 0;
        for (float v = -87.3f; v < 88f; v += 0.0137f) {
            for (int i = 0; i < L; i++) x[i] = v + i * 1e-3f;
            VectorMath.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(out, 0);
            for (int i = 0; i < L; i++) worst = Math.max(worst, Math.abs(out[i] / Math.exp(x[i]) - 1));
        }
        assertTrue(worst < 4e-7, "relative error " + worst);
        for (int i = 0; i < L; i++) x[i] = i % 2 == 0 ? -1000f : Float.NEGATIVE_INFINITY;
        VectorMath.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(out, 0);
        for (float o : out) assertEquals(0f, o);
    }

    @Test
    void lanesSumInOneFixedOrder() {
        int L = VectorMath.LANES;
        SplittableRandom r = new SplittableRandom(1);
        float[] a = new float[L];
        for (int rep = 0; rep < 100; rep++) {
            for (int i = 0; i < L; i++) a[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(8) - 4));
            assertEquals(Float.floatToIntBits(VectorMath.sumStored(a, 0)),
                    Float.floatToIntBits(VectorMath.sumLanes(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, a, 0))));
        }
    }

    @Test
    void softmaxDenominatorMatchesTheScalarPath() {
        SplittableRandom r = new SplittableRandom(2);
        float[] a = new float[1003];
        for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextGaussian() * 5);
        float max = VectorMath.max(a, 0, a.length);
        double expected = 0;
        for (float v : a) expected += Math.exp(v - max);
        assertEquals(expected, VectorMath.expShiftedInPlace(a.clone(), 0, a.length, max), expected * 1e-6);
    }

    @Test
    void geluAndItsSlopeMatchTheTanhFormula() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 1003; // vector lanes and a scalar tail
        float[] x = new float[n], dy = new float[n], y = new float[n], dx = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 4);
            dy[i] = (float) r.nextGaussian();
        }
        x[0] = 0f;
        x[1] = -30f;
        x[2] = 30f;
        VectorMath.gelu(x, 0, y, 0, n);
        VectorMath.geluBackward(x, 0, dy, 0, dx, 0, n);
        double k = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < n; i++) {
            double v = x[i], th = Math.tanh(k * (v + 0.044715 * v * v * v));
            double slope = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * 0.044715 * v * v);
            assertEquals(0.5 * v * (1 + th), y[i], 1e-6 * (1 + Math.abs(v)), "gelu(" + v + ")");
            assertEquals(slope * dy[i], dx[i], 1e-6 * (1 + Math.abs(dy[i] * v)), "gelu'(" + v + ")");
        }
    }

    @Test
    void scalarTailGivesTheLanesBits() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 3 * VectorMath.LANES;
        float[] x = new float[n], dy = new float[n], y = new float[n], dx = new float[n], y1 = new float[n], dx1 = new float[n];
        for (int rep = 0; rep < 50; rep++) {
            for (int i = 0; i < n; i++) {
                x[i] = (float) (r.nextGaussian() * 6);
                dy[i] = (float) r.nextGaussian();
            }
            VectorMath.gelu(x, 0, y, 0, n);
            VectorMath.geluBackward(x, 0, dy, 0, dx, 0, n);
            for (int i = 0; i < n; i++) { // one element at a time: the scalar tail alone
                VectorMath.gelu(x, i, y1, i, 1);
                VectorMath.geluBackward(x, i, dy, i, dx1, i, 1);
            }
            assertArrayEquals(y, y1);
            assertArrayEquals(dx, dx1);
        }
    }
}
