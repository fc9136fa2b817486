package gns4j.backend;

/**
 * How a Linear layer's per-example weight-gradient norms are computed (docs/design.md §2.1).
 * SIMULTANEOUS forms each example's dW_b (row by row, fused with the batch sum); GHOST uses the two T×T Gram
 * matrices; AUTO picks per layer by FLOPs: ghost when T·(K+N) &lt; N·K (the CUDA backend, where dW_b is a separate
 * batched GEMM; the CPU backend forms dW_b inside its weight-gradient pass anyway and takes SIMULTANEOUS for AUTO).
 */
public enum LinearNormMethod {
    AUTO, SIMULTANEOUS, GHOST;

    /** Resolves AUTO for a layer with T tokens per example, K inputs and N outputs. */
    public boolean useGhost(int T, int K, int N) {
        return switch (this) {
            case GHOST -> true;
            case SIMULTANEOUS -> false;
            case AUTO -> (long) T * (K + N) < (long) N * K;
        };
    }
}
