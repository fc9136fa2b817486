// Over 400 lines: the GPU step in one place (its device buffers, and each op's forward launch beside its backward).
package gns4j.backend.cuda;

import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.parallel.Communicator;
import gns4j.parallel.GradientBuckets;
import gns4j.model.Gpt2Init;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.backend.cuda.CublasLt.R_32F;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The GPT model on one CUDA GPU: fp32 master weights, gradients and AdamW moments in flat buffers with the
 * {@link ParameterLayout} offsets; a bf16 copy of the weights and bf16 activations feed cuBLASLt (fp32 accumulation);
 * the residual stream, norm statistics and everything reduced stay fp32. The op sequence and the per-example norms
 * are those of the CPU reference (CpuModel); the tied embedding/head norm is always computed exactly (simultaneous).
 * All pointers below are device byte addresses; shapes: B examples, T tokens, R = B·T rows, C channels, V vocabulary.
 */
public final class CudaBackend implements Backend {
    public static final int MAX_CHUNK = 8;
    static final long WORKSPACE_BUDGET = 2L << 30;
    private static final int BIAS_ROWS = 64, MAX_C = 8192;

    private final ModelConfig cfg;
    private final ParameterLayout layout;
    private final int maxB, C, V, NH, L, P;
    private final Gpu gpu;
    private final CublasLt lt;
    private final long params, paramsBf, adamM, adamV;
    /**
     * The fp32 gradient; with an overlapped all-reduce ({@link #overlapGradReduce}) the buckets are summed out of place
     * into {@code gradsSum} (allocated then), so this rank's gradient stays readable until {@link #allReduceGrads}
     * swaps the two.
     */
    private long grads, gradsSum;
    private final long[] resid;
    private final Activations[] acts;
    private final long lnf, lnfMean, lnfRstd, logits, losses, ids, targets;
    private final long dresid, dresidBf, dnorm, dbig, datty, delta, partG, partB, partBias, sq, gradSq, segments, ws;
    private final long wsElems;
    private long gramX, gramY;
    private int batch, seqLen;
    private boolean closed;
    // Overlapped all-reduce: requested for the next backward (overlapNext); begun and queued on queuedOn until
    // allReduceGrads. nextBucket: buckets queued so far; finalFrom: backward has finished tensors finalFrom.. so far.
    private GradientBuckets buckets;
    private long bucketReady;
    private Communicator overlapNext, queuedOn;
    private int nextBucket, finalFrom;

    /** Saved activations of one block (bf16 unless noted). */
    private record Activations(long ln1, long ln1Mean, long ln1Rstd, long qkv, long atty, long lse, long mid, long ln2,
                               long ln2Mean, long ln2Rstd, long fc, long fcAct) {}

    /** True when the driver loads and reports a GPU; never throws. */
    public static boolean available() {
        try {
            return Driver.get().deviceCount() > 0;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Why CUDA cannot be used here, as one line, or null when it can. Never throws. */
    public static String unavailableReason() {
        try {
            return Driver.get().deviceCount() > 0 ? null : "CUDA backend unavailable: the CUDA driver found no GPU";
        } catch (CudaUnavailableException e) {
            return e.getMessage();
        } catch (Throwable t) {
            return "CUDA backend unavailable: " + t;
        }
    }

    /** Free memory of GPU {@code ordinal} in bytes, read through its primary context (retained only for the query). */
    public static long freeMemory(int ordinal) {
        String reason = unavailableReason();
        if (reason != null) throw new CudaUnavailableException(reason.replaceFirst("^CUDA backend unavailable: ", ""));
        Driver d = Driver.get();
        int device = d.device(ordinal);
        d.retainPrimaryContext(device);
        try {
            return d.memInfo()[0];
        } finally {
            d.releasePrimaryContext(device);
        }
    }

    /** Opens GPU 0 for this model with activations for micro-batches up to maxMicroBatch × block_size tokens. */
    public static Backend open(ModelConfig config, int maxMicroBatch) { return open(config, maxMicroBatch, 0); }

    /** As {@link #open(ModelConfig, int)} on GPU {@code ordinal} (a data-parallel rank's LOCAL_RANK). */
    public static Backend open(ModelConfig config, int maxMicroBatch, int ordinal) {
        String reason = unavailableReason();
        if (reason != null) throw new CudaUnavailableException(reason.replaceFirst("^CUDA backend unavailable: ", ""));
        return new CudaBackend(config, maxMicroBatch, ordinal);
    }

    private CudaBackend(ModelConfig config, int maxMicroBatch, int ordinal) {
        if (maxMicroBatch < 1) throw new IllegalArgumentException("max micro-batch must be >= 1");
        cfg = config;
        layout = new ParameterLayout(config);
        maxB = maxMicroBatch;
        C = config.nEmbd();
        V = config.vocabSize();
        NH = config.nHead();
        L = config.nLayer();
        P = layout.totalSize;
        if (C > MAX_C) throw new IllegalArgumentException("the CUDA norm kernels support n_embd <= " + MAX_C + ", got " + C);
        gpu = new Gpu(ordinal, Map.of("HS", Integer.toString(config.headSize())));
        try {
            lt = new CublasLt(gpu);
            long R = (long) maxB * config.blockSize(), RC = R * C, heads = (long) maxB * NH * config.blockSize();
            boolean ln = config.norm() == NormType.LAYERNORM;
            params = gpu.alloc(4L * P);
            paramsBf = gpu.alloc(2L * P);
            grads = gpu.alloc(4L * P);
            adamM = gpu.alloc(4L * P);
            adamV = gpu.alloc(4L * P);
            resid = new long[L + 1];
            for (int l = 0; l <= L; l++) resid[l] = gpu.alloc(4 * RC);
            acts = new Activations[L];
            for (int l = 0; l < L; l++)
                acts[l] = new Activations(gpu.alloc(2 * RC), ln ? gpu.alloc(4 * R) : 0, gpu.alloc(4 * R), gpu.alloc(6 * RC),
                        gpu.alloc(2 * RC), gpu.alloc(4 * heads), gpu.alloc(4 * RC), gpu.alloc(2 * RC), ln ? gpu.alloc(4 * R) : 0,
                        gpu.alloc(4 * R), gpu.alloc(8 * RC), gpu.alloc(8 * RC));
            lnf = gpu.alloc(2 * RC);
            lnfMean = ln ? gpu.alloc(4 * R) : 0;
            lnfRstd = gpu.alloc(4 * R);
            logits = gpu.alloc(2 * R * V);
            losses = gpu.alloc(4 * R);
            ids = gpu.alloc(4 * R);
            targets = gpu.alloc(4 * R);
            dresid = gpu.alloc(4 * RC);
            dresidBf = gpu.alloc(2 * RC);
            dnorm = gpu.alloc(4 * RC);
            dbig = gpu.alloc(8 * RC);
            datty = gpu.alloc(2 * RC);
            delta = gpu.alloc(4 * heads);
            partG = gpu.alloc(4L * maxB * C);
            partB = gpu.alloc(4L * maxB * C);
            partBias = config.bias() ? gpu.alloc(16L * maxB * C) : 0;
            int nt = layout.numTensors();
            sq = gpu.alloc(8L * nt * maxB);
            gradSq = gpu.alloc(8L * nt);
            segments = gpu.alloc(8L * (nt + 1));
            long maxNK = (long) V * C;
            for (ParamTensor t : layout.tensors) if (t.shape().length == 2) maxNK = Math.max(maxNK, t.size());
            wsElems = workspaceElems(maxB, maxNK);
            ws = gpu.alloc(2 * wsElems);
            if (tensorCoreAttention()) gpu.setMaxDynamicShared("attn_bwd_dkv_tc", attnDkvSmem());
            try (Arena a = Arena.ofConfined()) {
                MemorySegment off = a.allocate(JAVA_LONG, nt + 1);
                for (ParamTensor t : layout.tensors) off.setAtIndex(JAVA_LONG, t.index(), t.offset());
                off.setAtIndex(JAVA_LONG, nt, P);
                gpu.upload(segments, off);
                gpu.sync();
            }
            gpu.zero(partG, 4L * maxB * C);
            gpu.zero(partB, 4L * maxB * C);
            if (partBias != 0) gpu.zero(partBias, 16L * maxB * C);
            gpu.zero(grads, 4L * P);
            gpu.zero(adamM, 4L * P);
            gpu.zero(adamV, 4L * P);
            gpu.sync();
        } catch (RuntimeException | Error e) {
            gpu.close();
            throw e;
        }
    }

    @Override
    public String name() { return "cuda (" + gpu.name + ", " + gpu.arch + ")"; }

    @Override
    public ParameterLayout layout() { return layout; }

    @Override
    public int maxMicroBatch() { return maxB; }

    @Override
    public void initWeights(long seed) {
        float[] p = new float[P];
        Gpt2Init.fill(layout, seed, p);
        writeParams(p);
    }

    @Override
    public void readParams(float[] dst) { download(dst, params); }

    @Override
    public void writeParams(float[] src) {
        upload(params, src);
        gpu.launch("to_bf16", gpu.blocksFor(P), 1, 256, 0, paramsBf, params, (long) P);
        gpu.sync();
    }

    @Override
    public void readGrads(float[] dst) {
        requireNoQueuedSum("readGrads");
        download(dst, grads);
    }

    @Override
    public void zeroGrad() {
        requireNoQueuedSum("zeroGrad");
        gpu.makeCurrent();
        gpu.zero(grads, 4L * P);
    }

    @Override
    public double forwardBackward(int[] inputs, int[] targetIds, int B, int T, float gradScale, NormTracking tracking,
                                  LinearNormMethod method, double[] sqOut) {
        int nt = layout.numTensors();
        if (tracking != NormTracking.OFF && (sqOut == null || sqOut.length < nt * B))
            throw new IllegalArgumentException("per-example norm buffer must hold tensors × B = " + nt * B);
        requireNoQueuedSum("forwardBackward");
        Communicator reduce = overlapNext;
        overlapNext = null;
        double loss = forward(inputs, targetIds, B, T, true);
        backward(gradScale, tracking, method, reduce);
        if (tracking != NormTracking.OFF) {
            double[] got = new double[nt * B];
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(JAVA_DOUBLE, (long) nt * B);
                gpu.download(s, sq);
                MemorySegment.copy(s, JAVA_DOUBLE, 0, got, 0, nt * B);
            }
            for (ParamTensor t : layout.tensors) {
                boolean tracked = tracking == NormTracking.ALL || t.kind().isNorm();
                for (int b = 0; b < B; b++) sqOut[t.index() * B + b] = tracked ? got[t.index() * B + b] : Double.NaN;
            }
        }
        return loss;
    }

    @Override
    public double evaluate(int[] inputs, int[] targetIds, int B, int T) { return forward(inputs, targetIds, B, T, false); }

    // ---------------------------------------------------------------- forward

    private double forward(int[] inputs, int[] targetIds, int B, int T, boolean withBackward) {
        if (B < 1 || B > maxB) throw new IllegalArgumentException("batch " + B + " outside [1, " + maxB + "]");
        if (T < 1 || T > cfg.blockSize()) throw new IllegalArgumentException("sequence length " + T + " outside [1, block_size]");
        int R = B * T;
        for (int i = 0; i < R; i++)
            if (inputs[i] < 0 || inputs[i] >= V || targetIds[i] < 0 || targetIds[i] >= V)
                throw new IllegalArgumentException("token id out of range [0, " + V + ") at position " + i);
        gpu.makeCurrent();
        batch = B;
        seqLen = T;
        try (Arena a = Arena.ofConfined()) {
            gpu.upload(ids, a.allocateFrom(JAVA_INT, Arrays.copyOf(inputs, R)));
            gpu.upload(targets, a.allocateFrom(JAVA_INT, Arrays.copyOf(targetIds, R)));
            gpu.sync();
        }
        long RC = (long) R * C;
        gpu.launch("embed_fwd", gpu.blocksFor(RC), 1, 256, 0, resid[0], ids, param(layout.wte), param(layout.wpe), T, C, RC);
        for (int l = 0; l < L; l++) {
            ParameterLayout.Block w = layout.blocks[l];
            Activations a = acts[l];
            normForward(a.ln1, a.ln1Mean, a.ln1Rstd, resid[l], w.ln1Weight(), w.ln1Bias(), R);
            linear(a.qkv, R_16BF, a.ln1, bf(w.qkvWeight()), R, C, 3 * C, 0, w.qkvBias(), 0);
            if (tensorCoreAttention())
                gpu.launch("attn_fwd_tc", (T + 63) / 64, NH * B, 128, 0, a.atty, a.lse, a.qkv, T, C, NH, attnScale());
            else gpu.launch("attn_fwd", rowWarpBlocks(B, T), 1, 256, 0, a.atty, a.lse, a.qkv, B, T, C, NH, attnScale());
            linear(a.mid, R_32F, a.atty, bf(w.attnProjWeight()), R, C, C, resid[l], w.attnProjBias(), 0);
            normForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.mid, w.ln2Weight(), w.ln2Bias(), R);
            if (geluEpilogue()) linear(a.fcAct, R_16BF, a.ln2, bf(w.fcWeight()), R, C, 4 * C, 0, w.fcBias(), a.fc);
            else {
                linear(a.fc, R_16BF, a.ln2, bf(w.fcWeight()), R, C, 4 * C, 0, null, 0);
                gpu.launch("gelu_fwd", gpu.blocksFor(4 * RC), 1, 256, 0, a.fcAct, a.fc, w.fcBias() == null ? 0L : param(w.fcBias()), 4 * RC, 4 * C);
            }
            linear(resid[l + 1], R_32F, a.fcAct, bf(w.mlpProjWeight()), R, 4 * C, C, a.mid, w.mlpProjBias(), 0);
        }
        normForward(lnf, lnfMean, lnfRstd, resid[L], layout.lnfWeight, layout.lnfBias, R);
        linear(logits, R_16BF, lnf, bf(head()), R, C, V, 0, null, 0);
        gpu.launch("cross_entropy", R, 1, 256, 0, logits, losses, targets, V, 1f / T, withBackward ? 1 : 0);
        float[] perToken = new float[R];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(JAVA_FLOAT, R);
            gpu.download(s, losses);
            MemorySegment.copy(s, JAVA_FLOAT, 0, perToken, 0, R);
        }
        double total = 0;
        for (float x : perToken) total += x;
        return total / R;
    }

    private void normForward(long y, long mean, long rstd, long x, ParamTensor g, ParamTensor b, int R) {
        NormKernels.forward(gpu, y, mean, rstd, x, param(g), b == null ? 0L : param(b), R, C);
    }

    // ---------------------------------------------------------------- backward

    /**
     * Gradients in decreasing layout index: each {@link #gradsFinal} call marks the tensors from the one named up as
     * final (no later op of this backward writes them), so with {@code reduce} their buckets are queued there.
     */
    private void backward(float s, NormTracking tracking, LinearNormMethod method, Communicator reduce) {
        int B = batch, T = seqLen, R = B * T;
        long RC = (long) R * C;
        boolean all = tracking == NormTracking.ALL, norms = tracking != NormTracking.OFF;
        if (norms) gpu.zero(sq, 8L * layout.numTensors() * B);
        ParameterLayout p = layout;
        if (reduce != null) {
            queuedOn = reduce;
            nextBucket = 0;
            finalFrom = p.numTensors();
        }
        lt.linearBackwardInput(dnorm, R_32F, logits, bf(head()), R, C, V, 0);
        if (p.lmHead != null) {
            linearWeight(p.lmHead, null, logits, lnf, B, T, C, V, s, all, method);
            gradsFinal(p.lmHead);
        }
        gpu.zero(dresid, 4 * RC);
        normBackward(dnorm, resid[L], lnfMean, lnfRstd, p.lnfWeight, p.lnfBias, B, T, s, norms);
        gradsFinal(p.lnfWeight);
        for (int l = L - 1; l >= 0; l--) {
            ParameterLayout.Block w = p.blocks[l];
            Activations a = acts[l];
            lt.linearBackwardInput(dbig, R_16BF, dresidBf, bf(w.mlpProjWeight()), R, 4 * C, C, geluEpilogue() ? a.fc : 0);
            linearWeight(w.mlpProjWeight(), w.mlpProjBias(), dresidBf, a.fcAct, B, T, 4 * C, C, s, all, method);
            gradsFinal(w.mlpProjWeight());
            if (!geluEpilogue()) gpu.launch("gelu_bwd", gpu.blocksFor(4 * RC), 1, 256, 0, dbig, a.fc, dbig, 4 * RC);
            lt.linearBackwardInput(dnorm, R_32F, dbig, bf(w.fcWeight()), R, C, 4 * C, 0);
            linearWeight(w.fcWeight(), w.fcBias(), dbig, a.ln2, B, T, C, 4 * C, s, all, method);
            gradsFinal(w.fcWeight());
            normBackward(dnorm, a.mid, a.ln2Mean, a.ln2Rstd, w.ln2Weight(), w.ln2Bias(), B, T, s, norms);
            gradsFinal(w.ln2Weight());
            lt.linearBackwardInput(datty, R_16BF, dresidBf, bf(w.attnProjWeight()), R, C, C, 0);
            linearWeight(w.attnProjWeight(), w.attnProjBias(), dresidBf, a.atty, B, T, C, C, s, all, method);
            gradsFinal(w.attnProjWeight());
            attentionBackward(a, B, T);
            lt.linearBackwardInput(dnorm, R_32F, dbig, bf(w.qkvWeight()), R, C, 3 * C, 0);
            linearWeight(w.qkvWeight(), w.qkvBias(), dbig, a.ln1, B, T, C, 3 * C, s, all, method);
            gradsFinal(w.qkvWeight());
            normBackward(dnorm, resid[l], a.ln1Mean, a.ln1Rstd, w.ln1Weight(), w.ln1Bias(), B, T, s, norms);
            gradsFinal(w.ln1Weight());
        }
        long TC = (long) T * C;
        gpu.launch("pos_bwd", gpu.blocksFor(TC), 1, 256, 0, grad(p.wpe), dresid, B, TC, s);
        gradsFinal(p.wpe);
        if (all) gpu.launch("dot_per_example", gpu.blocksFor(TC), B, 256, 0, sqRow(p.wpe), dresid, dresid, TC);
        // the tied embedding: the head's gradient (deferred to here), then the lookup's scatter
        if (p.lmHead == null && all) perExample(grad(p.wte), sqRow(p.wte), logits, lnf, B, T, C, V, s, dresid);
        else if (p.lmHead == null) lt.weightGrad(grad(p.wte), R_32F, logits, lnf, R, C, V, 1, s, 1f);
        gpu.launch("embed_bwd", gpu.blocksFor(RC), 1, 256, 0, grad(p.wte), dresid, ids, C, RC, s);
        gradsFinal(p.wte);
        if (all) gpu.launch("embed_group_sq", T, B, 256, 4 * T, sqRow(p.wte), dresid, ids, T, C);
        if (reduce != null && nextBucket != buckets.size())
            throw new IllegalStateException("backward queued " + nextBucket + " of " + buckets.size() + " gradient buckets");
    }

    /**
     * Backward has finished the gradients of tensors {@code lowest.index()} and up. During an overlapped all-reduce,
     * queues the sums of the buckets this completes ({@link GradientBuckets#readyAfter}), in bucket order, behind an
     * event recorded on the compute stream after the kernels that wrote them.
     */
    private void gradsFinal(ParamTensor lowest) {
        if (queuedOn == null) return;
        int t = lowest.index();
        if (t >= finalFrom)
            throw new IllegalStateException("backward finished " + lowest.name() + " after tensor " + finalFrom + ": not in decreasing layout order");
        List<GradientBuckets.Bucket> ready = new ArrayList<>();
        for (int i = finalFrom - 1; i >= t; i--) ready.addAll(buckets.readyAfter(i));
        finalFrom = t;
        if (ready.isEmpty()) return;
        gpu.driver.eventRecord(bucketReady, gpu.stream);
        for (GradientBuckets.Bucket b : ready) {
            if (b.index() != nextBucket) throw new IllegalStateException("gradient bucket " + b.index() + " ready before bucket " + nextBucket);
            queuedOn.queueAllReduceSum(grads + 4L * b.offset(), gradsSum + 4L * b.offset(), b.length(), Communicator.DataType.FLOAT32, bucketReady);
            nextBucket++;
        }
    }

    /** dqkv (in dbig) from datty: tensor-core flash kernels (dQ and delta per query tile, then dK/dV per key tile) or one warp per row. */
    private void attentionBackward(Activations a, int B, int T) {
        if (tensorCoreAttention()) {
            int tiles = (T + 63) / 64;
            gpu.launch("attn_bwd_dq_tc", tiles, NH * B, 128, 0, dbig, delta, datty, a.atty, a.qkv, a.lse, T, C, NH, attnScale());
            gpu.launch("attn_bwd_dkv_tc", tiles, NH * B, 128, attnDkvSmem(), dbig, delta, datty, a.qkv, a.lse, T, C, NH, attnScale());
        } else {
            gpu.launch("attn_bwd_dq", rowWarpBlocks(B, T), 1, 256, 0, dbig, delta, datty, a.atty, a.qkv, a.lse, B, T, C, NH, attnScale());
            gpu.launch("attn_bwd_dkv", rowWarpBlocks(B, T), 1, 256, 0, dbig, delta, datty, a.qkv, a.lse, B, T, C, NH, attnScale());
        }
    }

    /** Norm-layer backward: dresid += dx (and its bf16 copy), per-example γ/β partials, then grads and norms. */
    private void normBackward(long dy, long x, long mean, long rstd, ParamTensor g, ParamTensor b, int B, int T, float s,
                              boolean tracked) {
        NormKernels.backward(gpu, dresid, dresidBf, partG, partB, dy, x, mean, rstd, param(g), grad(g), b == null ? 0L : grad(b),
                tracked ? sqRow(g) : 0L, tracked && b != null ? sqRow(b) : 0L, B, T, C, s);
    }

    /** Weight (and bias) gradient of y = x·Wᵀ + b with dy (R,N) and x (R,K) bf16, plus per-example norms if tracked. */
    private void linearWeight(ParamTensor w, ParamTensor bias, long dy, long x, int B, int T, int K, int N, float s,
                              boolean tracked, LinearNormMethod method) {
        if (!tracked || method.useGhost(T, K, N)) lt.weightGrad(grad(w), R_32F, dy, x, B * T, K, N, 1, s, 1f);
        if (tracked && method.useGhost(T, K, N)) ghostNorm(sqRow(w), x, dy, B, T, K, N);
        else if (tracked) perExample(grad(w), sqRow(w), dy, x, B, T, K, N, s, 0);
        if (bias != null) {
            int tiles = (T + BIAS_ROWS - 1) / BIAS_ROWS;
            int cols = N % 2 == 0 ? N / 2 : N, threads = Math.min(256, (cols + 31) / 32 * 32);
            gpu.launch("bias_partial", (cols + threads - 1) / threads, B * tiles, threads, 0, partBias, dy, T, N, BIAS_ROWS, tiles);
            gpu.launch("norm_wgrad", (N + 255) / 256, 1, 256, 0, grad(bias), tracked ? sqRow(bias) : 0L, partBias, B, N, s);
        }
    }

    /**
     * Simultaneous method: per-example dW_b (N,K) for a chunk of examples by one batched GEMM into the workspace (bf16,
     * as PyTorch's autocast weight gradients, halving this pass's traffic), then one fused pass adds scale·Σ_b dW_b
     * to the gradient and |dW_b|² to the norms. embDy != 0: tied head (dW_b = H_b, V×C), whose per-example gradient also
     * has the token-embedding scatter S_b of dy rows of the residual gradient: adds the cross term 2⟨H_b, S_b⟩ here; the
     * caller adds the scatter to the gradient and |S_b|² (embed_bwd, embed_group_sq).
     */
    private void perExample(long gw, long sqRow, long dy, long x, int B, int T, int K, int N, float s, long embDy) {
        long NK = (long) N * K;
        int chunk = chunk(B, NK, wsElems);
        for (int b0 = 0; b0 < B; b0 += chunk) {
            int nb = Math.min(chunk, B - b0);
            lt.weightGrad(ws, R_16BF, dy + 2L * b0 * T * N, x + 2L * b0 * T * K, T, K, N, nb, 1f, 0f);
            if (embDy != 0)
                gpu.launch("tied_cross", (T + 7) / 8, nb, 256, 0, sqRow + 8L * b0, ws, embDy + 4L * b0 * T * C, ids + 4L * b0 * T, T, C, NK);
            gpu.launch("pe_reduce", gpu.blocksFor((NK + 7) / 8), 1, 256, 0, gw, sqRow + 8L * b0, ws, nb, NK, s);
        }
    }

    /** Ghost norm: |dW_b|² = ⟨x_b x_bᵀ, dy_b dy_bᵀ⟩ from two batched T×T Gram matrices. */
    private void ghostNorm(long sqRow, long x, long dy, int B, int T, int K, int N) {
        if (gramX == 0) {
            long bytes = 4L * maxB * cfg.blockSize() * cfg.blockSize();
            gramX = gpu.alloc(bytes);
            gramY = gpu.alloc(bytes);
        }
        gram(gramX, x, B, T, K);
        gram(gramY, dy, B, T, N);
        long TT = (long) T * T;
        gpu.launch("dot_per_example", gpu.blocksFor(TT), B, 256, 0, sqRow, gramX, gramY, TT);
    }

    // ---------------------------------------------------------------- GEMMs (row-major views of column-major cuBLASLt)

    /** CublasLt.linear with bias a parameter (may be null): fp32 for fp32 out, its bf16 copy for bf16 out. */
    private void linear(long out, int outType, long x, long w, int R, int K, int N, long residual, ParamTensor bias, long geluIn) {
        lt.linear(out, outType, x, w, R, K, N, residual, bias == null ? 0 : outType == R_32F ? param(bias) : bf(bias), geluIn);
    }

    /** g_b (T,T) fp32 = x_b·x_bᵀ for each example of x (B,T,K) bf16. */
    private void gram(long g, long x, int B, int T, int K) {
        long sx = B > 1 ? (long) T * K : 0, sg = B > 1 ? (long) T * T : 0;
        lt.run(new CublasLt.Gemm(true, false, T, T, K, K, K, T, sx, sx, sg, B, R_32F, CublasLt.alignment(x, 2 * sx),
                CublasLt.alignment(x, 2 * sx), CublasLt.alignment(g, 4 * sg), CublasLt.alignment(g, 4 * sg), CublasLt.EPI_NONE), x, x, g, g, 1f, 0f);
    }

    // ---------------------------------------------------------------- whole-buffer ops

    @Override
    public double[] gradSqPerTensor() {
        gpu.makeCurrent();
        int nt = layout.numTensors();
        gpu.zero(gradSq, 8L * nt);
        gpu.launch("sumsq_segments", 4 * gpu.smCount, nt, 256, 0, gradSq, grads, segments);
        double[] out = new double[nt];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(JAVA_DOUBLE, nt);
            gpu.download(s, gradSq);
            MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, nt);
        }
        return out;
    }

    /**
     * After an overlapped backward: waits for the bucket sums queued on the communicator's stream (the host polls, with
     * the communicator's timeout and abort), then makes their buffer the gradient. Otherwise one in-place all-reduce
     * of the whole fp32 gradient once backward has finished on this GPU, waited for before this returns.
     */
    @Override
    public void allReduceGrads(Communicator comm) {
        requireDeviceBuffers(comm);
        gpu.makeCurrent();
        if (queuedOn != null) {
            if (comm != queuedOn) throw new IllegalStateException("allReduceGrads on another communicator than the sum begun in backward");
            comm.awaitQueued();
            long local = grads;
            grads = gradsSum;
            gradsSum = local;
            queuedOn = null;
            return;
        }
        gpu.sync();
        comm.allReduceSum(MemorySegment.ofAddress(grads), P, Communicator.DataType.FLOAT32);
    }

    /**
     * The next backward queues each bucket's sum on {@code comm}'s stream as soon as its gradients are final; the
     * sums go out of place into a second gradient buffer (4 bytes per parameter, allocated on first use).
     */
    @Override
    public void overlapGradReduce(Communicator comm, long bucketBytes) {
        requireDeviceBuffers(comm);
        requireNoQueuedSum("overlapGradReduce");
        gpu.makeCurrent();
        if (gradsSum == 0) {
            bucketReady = gpu.driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
            gradsSum = gpu.alloc(4L * P);
        }
        if (buckets == null || buckets.bucketBytes() != bucketBytes) buckets = new GradientBuckets(layout.tensors, bucketBytes, 4);
        overlapNext = comm;
    }

    private static void requireDeviceBuffers(Communicator comm) {
        if (!comm.deviceBuffers())
            throw new IllegalArgumentException("the CUDA backend's gradient lives on the GPU: it needs a communicator of device buffers (NCCL)");
    }

    /** The gradient may not be touched between an overlapped backward and the allReduceGrads that completes its sum. */
    private void requireNoQueuedSum(String call) {
        if (queuedOn != null)
            throw new IllegalStateException(call + " while the gradient all-reduce begun in backward is queued: call allReduceGrads first");
    }

    @Override
    public void scaleGrads(float factor) {
        requireNoQueuedSum("scaleGrads");
        gpu.makeCurrent();
        gpu.launch("scale_f32", gpu.blocksFor(P), 1, 256, 0, grads, (long) P, factor);
    }

    /** AdamW over runs of consecutive tensors sharing their weight-decay flag; refreshes the bf16 weights. */
    @Override
    public void adamwStep(AdamWSettings st, double lr, int step) {
        requireNoQueuedSum("adamwStep");
        gpu.makeCurrent();
        float bc1 = (float) (1 - Math.pow(st.beta1(), step)), bc2 = (float) (1 - Math.pow(st.beta2(), step));
        for (DecayRun r : decayRuns(layout)) {
            long off = r.offset(), n = r.size();
            gpu.launch("adamw", gpu.blocksFor(n), 1, 256, 0, params + 4 * off, paramsBf + 2 * off, grads + 4 * off,
                    adamM + 4 * off, adamV + 4 * off, n, (float) lr, (float) st.beta1(), (float) st.beta2(), (float) st.eps(),
                    r.decayed() ? (float) st.weightDecay() : 0f, bc1, bc2);
        }
        gpu.sync();
    }

    /** A maximal run [offset, offset + size) of consecutive tensors with the same weight-decay flag. */
    record DecayRun(long offset, long size, boolean decayed) {}

    static List<DecayRun> decayRuns(ParameterLayout layout) {
        List<DecayRun> runs = new ArrayList<>();
        for (ParamTensor t : layout.tensors) {
            DecayRun last = runs.isEmpty() ? null : runs.getLast();
            if (last != null && last.decayed() == t.kind().decayed) runs.set(runs.size() - 1, new DecayRun(last.offset(), last.size() + t.size(), last.decayed()));
            else runs.add(new DecayRun(t.offset(), t.size(), t.kind().decayed));
        }
        return runs;
    }

    /** Examples per batched per-example GEMM: at most MAX_CHUNK and B, and as many N·K matrices as the workspace holds. */
    static int chunk(int B, long NK, long workspaceElems) {
        return (int) Math.max(1, Math.min(Math.min(MAX_CHUNK, B), workspaceElems / NK));
    }

    /** Workspace floats: room for min(MAX_CHUNK, maxB) of the largest matrix within the budget, never less than one. */
    static long workspaceElems(int maxB, long maxNK) {
        return Math.max(maxNK, Math.min((long) Math.min(MAX_CHUNK, maxB) * maxNK, WORKSPACE_BUDGET / 2));
    }

    @Override
    public void readOptimizerState(float[] m, float[] v) {
        download(m, adamM);
        download(v, adamV);
    }

    @Override
    public void writeOptimizerState(float[] m, float[] v) {
        upload(adamM, m);
        upload(adamV, v);
    }

    /** GPU milliseconds per kernel/GEMM since the last call when run with -Dgns4j.cuda.profile=true, else empty. */
    public Map<String, Double> takeProfile() {
        gpu.makeCurrent();
        return gpu.takeProfile();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        // Bucket sums still queued (backward or allReduceGrads failed) read and write our gradient buffers: abort them
        // (ncclCommAbort ends the pending collectives) before the buffers are freed.
        if (queuedOn != null) queuedOn.abort(new IllegalStateException("the backend closed with a gradient sum queued"));
        gpu.makeCurrent();
        if (bucketReady != 0) gpu.driver.eventDestroy(bucketReady);
        lt.close();
        gpu.close();
    }

    // ---------------------------------------------------------------- helpers

    private void download(float[] dst, long src) {
        gpu.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(JAVA_FLOAT, P);
            gpu.download(s, src);
            MemorySegment.copy(s, JAVA_FLOAT, 0, dst, 0, P);
        }
    }

    private void upload(long dst, float[] src) {
        if (src.length < P) throw new IllegalArgumentException("buffer holds " + src.length + " floats, needs " + P);
        gpu.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            gpu.upload(dst, a.allocateFrom(JAVA_FLOAT, Arrays.copyOf(src, P)));
            gpu.sync();
        }
    }

    private ParamTensor head() { return layout.lmHead != null ? layout.lmHead : layout.wte; }

    /** The mma.sync flash kernels cover head sizes that are multiples of 16 up to 64 (attention.cu). */
    private boolean tensorCoreAttention() { return cfg.headSize() % 16 == 0 && cfg.headSize() <= 64; }

    /** attn_bwd_dkv_tc's shared memory: K, V and two stages of Q and dO (64 × (HS + 8) bf16), two of lse | delta. */
    private int attnDkvSmem() { return 6 * 64 * (cfg.headSize() + 8) * 2 + 4 * 64 * 4; }

    /** GELU (and its gradient) in the cuBLASLt epilogue; its aux matrix needs a leading dimension 4·C divisible by 8. */
    private boolean geluEpilogue() { return C % 2 == 0; }

    private float attnScale() { return (float) (1.0 / Math.sqrt(cfg.headSize())); }

    /** 256-thread blocks holding one warp per (example, head, token) row. */
    private int rowWarpBlocks(int B, int T) { return (int) (((long) B * NH * T + 7) / 8); }

    private long param(ParamTensor t) { return params + 4L * t.offset(); }

    private long bf(ParamTensor t) { return paramsBf + 2L * t.offset(); }

    private long grad(ParamTensor t) { return grads + 4L * t.offset(); }

    private long sqRow(ParamTensor t) { return sq + 8L * t.index() * batch; }
}
