package gns4j.backend.cuda;

import gns4j.model.ParameterLayout;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.backend.cuda.CublasLt.R_32F;

/**
 * GPT-2 blocks on the GPU (the CPU's GptBlock): pre-norm attention, then pre-norm GELU MLP, each added to the residual
 * stream. Biases and GELU (saving its input) run in the epilogues of the adjacent GEMMs, as the residual adds do.
 */
final class CudaGptBlocks implements CudaBlocks {
    /** Saved activations of one block (bf16 unless noted): qkv (R,3C), fc and fcAct (R,4C), mid (R,C) fp32. */
    private record Activations(long ln1, long ln1Mean, long ln1Rstd, long qkv, long atty, long lse, long mid, long ln2,
                               long ln2Mean, long ln2Rstd, long fc, long fcAct) {}

    private final CudaOps ops;
    private final ParameterLayout.Block[] weights;
    private final Activations[] acts;
    private final int C;
    /** Backward scratch: dbig (R,4C) bf16 the MLP's hidden gradient, then dqkv (R,3C); datty (R,C) bf16. */
    private final long dbig, datty;

    CudaGptBlocks(CudaOps ops) {
        this.ops = ops;
        weights = ops.layout.blocks;
        C = ops.C;
        Gpu gpu = ops.gpu;
        long R = (long) ops.maxB * ops.cfg.blockSize(), RC = R * C, heads = R * ops.NH;
        acts = new Activations[weights.length];
        for (int l = 0; l < acts.length; l++)
            acts[l] = new Activations(gpu.alloc(2 * RC), alloc(ops.meanBytes(R)), gpu.alloc(4 * R), gpu.alloc(6 * RC),
                    gpu.alloc(2 * RC), gpu.alloc(4 * heads), gpu.alloc(4 * RC), gpu.alloc(2 * RC), alloc(ops.meanBytes(R)),
                    gpu.alloc(4 * R), gpu.alloc(8 * RC), gpu.alloc(8 * RC));
        dbig = gpu.alloc(8 * RC);
        datty = gpu.alloc(2 * RC);
    }

    private long alloc(long bytes) { return bytes == 0 ? 0 : ops.gpu.alloc(bytes); }

    /** out = mid + mlp(ln2(mid)), mid = in + attn(ln1(in)). */
    @Override
    public void forward(int l, long in, long out, int B, int T) {
        ParameterLayout.Block w = weights[l];
        Activations a = acts[l];
        int R = B * T;
        long RC = (long) R * C;
        ops.normForward(a.ln1, a.ln1Mean, a.ln1Rstd, in, w.ln1Weight(), w.ln1Bias(), R);
        ops.linear(a.qkv, R_16BF, a.ln1, w.qkvWeight(), R, C, 3 * C, 0, w.qkvBias(), 0);
        ops.attentionForward(a.atty, a.lse, a.qkv, B, T);
        ops.linear(a.mid, R_32F, a.atty, w.attnProjWeight(), R, C, C, in, w.attnProjBias(), 0);
        ops.normForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.mid, w.ln2Weight(), w.ln2Bias(), R);
        if (geluEpilogue()) ops.linear(a.fcAct, R_16BF, a.ln2, w.fcWeight(), R, C, 4 * C, 0, w.fcBias(), a.fc);
        else {
            ops.linear(a.fc, R_16BF, a.ln2, w.fcWeight(), R, C, 4 * C, 0, null, 0);
            ops.gpu.launch("gelu_fwd", ops.gpu.blocksFor(4 * RC), 1, 256, 0, a.fcAct, a.fc,
                    w.fcBias() == null ? 0L : ops.param(w.fcBias()), 4 * RC, 4 * C);
        }
        ops.linear(out, R_32F, a.fcAct, w.mlpProjWeight(), R, 4 * C, C, a.mid, w.mlpProjBias(), 0);
    }

    @Override
    public void backward(int l, long in, CudaOps.Step st) {
        ParameterLayout.Block w = weights[l];
        Activations a = acts[l];
        int R = st.R();
        long RC = (long) R * C;
        // MLP: out = mid + proj(gelu(fc(ln2(mid))))
        ops.lt.linearBackwardInput(dbig, R_16BF, ops.dresidBf, ops.bf(w.mlpProjWeight()), R, 4 * C, C, geluEpilogue() ? a.fc : 0);
        ops.linearWeights(ops.dresidBf, a.fcAct, 4 * C, st, w.mlpProjBias(), w.mlpProjWeight());
        ops.gradsFinal(w.mlpProjWeight());
        if (!geluEpilogue()) ops.gpu.launch("gelu_bwd", ops.gpu.blocksFor(4 * RC), 1, 256, 0, dbig, a.fc, dbig, 4 * RC);
        ops.lt.linearBackwardInput(ops.dnorm, R_32F, dbig, ops.bf(w.fcWeight()), R, C, 4 * C, 0);
        ops.linearWeights(dbig, a.ln2, C, st, w.fcBias(), w.fcWeight());
        ops.gradsFinal(w.fcWeight());
        ops.normBackward(ops.dnorm, a.mid, a.ln2Mean, a.ln2Rstd, w.ln2Weight(), w.ln2Bias(), st);
        ops.gradsFinal(w.ln2Weight());
        // attention: mid = in + proj(attn(qkv(ln1(in))))
        ops.lt.linearBackwardInput(datty, R_16BF, ops.dresidBf, ops.bf(w.attnProjWeight()), R, C, C, 0);
        ops.linearWeights(ops.dresidBf, a.atty, C, st, w.attnProjBias(), w.attnProjWeight());
        ops.gradsFinal(w.attnProjWeight());
        ops.attentionBackward(dbig, datty, a.atty, a.qkv, a.lse, st.B(), st.T());
        ops.lt.linearBackwardInput(ops.dnorm, R_32F, dbig, ops.bf(w.qkvWeight()), R, C, 3 * C, 0);
        ops.linearWeights(dbig, a.ln1, C, st, w.qkvBias(), w.qkvWeight());
        ops.gradsFinal(w.qkvWeight());
        ops.normBackward(ops.dnorm, in, a.ln1Mean, a.ln1Rstd, w.ln1Weight(), w.ln1Bias(), st);
        ops.gradsFinal(w.ln1Weight());
    }

    /** GELU (and its gradient) in the cuBLASLt epilogue; its aux matrix needs a leading dimension 4·C divisible by 8. */
    private boolean geluEpilogue() { return C % 2 == 0; }
}
