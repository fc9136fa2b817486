package gns4j.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

    /**
     * a[i] = exp(a[i] − shift) in place; returns the sum, accumulated in double (softmax denominators). The vector
     * lanes use {@link #exp}, made of lane-wise IEEE operations only: the Vector API's own EXP is SVML when compiled
     * and Math.exp when interpreted, so its results would change with JIT timing.
     */
    static double expShiftedInPlace(float[] a, int ao, int n, float shift) {
        int i = 0;
        double sum = 0;
        if (VECTOR && LANES >= 2) {
            FloatVector vs = FloatVector.broadcast(S, shift);
            DoubleVector acc0 = DoubleVector.zero(D), acc1 = DoubleVector.zero(D);
            // float lanes over blocks of EXP_BLOCK vectors, each block's lanes then added in double
            for (int bound = S.loopBound(n); i < bound; ) {
                FloatVector block = FloatVector.zero(S);
                for (int end = Math.min(bound, i + EXP_BLOCK * LANES); i < end; i += LANES) {
                    FloatVector e = exp(FloatVector.fromArray(S, a, ao + i).sub(vs));
                    e.intoArray(a, ao + i);
                    block = block.add(e);
                }
                acc0 = acc0.add((DoubleVector) block.convertShape(VectorOperators.F2D, D, 0));
                acc1 = acc1.add((DoubleVector) block.convertShape(VectorOperators.F2D, D, 1));
            }
            DoubleVector acc = acc0.add(acc1);
            for (int k = 0; k < D.length(); k++) sum += acc.lane(k);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(a[ao + i] - shift);
            a[ao + i] = e;
            sum += e;
        }
        return sum;
    }

    // exp: x = k·ln2 + r with k = rint(x·log2 e) and |r| ≤ ln2/2 (ln2 split in two for exactness), e^r by the degree-7
    // polynomial of Cephes' expf, times 2^k built in the exponent bits. Relative error about 1e-7.
    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final int EXP_BLOCK = 32;
    private static final float ROUND = 12582912f; // 1.5·2^23: adding and subtracting it rounds to an integer
    private static final float EXP_MIN = -87.33654f, EXP_MAX = 88.37626f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x lane by lane (0 below about −87.3, the smallest normal float's logarithm). */
    static FloatVector exp(FloatVector x) {
        var underflow = x.compare(VectorOperators.LT, EXP_MIN);
        FloatVector c = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector k = c.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), c);
        r = k.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, P0), FloatVector.broadcast(S, P1));
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector twoK = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return y.mul(twoK).blend(0f, underflow);
    }

    /**
     * {@link #exp(FloatVector)} of one float by the same IEEE operations in the same order, so the same bits: a scalar
     * tail gives what a lane would, and a pointwise op does not depend on where a vector starts.
     */
    static float exp(float x) {
        float c = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float k = c * LOG2E + ROUND - ROUND;
        float r = Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, c));
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float y = p * (r * r) + r + 1f;
        return x < EXP_MIN ? 0f : y * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /** tanh lane by lane as 1 − 2/(e^{2x} + 1) from {@link #exp}: ±1 where exp saturates or underflows. */
    static FloatVector tanh(FloatVector x) {
        return FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(x.mul(2f)).add(1f)));
    }

    /** {@link #tanh(FloatVector)} of one float, the same bits. */
    static float tanh(float x) { return 1f - 2f / (exp(x * 2f) + 1f); }

    // GELU, tanh form (GPT-2's): gelu(v) = ½·v·(1 + tanh(u)), u = √(2/π)·(v + 0.044715·v³).
    private static final float GELU_K = (float) Math.sqrt(2.0 / Math.PI), GELU_C = 0.044715f;

    /** out[oo+i] = gelu(x[xo+i]), i < n; a scalar tail gives the lanes' bits ({@link #exp(float)}). */
    static void gelu(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        if (VECTOR)
            for (int bound = S.loopBound(n); i < bound; i += LANES) {
                FloatVector v = FloatVector.fromArray(S, x, xo + i);
                FloatVector th = tanh(v.mul(v).mul(v).mul(GELU_C).add(v).mul(GELU_K));
                v.mul(0.5f).mul(th.add(1f)).intoArray(out, oo + i);
            }
        for (; i < n; i++) {
            float v = x[xo + i];
            out[oo + i] = v * 0.5f * (tanh((v * v * v * GELU_C + v) * GELU_K) + 1f);
        }
    }

    /** dx[o+i] = gelu'(x[xo+i])·dy[yo+i], i < n (dx may be dy); the scalar tail as {@link #gelu}'s. */
    static void geluBackward(float[] x, int xo, float[] dy, int yo, float[] dx, int o, int n) {
        int i = 0;
        if (VECTOR)
            for (int bound = S.loopBound(n); i < bound; i += LANES) {
                FloatVector v = FloatVector.fromArray(S, x, xo + i), v2 = v.mul(v);
                FloatVector th = tanh(v2.mul(v).mul(GELU_C).add(v).mul(GELU_K));
                FloatVector sech2 = FloatVector.broadcast(S, 1f).sub(th.mul(th));
                FloatVector slope = v2.mul(3f * GELU_C).add(1f).mul(sech2).mul(v).mul(0.5f * GELU_K);
                th.add(1f).mul(0.5f).add(slope).mul(FloatVector.fromArray(S, dy, yo + i)).intoArray(dx, o + i);
            }
        for (; i < n; i++) {
            float v = x[xo + i], v2 = v * v;
            float th = tanh((v2 * v * GELU_C + v) * GELU_K);
            float slope = (v2 * (3f * GELU_C) + 1f) * (1f - th * th) * v * (0.5f * GELU_K);
            dx[o + i] = ((th + 1f) * 0.5f + slope) * dy[yo + i];
        }
    }

    /** a[i] *= alpha. */
    static void scale(float alpha, float[] a, int ao, int n) {
        int i = 0;
        if (VECTOR)
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                FloatVector.fromArray(S, a, ao + i).mul(alpha).intoArray(a, ao + i);
        for (; i < n; i++) a[ao + i] *= alpha;
    }

    /** a[i] = (a[i]·alpha)·beta, rounded after each product (the bits of {@link #scale} by alpha, then by beta). */
    static void scale(float alpha, float beta, float[] a, int ao, int n) {
        int i = 0;
        if (VECTOR)
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                FloatVector.fromArray(S, a, ao + i).mul(alpha).mul(beta).intoArray(a, ao + i);
        for (; i < n; i++) a[ao + i] = a[ao + i] * alpha * beta;
    }
}
