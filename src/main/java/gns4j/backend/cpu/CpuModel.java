package gns4j.backend.cpu;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.Gpt2Init;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.model.NormType;

import java.util.Arrays;

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
    private final Layer[] layers;
    // Shapes: R = maxBatch·block_size rows; resid[l] is the input of block l, resid[L] the final residual stream.
    private final float[][] resid;
    private final float[] lnf, lnfMean, lnfRstd, logits, losses;
    private final float[] dresid, dnormOut, dqkv, dfc, datty, dfcAct;
    /** Scratch for the transposed weight of a forward matmul (largest N·K). */
    private final float[] weightT;
    private int[] ids, targets;
    private int batch, seqLen;

    /** Saved activations of one block. */
    private record Layer(float[] ln1, float[] ln1Mean, float[] ln1Rstd, float[] qkv, float[] atty, float[] lse,
                         float[] mid, float[] ln2, float[] ln2Mean, float[] ln2Rstd, float[] fc, float[] fcAct) {}

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
        layers = new Layer[L];
        for (int l = 0; l < L; l++)
            layers[l] = new Layer(new float[R * C], ln ? new float[R] : null, new float[R], new float[3 * R * C],
                    new float[R * C], new float[maxBatch * config.nHead() * config.blockSize()], new float[R * C],
                    new float[R * C], ln ? new float[R] : null, new float[R], new float[4 * R * C], new float[4 * R * C]);
        resid = new float[L + 1][R * C];
        lnf = new float[R * C];
        lnfMean = ln ? new float[R] : null;
        lnfRstd = new float[R];
        logits = new float[Math.multiplyExact(R, config.vocabSize())];
        losses = new float[R];
        dresid = new float[R * C];
        dnormOut = new float[R * C];
        dqkv = new float[3 * R * C];
        dfc = new float[4 * R * C];
        dfcAct = new float[4 * R * C];
        datty = new float[R * C];
        weightT = new float[Math.max(4 * C * C, config.vocabSize() * C)];
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
        int C = config.nEmbd(), NH = config.nHead(), R = B * T;
        ParameterLayout p = layout;
        CpuKernels.embeddingForward(par, resid[0], inputs, params, p.wte.offset(), p.wpe.offset(), B, T, C);
        for (int l = 0; l < config.nLayer(); l++) {
            ParameterLayout.Block w = p.blocks[l];
            Layer a = layers[l];
            CpuKernels.normForward(par, a.ln1, a.ln1Mean, a.ln1Rstd, resid[l], params, w.ln1Weight().offset(), off(w.ln1Bias()), R, C);
            CpuKernels.matmulForward(par, a.qkv, a.ln1, params, w.qkvWeight().offset(), off(w.qkvBias()), R, C, 3 * C, weightT);
            CpuKernels.attentionForward(par, a.atty, a.lse, a.qkv, B, T, C, NH);
            CpuKernels.matmulForward(par, datty, a.atty, params, w.attnProjWeight().offset(), off(w.attnProjBias()), R, C, C, weightT);
            CpuKernels.add(par, a.mid, resid[l], datty, R, C);
            CpuKernels.normForward(par, a.ln2, a.ln2Mean, a.ln2Rstd, a.mid, params, w.ln2Weight().offset(), off(w.ln2Bias()), R, C);
            CpuKernels.matmulForward(par, a.fc, a.ln2, params, w.fcWeight().offset(), off(w.fcBias()), R, C, 4 * C, weightT);
            CpuKernels.geluForward(par, a.fcAct, a.fc, R, 4 * C);
            CpuKernels.matmulForward(par, datty, a.fcAct, params, w.mlpProjWeight().offset(), off(w.mlpProjBias()), R, 4 * C, C, weightT);
            CpuKernels.add(par, resid[l + 1], a.mid, datty, R, C);
        }
        int L = config.nLayer();
        CpuKernels.normForward(par, lnf, lnfMean, lnfRstd, resid[L], params, p.lnfWeight.offset(), off(p.lnfBias), R, C);
        CpuKernels.matmulForward(par, logits, lnf, params, headOffset(), -1, R, C, V, weightT);
        return CpuKernels.softmaxCrossEntropy(par, logits, losses, targets, R, V);
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
        int B = batch, T = seqLen, C = config.nEmbd(), NH = config.nHead(), V = config.vocabSize(), R = B * T;
        if (tracking != NormTracking.OFF) {
            if (sq == null || sq.length < layout.numTensors() * B)
                throw new IllegalArgumentException("per-example norm buffer must hold tensors × B = " + layout.numTensors() * B);
            Arrays.fill(sq, 0, layout.numTensors() * B, Double.NaN);
        }
        boolean all = tracking == NormTracking.ALL, norms = tracking != NormTracking.OFF;
        ParameterLayout p = layout;
        float s = gradScale;

        CpuKernels.crossEntropyBackward(par, logits, targets, R, V, T);
        CpuKernels.matmulBackwardInput(par, dnormOut, logits, params, headOffset(), R, C, V);
        if (p.lmHead != null)
            CpuKernels.matmulBackwardWeight(par, grads, p.lmHead.offset(), -1, logits, lnf, B, T, C, V, s, sq,
                    row(p.lmHead, all), -1, method.useGhost(T, C, V), null);
        Arrays.fill(dresid, 0, R * C, 0f);
        int L = config.nLayer();
        CpuKernels.normBackward(par, dresid, dnormOut, resid[L], lnfMean, lnfRstd, params, grads, p.lnfWeight.offset(),
                off(p.lnfBias), B, T, C, s, sq, row(p.lnfWeight, norms), row(p.lnfBias, norms));

        for (int l = L - 1; l >= 0; l--) {
            ParameterLayout.Block w = p.blocks[l];
            Layer a = layers[l];
            // MLP: resid[l+1] = mid + proj(gelu(fc(ln2(mid))))
            CpuKernels.matmulBackwardInput(par, dfcAct, dresid, params, w.mlpProjWeight().offset(), R, 4 * C, C);
            linearWeight(w.mlpProjWeight(), w.mlpProjBias(), dresid, a.fcAct, B, T, 4 * C, C, s, sq, all, method);
            CpuKernels.geluBackward(par, dfc, a.fc, dfcAct, R, 4 * C);
            CpuKernels.matmulBackwardInput(par, dnormOut, dfc, params, w.fcWeight().offset(), R, C, 4 * C);
            linearWeight(w.fcWeight(), w.fcBias(), dfc, a.ln2, B, T, C, 4 * C, s, sq, all, method);
            CpuKernels.normBackward(par, dresid, dnormOut, a.mid, a.ln2Mean, a.ln2Rstd, params, grads,
                    w.ln2Weight().offset(), off(w.ln2Bias()), B, T, C, s, sq, row(w.ln2Weight(), norms), row(w.ln2Bias(), norms));
            // attention: mid = resid[l] + proj(attn(qkv(ln1(resid[l]))))
            CpuKernels.matmulBackwardInput(par, datty, dresid, params, w.attnProjWeight().offset(), R, C, C);
            linearWeight(w.attnProjWeight(), w.attnProjBias(), dresid, a.atty, B, T, C, C, s, sq, all, method);
            CpuKernels.attentionBackward(par, dqkv, datty, a.qkv, a.lse, B, T, C, NH);
            CpuKernels.matmulBackwardInput(par, dnormOut, dqkv, params, w.qkvWeight().offset(), R, C, 3 * C);
            linearWeight(w.qkvWeight(), w.qkvBias(), dqkv, a.ln1, B, T, C, 3 * C, s, sq, all, method);
            CpuKernels.normBackward(par, dresid, dnormOut, resid[l], a.ln1Mean, a.ln1Rstd, params, grads,
                    w.ln1Weight().offset(), off(w.ln1Bias()), B, T, C, s, sq, row(w.ln1Weight(), norms), row(w.ln1Bias(), norms));
        }

        CpuKernels.positionEmbeddingBackward(par, grads, p.wpe.offset(), dresid, B, T, C, s, sq, row(p.wpe, all));
        if (p.lmHead == null)
            CpuKernels.tiedEmbeddingHeadBackward(par, grads, p.wte.offset(), logits, lnf, dresid, ids, B, T, C, V, s, sq,
                    row(p.wte, all), method.useGhost(T, C, V));
        else
            CpuKernels.tokenEmbeddingBackward(par, grads, p.wte.offset(), dresid, ids, B, T, C, s, sq, row(p.wte, all));
    }

    private void linearWeight(ParamTensor weight, ParamTensor bias, float[] dout, float[] inp, int B, int T, int K, int N,
                              float scale, double[] sq, boolean tracked, LinearNormMethod method) {
        CpuKernels.matmulBackwardWeight(par, grads, weight.offset(), off(bias), dout, inp, B, T, K, N, scale, sq,
                row(weight, tracked), row(bias, tracked), method.useGhost(T, K, N), null);
    }

    private int headOffset() { return layout.lmHead != null ? layout.lmHead.offset() : layout.wte.offset(); }

    private static int off(ParamTensor t) { return t == null ? -1 : t.offset(); }

    private static int row(ParamTensor t, boolean tracked) { return t == null || !tracked ? -1 : t.index(); }

    @Override
    public void close() { par.close(); }
}
