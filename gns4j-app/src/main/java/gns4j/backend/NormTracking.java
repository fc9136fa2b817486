package gns4j.backend;

import gns4j.model.ParamTensor;

import java.util.List;

/** Which parameter tensors get per-example squared gradient norms during backward. */
public enum NormTracking {
    /** Every tensor: embeddings, Linear weights and biases, norm layers, head. */
    ALL,
    /** Norm-layer γ/β only: the paper's cheap LayerNorm-GNS. */
    LN,
    /** None: a plain training step. */
    OFF;

    /** Whether tensor {@code t} gets per-example norms under this setting (the one place that decides it). */
    public boolean tracks(ParamTensor t) {
        return this == ALL || (this == LN && t.kind().isNorm());
    }

    /** The tracked tensors of {@code all}, in order. */
    public List<ParamTensor> tracked(List<ParamTensor> all) {
        return all.stream().filter(this::tracks).toList();
    }
}
