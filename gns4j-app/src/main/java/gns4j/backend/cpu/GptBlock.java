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
 * The GPT-2 block's op sequence on the CPU, written once: pre-norm attention then pre-norm MLP, each added to the
 * residual stream. Training ({@link CpuModel}) and sampling ({@link CpuSampler}) walk the same forward and differ only
 * in how a Linear layer gets Wᵀ and what attention attends over; backward is the same sequence reversed.
 * Shapes: R rows (B·T in training, the new tokens in sampling), C channels.
 */
final class GptBlock {
    /** out (R,N) = in (R,K) · Wᵀ + b for W (N,K) and b (N) (null: none). */
    interface Linear {
        /** As {@link #forward(Mat, Mat, ParamTensor, ParamTensor)}, then after (null: nothing) on each block of out. */
        void forward(Mat out, Mat in, ParamTensor weight, ParamTensor bias, Gemm.Epilogue after);

        default void forward(Mat out, Mat in, ParamTensor weight, ParamTensor bias) { forward(out, in, weight, bias, null); }
    }

    /** out (R,C) = causal attention of qkv (R,3C) in block {@code layer}; lse (training only) saved for backward. */
    interface Attention {
        void forward(int layer, Mat out, Mat qkv, float[] lse);
    }

    /**
     * One block's buffers, each holding at least R rows. in, mid and out may be one buffer (the sampler adds into
     * the residual stream in place); proj receives each projection's output before it is added; lse may be null.
     */
    record Buffers(float[] in, float[] ln1, NormStats ln1Stats, float[] qkv, float[] atty, float[] lse, float[] proj,
                   float[] mid, float[] ln2, NormStats ln2Stats, float[] fc, float[] fcAct, float[] out) {}

    /**
     * Scratch of backward, each at least (R, width) as named; packed holds a weight or an input packed for a
     * product ({@link Gemm#packedSize} of the largest).
     */
    record Scratch(float[] dnormOut, float[] dqkv, float[] datty, float[] dfc, float[] packed) {}

    private final Parallel par;
    private final float[] params;
    private final int C, NH;
    private final Linear linear;
    private final Attention attention;

    GptBlock(Parallel par, float[] params, ModelConfig config, Linear linear, Attention attention) {
        this.par = par;
        this.params = params;
        this.C = config.nEmbd();
        this.NH = config.nHead();
        this.linear = linear;
        this.attention = attention;
    }

    /** Block {@code layer} with weights w over R rows: a.out = mid + mlp(ln2(mid)), mid = a.in + attn(ln1(a.in)). */
    void forward(int layer, ParameterLayout.Block w, Buffers a, int R) {
        Mat in = Mat.of(a.in(), R, C), ln1 = Mat.of(a.ln1(), R, C), qkv = Mat.of(a.qkv(), R, 3 * C);
        Mat atty = Mat.of(a.atty(), R, C), proj = Mat.of(a.proj(), R, C), mid = Mat.of(a.mid(), R, C);
        Mat ln2 = Mat.of(a.ln2(), R, C), fc = Mat.of(a.fc(), R, 4 * C), fcAct = Mat.of(a.fcAct(), R, 4 * C);
        time(Op.NORM_FWD, () -> CpuKernels.normForward(par, ln1, a.ln1Stats(), in, Mat.of(params, w.ln1Weight()),
                Mat.of(params, w.ln1Bias())));
        time(Op.QKV_FWD, () -> linear.forward(qkv, ln1, w.qkvWeight(), w.qkvBias()));          // (R,C) -> (R,3C)
        time(Op.ATTENTION_FWD, () -> attention.forward(layer, atty, qkv, a.lse()));            // (R,3C) -> (R,C)
        time(Op.ATTN_PROJ_FWD, () -> linear.forward(proj, atty, w.attnProjWeight(), w.attnProjBias())); // (R,C) -> (R,C)
        time(Op.ADD, () -> CpuKernels.add(par, mid, in, proj));
        time(Op.NORM_FWD, () -> CpuKernels.normForward(par, ln2, a.ln2Stats(), mid, Mat.of(params, w.ln2Weight()),
                Mat.of(params, w.ln2Bias())));
        // (R,C) -> (R,4C), fcAct = gelu(fc)
        time(Op.MLP_FC_FWD, () -> linear.forward(fc, ln2, w.fcWeight(), w.fcBias(), CpuKernels.gelu(fcAct)));
        time(Op.MLP_PROJ_FWD, () -> linear.forward(proj, fcAct, w.mlpProjWeight(), w.mlpProjBias())); // (R,4C) -> (R,C)
        time(Op.ADD, () -> CpuKernels.add(par, Mat.of(a.out(), R, C), mid, proj));
    }

    /**
     * Backward of {@link #forward} over the saved buffers a of B examples of T tokens: dresid (R,C) holds d(a.out)
     * on entry and d(a.in) on return. Gradients (scaled by scale) and per-example norms go through the views
     * {@code param} gives each tensor (null stays null).
     */
    void backward(ParameterLayout.Block w, Buffers a, Scratch d, float[] dresid, Function<ParamTensor, Param> param,
                  LinearNormMethod method, int B, int T, float scale) {
        int R = B * T;
        Mat dres = Mat.of(dresid, R, C), dnormOut = Mat.of(d.dnormOut(), R, C), dqkv = Mat.of(d.dqkv(), R, 3 * C);
        Mat datty = Mat.of(d.datty(), R, C), dfc = Mat.of(d.dfc(), R, 4 * C);
        // MLP: out = mid + proj(gelu(fc(ln2(mid)))); d(fcAct) becomes dfc as each block of it is stored
        Mat fcAct = Mat.of(a.fcAct(), R, 4 * C), ln2 = Mat.of(a.ln2(), R, C);
        linearBackward(par, dfc, dres, fcAct, param.apply(w.mlpProjWeight()), param.apply(w.mlpProjBias()), method, B,
                scale, d.packed(), CpuKernels.geluBackward(Mat.of(a.fc(), R, 4 * C)));
        linearBackward(par, dnormOut, dfc, ln2, param.apply(w.fcWeight()), param.apply(w.fcBias()), method, B, scale, d.packed(),
                null);
        time(Op.NORM_BWD, () -> CpuKernels.normBackward(par, dres, dnormOut, Mat.of(a.mid(), R, C), a.ln2Stats(),
                param.apply(w.ln2Weight()), param.apply(w.ln2Bias()), B, scale));
        // attention: mid = in + proj(attn(qkv(ln1(in))))
        Mat atty = Mat.of(a.atty(), R, C), qkv = Mat.of(a.qkv(), R, 3 * C), ln1 = Mat.of(a.ln1(), R, C);
        linearBackward(par, datty, dres, atty, param.apply(w.attnProjWeight()), param.apply(w.attnProjBias()), method, B,
                scale, d.packed(), null);
        time(Op.ATTENTION_BWD, () -> AttentionKernels.backward(par, dqkv, datty, qkv, a.lse(), B, NH));
        linearBackward(par, dnormOut, dqkv, ln1, param.apply(w.qkvWeight()), param.apply(w.qkvBias()), method, B, scale, d.packed(), null);
        time(Op.NORM_BWD, () -> CpuKernels.normBackward(par, dres, dnormOut, Mat.of(a.in(), R, C), a.ln1Stats(),
                param.apply(w.ln1Weight()), param.apply(w.ln1Bias()), B, scale));
    }

    /**
     * dinp (R,K) = dout (R,N) · W, then after (null: nothing) on each block of it, and W's (and the bias's) gradient
     * and per-example norms; packed is scratch for the products' packed operands ({@link Scratch#packed}).
     */
    static void linearBackward(Parallel par, Mat dinp, Mat dout, Mat inp, Param weight, Param bias,
                               LinearNormMethod method, int B, float scale, float[] packed, Gemm.Epilogue after) {
        time(Op.LINEAR_INPUT_GRAD, () -> LinearKernels.backwardInput(par, dinp, dout, weight.value(), packed, after));
        time(Op.LINEAR_WEIGHT_GRAD, () -> LinearKernels.backwardWeight(par, weight, bias, dout, inp, B, scale,
                method.useGhost(inp.rows() / B, inp.cols(), dout.cols()), null, packed));
    }
}
