package gns4j.train;

import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.util.stream.IntStream;

/** Global-norm gradient clipping and squared gradient norms, all accumulated in double. */
public final class GradClip {
    private GradClip() {}

    /** L2 norm of {@code grads}. */
    public static double norm(float[] grads) { return Math.sqrt(sqNorm(grads, 0, grads.length)); }

    /** |G|² of each parameter tensor, indexed by {@link ParamTensor#index()} (what the GNS estimator needs). */
    public static double[] perTensorSqNorm(ParameterLayout layout, float[] grads) {
        double[] out = new double[layout.numTensors()];
        // One task per tensor, each summed in a fixed order: deterministic whatever the thread count.
        IntStream.range(0, out.length).parallel().forEach(i -> {
            ParamTensor t = layout.tensors.get(i);
            out[i] = sqNorm(grads, t.offset(), t.offset() + t.size());
        });
        return out;
    }

    /** Scales {@code grads} in place so their norm is at most {@code maxNorm} (0 = off); returns the pre-clip norm. */
    public static double clip(float[] grads, double maxNorm) { return clip(grads, norm(grads), maxNorm); }

    /**
     * As {@link #clip(float[], double)} with the norm already known (e.g. from the per-tensor squared norms).
     * A NaN or infinite norm is returned without scaling, so the caller sees the blow-up instead of zeroed gradients.
     */
    public static double clip(float[] grads, double norm, double maxNorm) {
        if (maxNorm > 0 && norm > maxNorm && Double.isFinite(norm)) {
            float scale = (float) (maxNorm / norm);
            for (int i = 0; i < grads.length; i++) grads[i] *= scale;
        }
        return norm;
    }

    private static double sqNorm(float[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += (double) a[i] * a[i];
        return s;
    }
}
