package gns4j.backend.cpu;

import gns4j.backend.AdamWSettings;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov &amp; Hutter) over the flat parameter buffer, matching PyTorch's {@code torch.optim.AdamW}: bias
 * corrected moments and decoupled weight decay {@code p -= lr·wd·p}, applied only to tensors whose
 * {@link gns4j.model.ParamKind#decayed} is set (matrices and embeddings, never biases or norm gains).
 * The moments {@link #m} and {@link #v} are public for checkpointing.
 */
public final class AdamW {
    public final float[] m, v;
    private final List<Range> ranges = new ArrayList<>();

    private record Range(int start, int end, boolean decayed) {}

    public AdamW(ParameterLayout layout) {
        this.m = new float[layout.totalSize];
        this.v = new float[layout.totalSize];
        for (ParamTensor t : layout.tensors)
            for (int s = t.offset(); s < t.offset() + t.size(); s += Parallel.CHUNK)
                ranges.add(new Range(s, Math.min(s + Parallel.CHUNK, t.offset() + t.size()), t.kind().decayed));
    }

    /**
     * One update of {@code params} from {@code grads} on par's threads (the model's, so a thread count holds for the
     * whole step); {@code t} is the 1-based optimizer step count.
     */
    void step(Parallel par, float[] params, float[] grads, AdamWSettings s, double lr, int t) {
        if (t < 1) throw new IllegalArgumentException("AdamW step count t is 1-based, got " + t);
        if (params.length != m.length || grads.length != m.length)
            throw new IllegalArgumentException("params/grads length " + params.length + "/" + grads.length
                    + " != layout size " + m.length);
        // PyTorch's form: p -= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps).
        float b1 = (float) s.beta1(), b2 = (float) s.beta2(), e = (float) s.eps();
        float stepSize = (float) (lr / (1 - Math.pow(s.beta1(), t)));
        float invSqrtBc2 = (float) (1 / Math.sqrt(1 - Math.pow(s.beta2(), t)));
        float decay = (float) (1 - lr * s.weightDecay());
        // Element-wise, so the result does not depend on how the ranges are split among threads.
        par.forEach(ranges.size(), r -> {
            Range range = ranges.get(r);
            float keep = range.decayed ? decay : 1f;
            for (int i = range.start; i < range.end; i++) {
                float g = grads[i];
                float mi = b1 * m[i] + (1 - b1) * g;
                float vi = b2 * v[i] + (1 - b2) * g * g;
                m[i] = mi;
                v[i] = vi;
                params[i] = params[i] * keep - stepSize * mi / ((float) Math.sqrt(vi) * invSqrtBc2 + e);
            }
        });
    }
}
