package gns4j.backend;

/** Which parameter tensors get per-example squared gradient norms during backward. */
public enum NormTracking {
    /** Every tensor: embeddings, Linear weights and biases, norm layers, head. */
    ALL,
    /** Norm-layer γ/β only: the paper's cheap LayerNorm-GNS. */
    LN,
    /** None: a plain training step. */
    OFF;

    public static NormTracking parse(String s) {
        return switch (s.toLowerCase()) {
            case "all" -> ALL;
            case "ln" -> LN;
            case "off", "none" -> OFF;
            default -> throw new IllegalArgumentException("per_example_norms must be all, ln or off, got '" + s + "'");
        };
    }
}
