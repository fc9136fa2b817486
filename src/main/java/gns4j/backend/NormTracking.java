package gns4j.backend;

/** Which parameter tensors get per-example squared gradient norms during backward. */
public enum NormTracking {
    /** Every tensor: embeddings, Linear weights and biases, norm layers, head. */
    ALL,
    /** Norm-layer γ/β only: the paper's cheap LayerNorm-GNS. */
    LN,
    /** None: a plain training step. */
    OFF
}
