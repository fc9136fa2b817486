package gns4j.backend.cuda;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.backend.cuda.CublasLt.R_32F;

/**
 * The ops every block type runs on the GPU, each forward launch beside its backward: Linear layers (forward, input
 * gradient, weight gradients with per-example norms by the simultaneous or the ghost method), norm layers with their
 * fused per-example norms, and causal attention (multi-head, grouped-query or multi-query). It owns the buffers they
 * share: fp32 master weights, their bf16 copy and the gradient (flat, {@link ParameterLayout} offsets), the residual
 * stream's gradient, the per-example norm rows and the scratch of the per-example products.
 * All pointers are device byte addresses; shapes: B examples, T tokens, R = B·T rows, C channels.
 */
final class CudaOps {
    static final int MAX_CHUNK = 8, BIAS_ROWS = 64;
    static final long WORKSPACE_BUDGET = 2L << 30;

    /** One backward's shape, gradient scale and what it tracks. */
    record Step(int B, int T, float scale, NormTracking tracking, LinearNormMethod method) {
        int R() { return B * T; }

        /** Per-example norms of every tensor (Linear layers included). */
        boolean all() { return tracking == NormTracking.ALL; }

        /** Per-example norms of the norm layers (at least). */
        boolean norms() { return tracking != NormTracking.OFF; }
    }

    final Gpu gpu;
    final CublasLt lt;
    final ModelConfig cfg;
    final ParameterLayout layout;
    final int maxB, C, NH, KVH, P;
    final long params, paramsBf;
    /** The fp32 gradient; an overlapped all-reduce swaps it with its sum buffer ({@link GradientOverlap}). */
    long grads;
    /** sq (tensors, B) doubles: this backward's per-example squared norms; dresid (R,C) fp32 the residual stream's gradient
     * with its bf16 copy dresidBf; dnorm (R,C) fp32 a norm's output gradient; delta (B,NH,T) attention's rowsum(dO∘O). */
    final long sq, dresid, dresidBf, dnorm, delta;
    private final long partG, partB, partBias, ws, wsElems;
    private long gramX, gramY;
    private final GradientOverlap overlap;
    private final AttentionKernels attention;
    private int batch;

    CudaOps(Gpu gpu, CublasLt lt, ModelConfig cfg, ParameterLayout layout, int maxB, GradientOverlap overlap) {
        this.gpu = gpu;
        this.lt = lt;
        this.cfg = cfg;
        this.layout = layout;
        this.maxB = maxB;
        this.overlap = overlap;
        C = cfg.nEmbd();
        NH = cfg.nHead();
        KVH = cfg.nKvHead();
        P = layout.totalSize;
        long R = (long) maxB * cfg.blockSize(), RC = R * C;
        params = gpu.alloc(4L * P);
        paramsBf = gpu.alloc(2L * P);
        grads = gpu.alloc(4L * P);
        int nt = layout.numTensors();
        sq = gpu.alloc(8L * nt * maxB);
        dresid = gpu.alloc(4 * RC);
        dresidBf = gpu.alloc(2 * RC);
        dnorm = gpu.alloc(4 * RC);
        delta = gpu.alloc(4L * maxB * NH * cfg.blockSize());
        partG = gpu.alloc(4L * maxB * C);
        partB = gpu.alloc(4L * maxB * C);
        partBias = cfg.bias() ? gpu.alloc(16L * maxB * C) : 0;
        long maxNK = (long) cfg.vocabSize() * C;
        for (ParamTensor t : layout.tensors) if (t.shape().length == 2) maxNK = Math.max(maxNK, t.size());
        wsElems = workspaceElems(maxB, maxNK);
        ws = gpu.alloc(2 * wsElems);
        attention = new AttentionKernels(gpu, NH, KVH, cfg.headSize());
        gpu.zero(partG, 4L * maxB * C);
        gpu.zero(partB, 4L * maxB * C);
        if (partBias != 0) gpu.zero(partBias, 16L * maxB * C);
        gpu.zero(grads, 4L * P);
    }

    /** Starts a backward of B examples: the norm rows are (tensors, B) from here on, zeroed when tracked. */
    void beginBackward(Step st) {
        batch = st.B();
        if (st.norms()) gpu.zero(sq, 8L * layout.numTensors() * st.B());
    }

    /** Backward has finished the gradients of {@code lowest} and every later tensor (see {@link GradientOverlap}). */
    void gradsFinal(ParamTensor lowest) { overlap.gradsFinal(lowest, grads); }

    // ---------------------------------------------------------------- norm layers

    /** y (R,C) bf16 = norm(x (R,C) fp32) with gain g and bias b (null: RMSNorm or no β); mean (LayerNorm) and rstd saved. */
    void normForward(long y, long mean, long rstd, long x, ParamTensor g, ParamTensor b, int R) {
        NormKernels.forward(gpu, y, mean, rstd, x, param(g), b == null ? 0L : param(b), R, C);
    }

    /** Norm-layer backward: dresid += dx (and its bf16 copy), per-example γ/β partials, then grads and norms. */
    void normBackward(long dy, long x, long mean, long rstd, ParamTensor g, ParamTensor b, Step st) {
        boolean tracked = st.norms();
        NormKernels.backward(gpu, dresid, dresidBf, partG, partB, dy, x, mean, rstd, param(g), grad(g), b == null ? 0L : grad(b),
                tracked ? sqRow(g) : 0L, tracked && b != null ? sqRow(b) : 0L, st.B(), st.T(), C, st.scale());
    }

    /** Bytes of the saved mean of a norm layer over R rows: LayerNorm only. */
    long meanBytes(long R) { return cfg.norm() == NormType.LAYERNORM ? 4 * R : 0; }

    // ---------------------------------------------------------------- Linear layers

    /**
     * out (R,N) = x (R,K)·wᵀ (+ bias + residual) in the GEMM's epilogue; w may be the first of consecutive weights whose
     * rows form one (N,K) matrix (a fused projection). geluIn != 0: out = GELU_tanh(·), its input saved there.
     */
    void linear(long out, int outType, long x, ParamTensor w, int R, int K, int N, long residual, ParamTensor bias, long geluIn) {
        lt.linear(out, outType, x, bf(w), R, K, N, residual, bias == null ? 0 : outType == R_32F ? param(bias) : bf(bias), geluIn);
    }

    /**
     * Gradients of y = x·Wᵀ (+ b) for W the consecutive weights ws stacked by rows (one fused (ΣN, K) projection, dy
     * (R, ΣN) bf16, x (R, K) bf16), and each weight's per-example norm when all tensors are tracked: a weight whose
     * norm takes the simultaneous method gets its gradient from the per-example products; otherwise one GEMM over the
     * whole stack gives them all. bias (length ΣN, may be null): from per-example column sums.
     */
    void linearWeights(long dy, long x, int K, Step st, ParamTensor bias, ParamTensor... ws) {
        int B = st.B(), T = st.T(), N = 0;
        boolean anySimultaneous = false;
        for (ParamTensor w : ws) {
            N += w.shape()[0];
            anySimultaneous |= st.all() && !st.method().useGhost(T, K, w.shape()[0]);
        }
        if (!anySimultaneous) lt.weightGrad(grad(ws[0]), R_32F, dy, N, x, B * T, K, N, 1, st.scale(), 1f);
        boolean gramXDone = false;
        for (int i = 0, col = 0; i < ws.length; col += ws[i].shape()[0], i++) {
            ParamTensor w = ws[i];
            int n = w.shape()[0];
            long slice = dy + 2L * col;
            if (!st.all()) continue;
            if (st.method().useGhost(T, K, n)) {
                if (anySimultaneous) lt.weightGrad(grad(w), R_32F, slice, N, x, B * T, K, n, 1, st.scale(), 1f);
                ghostNorm(sqRow(w), x, slice, N, B, T, K, n, !gramXDone);
                gramXDone = true;
            } else perExample(grad(w), sqRow(w), slice, N, x, B, T, K, n, st.scale(), 0, 0);
        }
        if (bias != null) {
            int tiles = (T + BIAS_ROWS - 1) / BIAS_ROWS;
            int cols = N % 2 == 0 ? N / 2 : N, threads = Math.min(256, (cols + 31) / 32 * 32);
            gpu.launch("bias_partial", (cols + threads - 1) / threads, B * tiles, threads, 0, partBias, dy, T, N, BIAS_ROWS, tiles);
            gpu.launch("norm_wgrad", (N + 255) / 256, 1, 256, 0, grad(bias), st.all() ? sqRow(bias) : 0L, partBias, B, N, st.scale());
        }
    }

    /**
     * Simultaneous method: per-example dW_b (N,K) for a chunk of examples by one batched GEMM into the workspace (bf16,
     * as PyTorch's autocast weight gradients, halving this pass's traffic), then one fused pass adds scale·Σ_b dW_b
     * to the gradient and |dW_b|² to the norms. dy: N columns of rows ldy apart. embDy != 0: tied head (dW_b = H_b,
     * V×C), whose per-example gradient also has the token-embedding scatter S_b of the rows of embDy (the residual
     * gradient, (R,C) fp32) at the token ids: adds the cross term 2⟨H_b, S_b⟩ here; the caller adds the scatter to the
     * gradient and |S_b|² (embed_bwd, embed_group_sq).
     */
    void perExample(long gw, long sqRow, long dy, int ldy, long x, int B, int T, int K, int N, float s, long embDy, long ids) {
        long NK = (long) N * K;
        int chunk = chunk(B, NK, wsElems);
        for (int b0 = 0; b0 < B; b0 += chunk) {
            int nb = Math.min(chunk, B - b0);
            lt.weightGrad(ws, R_16BF, dy + 2L * b0 * T * ldy, ldy, x + 2L * b0 * T * K, T, K, N, nb, 1f, 0f);
            if (embDy != 0)
                gpu.launch("tied_cross", (T + 7) / 8, nb, 256, 0, sqRow + 8L * b0, ws, embDy + 4L * b0 * T * C, ids + 4L * b0 * T, T, C, NK);
            gpu.launch("pe_reduce", gpu.blocksFor((NK + 7) / 8), 1, 256, 0, gw, sqRow + 8L * b0, ws, nb, NK, s);
        }
    }

    /** Ghost norm: |dW_b|² = ⟨x_b x_bᵀ, dy_b dy_bᵀ⟩ from two batched T×T Gram matrices (x's reused unless newX). */
    private void ghostNorm(long sqRow, long x, long dy, int ldy, int B, int T, int K, int N, boolean newX) {
        if (gramX == 0) {
            long bytes = 4L * maxB * cfg.blockSize() * cfg.blockSize();
            gramX = gpu.alloc(bytes);
            gramY = gpu.alloc(bytes);
        }
        if (newX) gram(gramX, x, K, B, T, K);
        gram(gramY, dy, ldy, B, T, N);
        long TT = (long) T * T;
        gpu.launch("dot_per_example", gpu.blocksFor(TT), B, 256, 0, sqRow, gramX, gramY, TT);
    }

    /** g_b (T,T) fp32 = x_b·x_bᵀ for each example of x (B,T,K) bf16, rows ld apart. */
    private void gram(long g, long x, int ld, int B, int T, int K) {
        long sx = B > 1 ? (long) T * ld : 0, sg = B > 1 ? (long) T * T : 0;
        lt.run(new CublasLt.Gemm(true, false, T, T, K, ld, ld, T, sx, sx, sg, B, R_32F, CublasLt.alignment(x, 2 * sx),
                CublasLt.alignment(x, 2 * sx), CublasLt.alignment(g, 4 * sg), CublasLt.alignment(g, 4 * sg), CublasLt.EPI_NONE), x, x, g, g, 1f, 0f);
    }

    // ---------------------------------------------------------------- attention

    /** out (R,C) bf16 and lse (B,NH,T) from qkv (R, (NH + 2·KVH)·hs) bf16 ({@link AttentionKernels#forward}). */
    void attentionForward(long out, long lse, long qkv, int B, int T) { attention.forward(out, lse, qkv, B, T); }

    /** dqkv (laid out as qkv) from dout (R,C) bf16 ({@link AttentionKernels#backward}, delta as its scratch). */
    void attentionBackward(long dqkv, long dout, long out, long qkv, long lse, int B, int T) {
        attention.backward(dqkv, delta, dout, out, qkv, lse, B, T);
    }

    // ---------------------------------------------------------------- loss

    /**
     * Threads of a cross_entropy block, one block per token row ({@code -Dgns4j.cuda.xentThreads}, a multiple of 32 up
     * to 1024). The kernel reads its row twice, for max and sum and then for the gradient. At 256 threads an SM holds 8
     * rows (100 KB each at V 50304), ~1000 on an H100, more than its 50 MB L2, so the second read may go to memory; at
     * 1024 it holds 2. Which is faster is for `bench gpu` with the profile on the GPU machine to say.
     */
    static final int XENT_THREADS = xentThreads(System.getProperty("gns4j.cuda.xentThreads", "256"));

    /** The thread count of a cross_entropy block from its property, or a one-line error. */
    static int xentThreads(String value) {
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 32 || n > 1024 || n % 32 != 0)
            throw new IllegalArgumentException("-Dgns4j.cuda.xentThreads must be a multiple of 32 from 32 to 1024, got " + value);
        return n;
    }

    /**
     * losses (R) = logsumexp(z) − z[target] of logits z (R,V) bf16; with backward, z is replaced in place by the gradient
     * of each example's mean token loss, (softmax(z) − onehot)/T.
     */
    void crossEntropy(long logits, long losses, long targets, int R, int T, int V, boolean backward) {
        gpu.launch("cross_entropy", R, 1, XENT_THREADS, 0, logits, losses, targets, V, 1f / T, backward ? 1 : 0);
    }

    // ---------------------------------------------------------------- sizes and addresses

    /** Examples per batched per-example GEMM: at most MAX_CHUNK and B, and as many N·K matrices as the workspace holds. */
    static int chunk(int B, long NK, long workspaceElems) {
        return (int) Math.max(1, Math.min(Math.min(MAX_CHUNK, B), workspaceElems / NK));
    }

    /** Workspace floats: room for min(MAX_CHUNK, maxB) of the largest matrix within the budget, never less than one. */
    static long workspaceElems(int maxB, long maxNK) {
        return Math.max(maxNK, Math.min((long) Math.min(MAX_CHUNK, maxB) * maxNK, WORKSPACE_BUDGET / 2));
    }

    long param(ParamTensor t) { return params + 4L * t.offset(); }

    long bf(ParamTensor t) { return paramsBf + 2L * t.offset(); }

    long grad(ParamTensor t) { return grads + 4L * t.offset(); }

    long sqRow(ParamTensor t) { return sq + 8L * t.index() * batch; }
}
