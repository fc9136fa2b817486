package gns4j.backend.cpu;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.cpu.CpuKernels.NormStats;
import gns4j.backend.cpu.Profile.Op;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.util.function.Function;

import static gns4j.backend.cpu.Profile.time;

/**
 * The Llama block's op sequence on the CPU, written once for training ({@link CpuModel}) and sampling
 * ({@link CpuSampler}), like {@link GptBlock}: RMSNorm, attention with RoPE on q and k and grouped-query keys and
 * values, residual add; RMSNorm, SwiGLU MLP, residual add. q, k and v are turned and expanded into the q|k|v rows
 * the GPT-2 attention kernels read ({@link LlamaKernels#expandQkv}), so both architectures share one attention.
 * Shapes: R rows (B·T in training), C channels, kvC = n_kv_head·hs, F = ffn_hidden.
 */
final class LlamaBlock {
    /**
     * One block's buffers, each holding at least R rows. in, mid and out may be one buffer (the sampler adds into the
     * residual stream in place); q, k, v and proj are scratch of forward, read by no backward; lse may be null.
     */
    record Buffers(float[] in, float[] ln1, NormStats ln1Stats, float[] q, float[] k, float[] v, float[] qkv,
                   float[] atty, float[] lse, float[] proj, float[] mid, float[] ln2, NormStats ln2Stats,
                   float[] gate, float[] up, float[] act, float[] out) {}

    /**
     * Scratch of backward, each at least (R, width) as named: dnormOut and datty (C), dqkv (3C), dq (C), dk and dv
     * (kvC), dgate, dup and dact (F). dq, dk and dv may be forward's q, k and v; packed as in {@link GptBlock.Scratch}.
     */
    record Scratch(float[] dnormOut, float[] dqkv, float[] dq, float[] dk, float[] dv, float[] datty, float[] dgate,
                   float[] dup, float[] dact, float[] packed) {}

    private final Parallel par;
    private final float[] params;
    private final int C, NH, KVH, kvC, F;
    private final GptBlock.Linear linear;
    private final GptBlock.Attention attention;
    private final LlamaKernels.Rope rope;

    LlamaBlock(Parallel par, float[] params, ModelConfig config, GptBlock.Linear linear, GptBlock.Attention attention) {
        this.par = par;
        this.params = params;
        this.C = config.nEmbd();
        this.NH = config.nHead();
        this.KVH = config.nKvHead();
        this.kvC = config.kvDim();
        this.F = config.ffnHidden();
        this.linear = linear;
        this.attention = attention;
        this.rope = LlamaKernels.Rope.of(config);
    }

    /**
     * Block {@code layer} with weights w over R rows, row r at position firstPosition + r mod T:
     * a.out = mid + down(silu(gate(ln2(mid))) ⊙ up(ln2(mid))), mid = a.in + o(attn(rope(q), rope(k), v of ln1(a.in))).
     */
    void forward(int layer, ParameterLayout.LlamaBlock w, Buffers a, int R, int T, int firstPosition) {
        Mat in = Mat.of(a.in(), R, C), ln1 = Mat.of(a.ln1(), R, C), qkv = Mat.of(a.qkv(), R, 3 * C);
        Mat q = Mat.of(a.q(), R, C), k = Mat.of(a.k(), R, kvC), v = Mat.of(a.v(), R, kvC);
        Mat atty = Mat.of(a.atty(), R, C), proj = Mat.of(a.proj(), R, C), mid = Mat.of(a.mid(), R, C);
        Mat ln2 = Mat.of(a.ln2(), R, C), gate = Mat.of(a.gate(), R, F), up = Mat.of(a.up(), R, F), act = Mat.of(a.act(), R, F);
        time(Op.NORM_FWD, () -> CpuKernels.normForward(par, ln1, a.ln1Stats(), in, Mat.of(params, w.attnNorm()), null));
        time(Op.QKV_FWD, () -> linear.forward(q, ln1, w.q(), null));          // (R,C) -> (R,C)
        time(Op.QKV_FWD, () -> linear.forward(k, ln1, w.k(), null));          // (R,C) -> (R,kvC)
        time(Op.QKV_FWD, () -> linear.forward(v, ln1, w.v(), null));          // (R,C) -> (R,kvC)
        time(Op.ROPE_FWD, () -> LlamaKernels.expandQkv(par, qkv, q, k, v, rope, NH, KVH, T, firstPosition)); // -> (R,3C)
        time(Op.ATTENTION_FWD, () -> attention.forward(layer, atty, qkv, a.lse())); // (R,3C) -> (R,C)
        time(Op.ATTN_PROJ_FWD, () -> linear.forward(proj, atty, w.o(), null)); // (R,C) -> (R,C)
        time(Op.ADD, () -> CpuKernels.add(par, mid, in, proj));
        time(Op.NORM_FWD, () -> CpuKernels.normForward(par, ln2, a.ln2Stats(), mid, Mat.of(params, w.mlpNorm()), null));
        time(Op.MLP_FC_FWD, () -> linear.forward(gate, ln2, w.gate(), null)); // (R,C) -> (R,F)
        time(Op.MLP_FC_FWD, () -> linear.forward(up, ln2, w.up(), null));     // (R,C) -> (R,F)
        time(Op.SWIGLU_FWD, () -> LlamaKernels.swigluForward(par, act, gate, up));
        time(Op.MLP_PROJ_FWD, () -> linear.forward(proj, act, w.down(), null)); // (R,F) -> (R,C)
        time(Op.ADD, () -> CpuKernels.add(par, Mat.of(a.out(), R, C), mid, proj));
    }

    /**
     * Backward of {@link #forward} over the saved buffers a of B examples of T tokens (positions from 0): dresid (R,C)
     * holds d(a.out) on entry and d(a.in) on return. Gradients (scaled by scale) and per-example norms go through the
     * views {@code param} gives each tensor.
     */
    void backward(ParameterLayout.LlamaBlock w, Buffers a, Scratch d, float[] dresid, Function<ParamTensor, Param> param,
                  LinearNormMethod method, int B, int T, float scale) {
        int R = B * T;
        Mat dres = Mat.of(dresid, R, C), dnormOut = Mat.of(d.dnormOut(), R, C), datty = Mat.of(d.datty(), R, C);
        // MLP: out = mid + down(silu(gate(ln2)) ⊙ up(ln2)); ln2's gradient is the sum over gate and up.
        Mat ln2 = Mat.of(a.ln2(), R, C), dact = Mat.of(d.dact(), R, F), dgate = Mat.of(d.dgate(), R, F), dup = Mat.of(d.dup(), R, F);
        GptBlock.linearBackward(par, dact, dres, Mat.of(a.act(), R, F), param.apply(w.down()), null, method, B, scale, d.packed(), null);
        time(Op.SWIGLU_BWD, () -> LlamaKernels.swigluBackward(par, dgate, dup, Mat.of(a.gate(), R, F), Mat.of(a.up(), R, F), dact));
        GptBlock.linearBackward(par, dnormOut, dgate, ln2, param.apply(w.gate()), null, method, B, scale, d.packed(), null);
        GptBlock.linearBackward(par, datty, dup, ln2, param.apply(w.up()), null, method, B, scale, d.packed(), null); // datty: free here
        time(Op.ADD, () -> CpuKernels.add(par, dnormOut, dnormOut, datty));
        time(Op.NORM_BWD, () -> CpuKernels.normBackward(par, dres, dnormOut, Mat.of(a.mid(), R, C), a.ln2Stats(),
                param.apply(w.mlpNorm()), null, B, scale));
        // attention: mid = in + o(attn(expand(q, k, v of ln1))); ln1's gradient is the sum over q, k and v.
        Mat ln1 = Mat.of(a.ln1(), R, C), dqkv = Mat.of(d.dqkv(), R, 3 * C);
        Mat dq = Mat.of(d.dq(), R, C), dk = Mat.of(d.dk(), R, kvC), dv = Mat.of(d.dv(), R, kvC);
        GptBlock.linearBackward(par, datty, dres, Mat.of(a.atty(), R, C), param.apply(w.o()), null, method, B, scale, d.packed(), null);
        time(Op.ATTENTION_BWD, () -> AttentionKernels.backward(par, dqkv, datty, Mat.of(a.qkv(), R, 3 * C), a.lse(), B, NH));
        time(Op.ROPE_BWD, () -> LlamaKernels.reduceQkv(par, dq, dk, dv, dqkv, rope, NH, KVH, T));
        GptBlock.linearBackward(par, dnormOut, dq, ln1, param.apply(w.q()), null, method, B, scale, d.packed(), null);
        GptBlock.linearBackward(par, datty, dk, ln1, param.apply(w.k()), null, method, B, scale, d.packed(), null); // datty: free again
        time(Op.ADD, () -> CpuKernels.add(par, dnormOut, dnormOut, datty));
        GptBlock.linearBackward(par, datty, dv, ln1, param.apply(w.v()), null, method, B, scale, d.packed(), null);
        time(Op.ADD, () -> CpuKernels.add(par, dnormOut, dnormOut, datty));
        time(Op.NORM_BWD, () -> CpuKernels.normBackward(par, dres, dnormOut, Mat.of(a.in(), R, C), a.ln1Stats(),
                param.apply(w.attnNorm()), null, B, scale));
    }
}
