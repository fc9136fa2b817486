package gns4j.backend.cuda;

import gns4j.model.Arch;

/**
 * One architecture's transformer blocks on the GPU, as the CPU backend's GptBlock and LlamaBlock: the same op
 * sequence, with each op a kernel or cuBLASLt call of {@link CudaOps}. Block l reads the residual stream {@code in}
 * (R,C) fp32 and writes {@code out}, keeping what its backward reads in its own activations.
 */
interface CudaBlocks {
    void forward(int layer, long in, long out, int B, int T);

    /**
     * Backward of block {@code layer} over its saved activations: ops.dresid holds d(out) (and ops.dresidBf its bf16
     * copy) on entry and d(in) on return; gradients and per-example norms as the step asks.
     */
    void backward(int layer, long in, CudaOps.Step step);

    /** The blocks of the model ops runs, with activations for its largest micro-batch. */
    static CudaBlocks of(CudaOps ops) {
        return ops.cfg.arch() == Arch.LLAMA ? new CudaLlamaBlocks(ops) : new CudaGptBlocks(ops);
    }
}
