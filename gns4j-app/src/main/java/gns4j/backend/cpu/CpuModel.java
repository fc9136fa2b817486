package gns4j.backend.cpu;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.backend.cpu.Profile.Op;
import gns4j.model.Arch;
import gns4j.model.Gpt2Init;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.model.NormType;

import java.util.Arrays;
import java.util.function.Function;

import static gns4j.backend.cpu.Profile.time;

/**
 * The GPT-2 or Llama model on the CPU in fp32: flat parameter and gradient buffers (named offsets from
 * {@link ParameterLayout}), activations kept per layer for backward, and an explicit backward that also writes
 * per-example squared gradient norms of every tracked tensor. Activations are sized for {@code maxBatch} × block_size.
 */
public final class CpuModel implements AutoCloseable {
    public final ModelConfig config;
    public final ParameterLayout layout;
    public final float[] params;
    public final float[] grads;

    private final Parallel par;
    private final int maxBatch;
    // Shapes: R = maxBatch·block_size rows; block l reads resid[l] and writes resid[l+1], resid[L] is the final
    // residual stream; dnormOut (R,C) is the gradient of a norm's output in backward, the head's first.
    private final Blocks blocks;
    private final float[][] resid;
    private final float[] lnf, logits, losses, dresid, dnormOut;
    private final CpuKernels.NormStats lnfStats;
    /** Scratch for the packed operand of every product, forward and backward (see {@link #packedSize}). */
    private final float[] packed;
    private int[] ids, targets;
    private int batch, seqLen;

    public CpuModel(ModelConfig config, int maxBatch, int threads) {
        this.config = config;
        this.layout = new ParameterLayout(config);
        this.maxBatch = maxBatch;
        this.par = new Parallel(threads);
        this.params = new float[layout.totalSize];
        this.grads = new float[layout.totalSize];
        int C = config.nEmbd(), L = config.nLayer();
        int R = Math.multiplyExact(maxBatch, config.blockSize());
        resid = new float[L + 1][R * C];
        lnf = new float[R * C];
        lnfStats = CpuKernels.NormStats.of(config.norm() == NormType.LAYERNORM, R);
        logits = new float[Math.multiplyExact(R, config.vocabSize())];
        losses = new float[R];
        dresid = new float[R * C];
        dnormOut = new float[R * C];
        packed = new float[packedSize(layout, R)];
        // Training packs each weight into packed when it is used; attention is over the batch's own rows.
        GptBlock.Linear linear = (out, in, w, b, after) -> LinearKernels.forward(par, out, in,
                LinearKernels.packTransposed(par, Mat.of(params, w), in.rows(), packed), Mat.of(params, b), after);
        GptBlock.Attention attention = (l, out, qkv, lse) -> AttentionKernels.forward(par, out, lse, qkv, batch, config.nHead());
        blocks = config.arch() == Arch.LLAMA ? llamaBlocks(R, linear, attention) : gptBlocks(R, linear, attention);
    }

    /** One architecture's blocks over their saved activations: block l reads resid[l] and writes resid[l+1]. */
    private interface Blocks {
        void forward(int l, int R, int T);

        /** dresid holds d(resid[l+1]) on entry and d(resid[l]) on return. */
        void backward(int l, Function<ParamTensor, Param> param, LinearNormMethod method, int B, int T, float scale);
    }

    /** GPT-2 blocks; every block's projections go through the one proj scratch (R,C), also backward's datty. */
    private Blocks gptBlocks(int R, GptBlock.Linear linear, GptBlock.Attention attention) {
        int C = config.nEmbd();
        boolean ln = config.norm() == NormType.LAYERNORM;
        float[] proj = new float[R * C];
        GptBlock.Buffers[] layers = new GptBlock.Buffers[config.nLayer()];
        for (int l = 0; l < layers.length; l++)
            layers[l] = new GptBlock.Buffers(resid[l], new float[R * C], CpuKernels.NormStats.of(ln, R), new float[3 * R * C],
                    new float[R * C], new float[maxBatch * config.nHead() * config.blockSize()], proj, new float[R * C],
                    new float[R * C], CpuKernels.NormStats.of(ln, R), new float[4 * R * C], new float[4 * R * C], resid[l + 1]);
        GptBlock.Scratch scratch = new GptBlock.Scratch(dnormOut, new float[3 * R * C], proj, new float[4 * R * C], packed);
        GptBlock block = new GptBlock(par, params, config, linear, attention);
        ParameterLayout.Block[] w = layout.blocks;
        return new Blocks() {
            public void forward(int l, int R, int T) { block.forward(l, w[l], layers[l], R); }

            public void backward(int l, Function<ParamTensor, Param> param, LinearNormMethod method, int B, int T, float s) {
                block.backward(w[l], layers[l], scratch, dresid, param, method, B, T, s);
            }
        };
    }

    /**
     * Llama blocks; q, k, v (kvC = n_kv_head·hs wide) and proj are forward's scratch of every block, q, k, v also
     * backward's dq, dk, dv, and proj its datty.
     */
    private Blocks llamaBlocks(int R, GptBlock.Linear linear, GptBlock.Attention attention) {
        int C = config.nEmbd(), kvC = config.kvDim(), F = config.ffnHidden();
        float[] q = new float[R * C], k = new float[R * kvC], v = new float[R * kvC], proj = new float[R * C];
        LlamaBlock.Buffers[] layers = new LlamaBlock.Buffers[config.nLayer()];
        for (int l = 0; l < layers.length; l++)
            layers[l] = new LlamaBlock.Buffers(resid[l], new float[R * C], CpuKernels.NormStats.of(false, R), q, k, v,
                    new float[3 * R * C], new float[R * C], new float[maxBatch * config.nHead() * config.blockSize()], proj,
                    new float[R * C], new float[R * C], CpuKernels.NormStats.of(false, R), new float[R * F],
                    new float[R * F], new float[R * F], resid[l + 1]);
        LlamaBlock.Scratch scratch = new LlamaBlock.Scratch(dnormOut, new float[3 * R * C], q, k, v, proj,
                new float[R * F], new float[R * F], new float[R * F], packed);
        LlamaBlock block = new LlamaBlock(par, params, config, linear, attention);
        ParameterLayout.LlamaBlock[] w = layout.llamaBlocks;
        return new Blocks() {
            public void forward(int l, int R, int T) { block.forward(l, w[l], layers[l], R, T, 0); }

            public void backward(int l, Function<ParamTensor, Param> param, LinearNormMethod method, int B, int T, float s) {
                block.backward(w[l], layers[l], scratch, dresid, param, method, B, T, s);
            }
        };
    }

    /**
     * Floats of the largest packed operand: every weight W (N,K), read as Wᵀ in forward and as W in backward, and R
     * rows of a Linear layer's input (width K).
     */
    private static int packedSize(ParameterLayout layout, int R) {
        int most = 0;
        for (ParamTensor t : layout.tensors) {
            if (t.shape().length != 2) continue;
            int N = t.shape()[0], K = t.shape()[1];
            most = Math.max(most, Math.max(Gemm.packedSize(K, N), Gemm.packedSize(N, K)));
            most = Math.max(most, Gemm.packedSize(R, K));
        }
        return most;
    }

    public int threads() { return par.threads; }

    /** The threads of every kernel of this model, also the optimizer's. */
    Parallel parallel() { return par; }

    public int maxBatch() { return maxBatch; }

    /** GPT-2 initialisation ({@link Gpt2Init}). */
    public void initWeights(long seed) { Gpt2Init.fill(layout, seed, params); }

    public void zeroGrad() { par.forChunks(grads.length, (k, start, end) -> Arrays.fill(grads, start, end, 0f)); }

    /**
     * Forward pass over B sequences of T tokens (T ≤ block_size, B ≤ maxBatch); inputs and targets are [B·T].
     * Returns the mean token loss; per-example mean losses via {@link #exampleLoss(int)}.
     */
    public double forward(int[] inputs, int[] targets, int B, int T) {
        if (B < 1 || B > maxBatch) throw new IllegalArgumentException("batch " + B + " outside [1, " + maxBatch + "]");
        if (T < 1 || T > config.blockSize()) throw new IllegalArgumentException("sequence length " + T + " outside [1, block_size]");
        int V = config.vocabSize();
        for (int i = 0; i < B * T; i++)
            if (inputs[i] < 0 || inputs[i] >= V || targets[i] < 0 || targets[i] >= V)
                throw new IllegalArgumentException("token id out of range [0, " + V + ") at position " + i);
        this.ids = inputs;
        this.targets = targets;
        this.batch = B;
        this.seqLen = T;
        int C = config.nEmbd(), R = B * T, L = config.nLayer();
        ParameterLayout p = layout;
        time(Op.EMBEDDING_FWD, () -> CpuKernels.embeddingForward(par, Mat.of(resid[0], R, C), inputs, Mat.of(params, p.wte),
                Mat.of(params, p.wpe), T, 0));
        for (int l = 0; l < L; l++) blocks.forward(l, R, T);
        Mat lnfOut = Mat.of(lnf, R, C), logitsMat = Mat.of(logits, R, V);
        time(Op.NORM_FWD, () -> CpuKernels.normForward(par, lnfOut, lnfStats, Mat.of(resid[L], R, C), Mat.of(params, p.lnfWeight),
                Mat.of(params, p.lnfBias)));
        time(Op.HEAD_FWD, () -> LinearKernels.forward(par, logitsMat, lnfOut, LinearKernels.packTransposed(par, head(), R, packed),
                null, null)); // (R,C) -> (R,V)
        // logits now hold dlogits
        return time(Op.SOFTMAX_XENT, () -> CpuKernels.softmaxCrossEntropy(par, logitsMat, losses, targets, T));
    }

    /** Mean token loss of example b of the last forward. */
    public double exampleLoss(int b) {
        double s = 0;
        for (int t = 0; t < seqLen; t++) s += losses[b * seqLen + t];
        return s / seqLen;
    }

    /**
     * Backward of the last forward. Adds gradScale·Σ_b ∇L_b into {@link #grads} (L_b: example b's mean token loss)
     * and writes per-example squared norms |∇L_b|² of every tracked tensor into sq[tensor.index·B + b];
     * untracked rows are set to NaN. sq may be null when tracking is OFF.
     */
    public void backward(float gradScale, NormTracking tracking, LinearNormMethod method, double[] sq) {
        int B = batch, T = seqLen, C = config.nEmbd(), V = config.vocabSize(), R = B * T;
        if (tracking != NormTracking.OFF) {
            if (sq == null || sq.length < layout.numTensors() * B)
                throw new IllegalArgumentException("per-example norm buffer must hold tensors × B = " + layout.numTensors() * B);
            Arrays.fill(sq, 0, layout.numTensors() * B, Double.NaN);
        }
        ParameterLayout p = layout;
        float s = gradScale;
        Function<ParamTensor, Param> param = t -> t == null ? null : new Param(Mat.of(params, t), grads,
                tracking.tracks(t) ? new Param.Norms(sq, t.index(), B) : null);
        Mat dlogits = Mat.of(logits, R, V), lnfOut = Mat.of(lnf, R, C), dres = Mat.of(dresid, R, C);
        Mat dnorm = Mat.of(dnormOut, R, C);

        time(Op.HEAD_INPUT_GRAD, () -> LinearKernels.backwardInput(par, dnorm, dlogits, head(), packed, null));
        if (p.lmHead != null)
            time(Op.HEAD_WEIGHT_GRAD, () -> LinearKernels.backwardWeight(par, param.apply(p.lmHead), null, dlogits, lnfOut, B, s,
                    method.useGhost(T, C, V), null, packed));
        time(Op.OTHER, () -> Arrays.fill(dresid, 0, R * C, 0f));
        int L = config.nLayer();
        time(Op.NORM_BWD, () -> CpuKernels.normBackward(par, dres, dnorm, Mat.of(resid[L], R, C), lnfStats, param.apply(p.lnfWeight),
                param.apply(p.lnfBias), B, s));
        for (int l = L - 1; l >= 0; l--) blocks.backward(l, param, method, B, T, s);

        if (p.wpe != null) time(Op.EMBEDDING_BWD, () -> CpuKernels.positionEmbeddingBackward(par, param.apply(p.wpe), dres, B, s));
        if (p.lmHead == null)
            time(Op.HEAD_WEIGHT_GRAD, () -> LinearKernels.tiedEmbeddingHeadBackward(par, param.apply(p.wte), dlogits, lnfOut, dres,
                    ids, B, s, method.useGhost(T, C, V), packed));
        else
            time(Op.EMBEDDING_BWD, () -> CpuKernels.tokenEmbeddingBackward(par, param.apply(p.wte), dres, ids, B, s));
    }

    /** The LM head (V,C): its own weight, or the token table when tied. */
    private Mat head() { return Mat.of(params, layout.lmHead != null ? layout.lmHead : layout.wte); }

    @Override
    public void close() { par.close(); }
}
