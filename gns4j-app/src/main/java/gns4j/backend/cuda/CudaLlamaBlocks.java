package gns4j.backend.cuda;

import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.lang.foreign.Arena;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.backend.cuda.CublasLt.R_32F;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Llama blocks on the GPU (the CPU's LlamaBlock): RMSNorm, attention with RoPE on q and k and grouped-query keys and
 * values, residual add; RMSNorm, SwiGLU MLP, residual add. q, k and v are consecutive in the parameter layout, so
 * their weights are one (C + 2·kvC, C) matrix and one GEMM gives the q|k|v rows the attention kernels read (kv heads
 * shared inside the kernels, no copies); gate and up likewise make one (2F, C) GEMM. Shapes: kvC = n_kv_head·hs,
 * F = ffn_hidden, QKV = C + 2·kvC.
 */
final class CudaLlamaBlocks implements CudaBlocks {
    /** Saved activations of one block (bf16 unless noted): qkv (R,QKV) after RoPE, gu (R,2F) gate | up, act (R,F). */
    private record Activations(long ln1, long ln1Rstd, long qkv, long atty, long lse, long mid, long ln2, long ln2Rstd,
                               long gu, long act) {}

    private final CudaOps ops;
    private final ParameterLayout.LlamaBlock[] weights;
    private final Activations[] acts;
    private final int C, QKV, F;
    /** RoPE tables (block_size, hs/2) fp32 of {@link ModelConfig#ropeTables}, as the CPU backend's. */
    private final long cos, sin;
    /** Backward scratch: dbig (R, max(2F, QKV)) bf16 for dgate | dup, then dqkv; dact (R,F) and datty (R,C) bf16. */
    private final long dbig, dact, datty;

    CudaLlamaBlocks(CudaOps ops) {
        this.ops = ops;
        ModelConfig cfg = ops.cfg;
        weights = ops.layout.llamaBlocks;
        C = ops.C;
        QKV = C + 2 * cfg.kvDim();
        F = cfg.ffnHidden();
        Gpu gpu = ops.gpu;
        long R = (long) ops.maxB * cfg.blockSize(), RC = R * C;
        for (ParameterLayout.LlamaBlock w : weights)
            if (!stacked(w.q(), w.k(), w.v()) || !stacked(w.gate(), w.up()))
                throw new IllegalStateException("the fused projections need q, k, v and gate, up consecutive in the layout");
        acts = new Activations[weights.length];
        for (int l = 0; l < acts.length; l++)
            acts[l] = new Activations(gpu.alloc(2 * RC), gpu.alloc(4 * R), gpu.alloc(2 * R * QKV), gpu.alloc(2 * RC),
                    gpu.alloc(4 * R * ops.NH), gpu.alloc(4 * RC), gpu.alloc(2 * RC), gpu.alloc(4 * R), gpu.alloc(4 * R * F),
                    gpu.alloc(2 * R * F));
        dbig = gpu.alloc(2 * R * Math.max(2 * F, QKV));
        dact = gpu.alloc(2 * R * F);
        datty = gpu.alloc(2 * RC);
        float[][] rope = cfg.ropeTables();
        cos = upload(rope[0]);
        sin = upload(rope[1]);
    }

    /** Whether the weights follow each other in the flat buffer, so that their rows form one matrix. */
    static boolean stacked(ParamTensor... ws) {
        for (int i = 1; i < ws.length; i++) if (ws[i].offset() != ws[i - 1].offset() + ws[i - 1].size()) return false;
        return true;
    }

    private long upload(float[] table) {
        long p = ops.gpu.alloc(4L * table.length);
        try (Arena a = Arena.ofConfined()) {
            ops.gpu.upload(p, a.allocateFrom(JAVA_FLOAT, table));
            ops.gpu.sync();
        }
        return p;
    }

    /** out = mid + down(silu(gate(ln2(mid))) ⊙ up(ln2(mid))), mid = in + o(attn(rope(q), rope(k), v of ln1(in))). */
    @Override
    public void forward(int l, long in, long out, int B, int T) {
        ParameterLayout.LlamaBlock w = weights[l];
        Activations a = acts[l];
        int R = B * T;
        ops.normForward(a.ln1, 0, a.ln1Rstd, in, w.attnNorm(), null, R);
        ops.linear(a.qkv, R_16BF, a.ln1, w.q(), R, C, QKV, 0, null, 0);          // q|k|v: (R,C) -> (R,QKV)
        rope(a.qkv, R, T, false);
        ops.attentionForward(a.atty, a.lse, a.qkv, B, T);                       // (R,QKV) -> (R,C)
        ops.linear(a.mid, R_32F, a.atty, w.o(), R, C, C, in, null, 0);
        ops.normForward(a.ln2, 0, a.ln2Rstd, a.mid, w.mlpNorm(), null, R);
        ops.linear(a.gu, R_16BF, a.ln2, w.gate(), R, C, 2 * F, 0, null, 0);     // gate|up: (R,C) -> (R,2F)
        ops.gpu.launch("swiglu_fwd", ops.gpu.blocksFor((long) R * F / 8), 1, 256, 0, a.act, a.gu, (long) R, F);
        ops.linear(out, R_32F, a.act, w.down(), R, F, C, a.mid, null, 0);      // (R,F) -> (R,C)
    }

    @Override
    public void backward(int l, long in, CudaOps.Step st) {
        ParameterLayout.LlamaBlock w = weights[l];
        Activations a = acts[l];
        int R = st.R();
        // MLP: out = mid + down(silu(gate(ln2)) ⊙ up(ln2)); ln2's gradient sums over gate and up in one GEMM.
        ops.lt.linearBackwardInput(dact, R_16BF, ops.dresidBf, ops.bf(w.down()), R, F, C, 0);
        ops.linearWeights(ops.dresidBf, a.act, F, st, null, w.down());
        ops.gradsFinal(w.down());
        ops.gpu.launch("swiglu_bwd", ops.gpu.blocksFor((long) R * F / 8), 1, 256, 0, dbig, a.gu, dact, (long) R, F);
        ops.lt.linearBackwardInput(ops.dnorm, R_32F, dbig, ops.bf(w.gate()), R, C, 2 * F, 0);
        ops.linearWeights(dbig, a.ln2, C, st, null, w.gate(), w.up());
        ops.gradsFinal(w.gate());
        ops.normBackward(ops.dnorm, a.mid, 0, a.ln2Rstd, w.mlpNorm(), null, st);
        ops.gradsFinal(w.mlpNorm());
        // attention: mid = in + o(attn(rope(q|k|v of ln1))); ln1's gradient sums over q, k and v in one GEMM.
        ops.lt.linearBackwardInput(datty, R_16BF, ops.dresidBf, ops.bf(w.o()), R, C, C, 0);
        ops.linearWeights(ops.dresidBf, a.atty, C, st, null, w.o());
        ops.gradsFinal(w.o());
        ops.attentionBackward(dbig, datty, a.atty, a.qkv, a.lse, st.B(), st.T());
        rope(dbig, R, st.T(), true);
        ops.lt.linearBackwardInput(ops.dnorm, R_32F, dbig, ops.bf(w.q()), R, C, QKV, 0);
        ops.linearWeights(dbig, a.ln1, C, st, null, w.q(), w.k(), w.v());
        ops.gradsFinal(w.q());
        ops.normBackward(ops.dnorm, in, 0, a.ln1Rstd, w.attnNorm(), null, st);
        ops.gradsFinal(w.attnNorm());
    }

    /** Turns the q and k heads of qkv (R,QKV) in place by RoPE, or back (the gradient's map) when inverse. */
    private void rope(long qkv, int R, int T, boolean inverse) {
        long pairs = (long) R * (ops.NH + ops.KVH) * (ops.cfg.headSize() / 2);
        ops.gpu.launch("rope_qk", ops.gpu.blocksFor(pairs), 1, 256, 0, qkv, cos, sin, T, ops.NH, ops.KVH, (long) R, inverse ? 1 : 0);
    }
}
