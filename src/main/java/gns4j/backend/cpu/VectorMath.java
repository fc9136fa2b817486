package gns4j.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loops of the CPU backend on float arrays: Vector API lanes with a scalar tail.
 * {@code -Dgns4j.scalar=true} forces the scalar path (the reference when checking the vector one).
 */
final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final boolean VECTOR = !Boolean.getBoolean("gns4j.scalar") && S.length() > 1;

    private VectorMath() {}

    /** Σ a[ao+i]·b[bo+i], i < n. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float sum = 0f;
        if (VECTOR) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            sum = acc.reduceLanes(VectorOperators.ADD);
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
        if (VECTOR) {
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, a, ao + i);
                sum += v.mul(v).reduceLanes(VectorOperators.ADD);
            }
        }
        for (; i < n; i++) sum += (double) a[ao + i] * a[ao + i];
        return sum;
    }

    /** max of a[ao..ao+n). */
    static float max(float[] a, int ao, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (VECTOR) {
            FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.max(FloatVector.fromArray(S, a, ao + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, a[ao + i]);
        return m;
    }

    /** a[i] = exp(a[i] − shift) in place; returns the sum, accumulated in double (softmax denominators). */
    static double expShiftedInPlace(float[] a, int ao, int n, float shift) {
        int i = 0;
        double sum = 0;
        if (VECTOR) {
            FloatVector vs = FloatVector.broadcast(S, shift);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) {
                FloatVector e = FloatVector.fromArray(S, a, ao + i).sub(vs).lanewise(VectorOperators.EXP);
                e.intoArray(a, ao + i);
                sum += e.reduceLanes(VectorOperators.ADD);
            }
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(a[ao + i] - shift);
            a[ao + i] = e;
            sum += e;
        }
        return sum;
    }

    /** a[i] *= alpha. */
    static void scale(float alpha, float[] a, int ao, int n) {
        int i = 0;
        if (VECTOR)
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                FloatVector.fromArray(S, a, ao + i).mul(alpha).intoArray(a, ao + i);
        for (; i < n; i++) a[ao + i] *= alpha;
    }
}
