package gns4j.backend.cpu;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.Gpt2Init;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.model.NormType;

import java.util.Arrays;
import java.util.function.Function;

/**
 * The GPT model on the CPU in fp32: flat parameter and gradient buffers (named offsets from {@link ParameterLayout}),
 * activations kept per layer for backward, and an explicit backward that also writes per-example squared
 * gradient norms of every tracked tensor. Activations are sized for {@code maxBatch} × block_size.
 */
public final class CpuModel implements AutoCloseable {
    public final ModelConfig config;
    public final ParameterLayout layout;
    public final float[] params;
    public final float[] grads;

    private final Parallel par;
    private final int maxBatch;
    private final GptBlock block;
    // Shapes: R = maxBatch·block_size rows; layers[l].in() = resid[l] is the input of block l, resid[L] the final
    // residual stream; every block's projections go through the one proj scratch (R,C), also backward's datty.
    private final GptBlock.Buffers[] layers;
    private final float[][] resid;
    private final float[] lnf, logits, losses, dresid;
    private final CpuKernels.NormStats lnfStats;
    private final GptBlock.Scratch scratch;
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
        boolean ln = config.norm() == NormType.LAYERNORM;
        resid = new float[L + 1][R * C];
        float[] proj = new float[R * C];
        layers = new GptBlock.Buffers[L];
        for (int l = 0; l < L; l++)
            layers[l] = new GptBlock.Buffers(resid[l], new float[R * C], CpuKernels.NormStats.of(ln, R), new float[3 * R * C],
                    new float[R * C], new float[maxBatch * config.nHead() * config.blockSize()], proj, new float[R * C],
                    new float[R * C], CpuKernels.NormStats.of(ln, R), new float[4 * R * C], new float[4 * R * C], resid[l + 1]);
        lnf = new float[R * C];
        lnfStats = CpuKernels.NormStats.of(ln, R);
        logits = new float[Math.multiplyExact(R, config.vocabSize())];
        losses = new float[R];
        dresid = new float[R * C];
        packed = new float[packedSize(C, config.vocabSize(), R)];
        scratch = new GptBlock.Scratch(new float[R * C], new float[3 * R * C], proj, new float[4 * R * C], new float[4 * R * C], packed);
        // Training packs each weight into packed when it is used; attention is over the batch's own rows.
        GptBlock.Linear linear = (out, in, w, b) ->
                LinearKernels.forward(par, out, in, LinearKernels.packTransposed(par, Mat.of(params, w), packed), Mat.of(params, b));
        block = new GptBlock(par, params, config, linear,
                (l, out, qkv, lse) -> AttentionKernels.forward(par, out, lse, qkv, batch, config.nHead()));
    }

    /**
     * Floats of the largest packed operand: a weight W (N,K) read as Wᵀ in forward and as W in backward, for every
     * Linear shape (C→3C, C→C, C→4C, 4C→C) and the head (C→V), and R rows of a layer input (width C or 4C).
     */
    private static int packedSize(int C, int V, int R) {
        int[][] weights = {{3 * C, C}, {C, C}, {4 * C, C}, {C, 4 * C}, {V, C}};
        int most = Math.max(Gemm.packedSize(R, C), Gemm.packedSize(R, 4 * C));
        for (int[] w : weights) most = Math.max(most, Math.max(Gemm.packedSize(w[1], w[0]), Gemm.packedSize(w[0], w[1])));
        return most;
    }

    public int threads() { return par.threads; }

    public int maxBatch() { return maxBatch; }

    /** GPT-2 initialisation ({@link Gpt2Init}). */
    public void initWeights(long seed) { Gpt2Init.fill(layout, seed, params); }

    public void zeroGrad() { Arrays.fill(grads, 0f); }

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
        CpuKernels.embeddingForward(par, Mat.of(resid[0], R, C), inputs, Mat.of(params, p.wte), Mat.of(params, p.wpe), T, 0);
        for (int l = 0; l < L; l++) block.forward(l, p.blocks[l], layers[l], R);
        Mat lnfOut = Mat.of(lnf, R, C), logitsMat = Mat.of(logits, R, V);
        CpuKernels.normForward(par, lnfOut, lnfStats, Mat.of(resid[L], R, C), Mat.of(params, p.lnfWeight), Mat.of(params, p.lnfBias));
        LinearKernels.forward(par, logitsMat, lnfOut, LinearKernels.packTransposed(par, head(), packed), null); // (R,C) -> (R,V)
        return CpuKernels.softmaxCrossEntropy(par, logitsMat, losses, targets);
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
        Mat dnormOut = Mat.of(scratch.dnormOut(), R, C);

        CpuKernels.crossEntropyBackward(par, dlogits, targets, T);
        LinearKernels.backwardInput(par, dnormOut, dlogits, head(), packed);
        if (p.lmHead != null)
            LinearKernels.backwardWeight(par, param.apply(p.lmHead), null, dlogits, lnfOut, B, s, method.useGhost(T, C, V), null,
                    packed);
        Arrays.fill(dresid, 0, R * C, 0f);
        int L = config.nLayer();
        CpuKernels.normBackward(par, dres, dnormOut, Mat.of(resid[L], R, C), lnfStats, param.apply(p.lnfWeight),
                param.apply(p.lnfBias), B, s);
        for (int l = L - 1; l >= 0; l--) block.backward(p.blocks[l], layers[l], scratch, dresid, param, method, B, T, s);

        CpuKernels.positionEmbeddingBackward(par, param.apply(p.wpe), dres, B, s);
        if (p.lmHead == null)
            LinearKernels.tiedEmbeddingHeadBackward(par, param.apply(p.wte), dlogits, lnfOut, dres, ids, B, s, method.useGhost(T, C, V),
                    packed);
        else
            CpuKernels.tokenEmbeddingBackward(par, param.apply(p.wte), dres, ids, B, s);
    }

    /** The LM head (V,C): its own weight, or the token table when tied. */
    private Mat head() { return Mat.of(params, layout.lmHead != null ? layout.lmHead : layout.wte); }

    @Override
    public void close() { par.close(); }
}
