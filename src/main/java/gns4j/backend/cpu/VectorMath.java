package gns4j.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of the CPU backend on float arrays: Vector API lanes with a scalar tail.
 * {@code -Dgns4j.scalar=true} forces the scalar path (the reference when checking the vector one).
 *
 * <p>Every sum is taken in a fixed order, so results do not depend on the JIT: never {@code reduceLanes(ADD)}, whose
 * order of additions is unspecified and differs between the interpreted and the compiled Vector API (a run resumed
 * in a fresh JVM must repeat the uninterrupted run bit for bit).
 */
final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final boolean VECTOR = !Boolean.getBoolean("gns4j.scalar") && S.length() > 1;

    /** Doubles in a vector of the same bit size: half the lanes of {@link #S}. */
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(S.vectorBitSize()));
    private static final VectorSpecies<Float> F128 = FloatVector.SPECIES_128, F256 = FloatVector.SPECIES_256;
    static final int LANES = S.length();

    private VectorMath() {}

    /**
     * Σ of the lanes of v in a fixed order: the halves of a 512 or 256-bit vector added lane-wise down to four
     * lanes q, then (q0 + q2) + (q1 + q3). {@link #sumStored} gives the same float for the lanes stored in an array.
     */
    static float sumLanes(FloatVector v) {
        switch (LANES) {
            case 16 -> {
                FloatVector h = v.reinterpretShape(F256, 0).reinterpretAsFloats().add(v.reinterpretShape(F256, 1).reinterpretAsFloats());
                FloatVector q = h.reinterpretShape(F128, 0).reinterpretAsFloats().add(h.reinterpretShape(F128, 1).reinterpretAsFloats());
                return (q.lane(0) + q.lane(2)) + (q.lane(1) + q.lane(3));
            }
            case 8 -> {
                FloatVector q = v.reinterpretShape(F128, 0).reinterpretAsFloats().add(v.reinterpretShape(F128, 1).reinterpretAsFloats());
                return (q.lane(0) + q.lane(2)) + (q.lane(1) + q.lane(3));
            }
            case 4 -> {
                return (v.lane(0) + v.lane(2)) + (v.lane(1) + v.lane(3));
            }
            default -> {
                float s = 0f;
                for (int i = 0; i < LANES; i++) s += v.lane(i);
                return s;
            }
        }
    }

    /** {@link #sumLanes} of a vector stored at t[o..o+LANES). */
    static float sumStored(float[] t, int o) {
        switch (LANES) {
            case 16 -> {
                float q0 = (t[o] + t[o + 8]) + (t[o + 4] + t[o + 12]), q1 = (t[o + 1] + t[o + 9]) + (t[o + 5] + t[o + 13]);
                float q2 = (t[o + 2] + t[o + 10]) + (t[o + 6] + t[o + 14]), q3 = (t[o + 3] + t[o + 11]) + (t[o + 7] + t[o + 15]);
                return (q0 + q2) + (q1 + q3);
            }
            case 8 -> {
                float q0 = t[o] + t[o + 4], q1 = t[o + 1] + t[o + 5], q2 = t[o + 2] + t[o + 6], q3 = t[o + 3] + t[o + 7];
                return (q0 + q2) + (q1 + q3);
            }
            case 4 -> {
                return (t[o] + t[o + 2]) + (t[o + 1] + t[o + 3]);
            }
            default -> {
                float s = 0f;
                for (int i = 0; i < LANES; i++) s += t[o + i];
                return s;
            }
        }
    }

    /** Σ a[ao+i]·b[bo+i], i < n. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float sum = 0f;
        if (VECTOR) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            sum = sumLanes(acc);
        }
        for (; i < n; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }

    /** y[yo+i] += alpha·x[xo+i], i < n. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        if (VECTOR) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
    }

    /** Σ a[ao+i]², accumulated in double for the norms. */
    static double sumSq(float[] a, int ao, int n) {
        int i = 0;
        double sum = 0;
        if (VECTOR && S.length() >= 2) {
            // squares accumulated in double lanes (each float vector widened in two halves), summed once at the end
            DoubleVector acc0 = DoubleVector.zero(D), acc1 = DoubleVector.zero(D);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, a, ao + i);
                DoubleVector lo = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
                DoubleVector hi = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 1);
                acc0 = lo.fma(lo, acc0);
                acc1 = hi.fma(hi, acc1);
            }
            DoubleVector acc = acc0.add(acc1);
            for (int k = 0; k < D.length(); k++) sum += acc.lane(k);
        }
        for (; i < n; i++) sum += (double) a[ao + i] * a[ao + i];
        return sum;
    }
}
