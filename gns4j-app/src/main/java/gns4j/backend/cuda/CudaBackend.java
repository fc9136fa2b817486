package gns4j.backend.cuda;

import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.parallel.Communicator;
import gns4j.model.Gpt2Init;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.backend.cuda.CublasLt.R_32F;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The model on one CUDA GPU: embedding, the architecture's blocks ({@link CudaBlocks}: GPT-2's or Llama's, the CPU
 * backend's op sequence), final norm, head (tied or not) and loss, forward and backward with the per-example norms of
 * every tensor. fp32 master weights, gradients and AdamW moments in flat buffers with the {@link ParameterLayout}
 * offsets; a bf16 copy of the weights and bf16 activations feed cuBLASLt (fp32 accumulation); the residual stream, norm
 * statistics and everything reduced stay fp32. The tied embedding/head norm is always computed exactly (simultaneous).
 * All pointers below are device byte addresses; shapes: B examples, T tokens, R = B·T rows, C channels, V vocabulary.
 */
public final class CudaBackend implements Backend {
    /** Examples per batched per-example GEMM at most (the simultaneous method's chunk). */
    public static final int MAX_CHUNK = CudaOps.MAX_CHUNK;
    private static final int MAX_C = 8192;

    private final ModelConfig cfg;
    private final ParameterLayout layout;
    private final int maxB, C, V, L, P;
    private final Gpu gpu;
    private final CublasLt lt;
    private final CudaOps ops;
    private final CudaBlocks blocks;
    private final GradientOverlap overlap;
    private final CudaAdamW adamW;
    private final long[] resid;
    private final long lnf, lnfMean, lnfRstd, logits, losses, ids, targets, gradSq, segments;
    private boolean closed;

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
        L = config.nLayer();
        P = layout.totalSize;
        if (C > MAX_C) throw new IllegalArgumentException("the CUDA norm kernels support n_embd <= " + MAX_C + ", got " + C);
        gpu = new Gpu(ordinal, Map.of("HS", Integer.toString(config.headSize())));
        try {
            lt = new CublasLt(gpu);
            overlap = new GradientOverlap(gpu, layout.tensors, P);
            ops = new CudaOps(gpu, lt, config, layout, maxB, overlap);
            blocks = CudaBlocks.of(ops);
            long R = (long) maxB * config.blockSize(), RC = R * C;
            adamW = new CudaAdamW(gpu, layout);
            resid = new long[L + 1];
            for (int l = 0; l <= L; l++) resid[l] = gpu.alloc(4 * RC);
            lnf = gpu.alloc(2 * RC);
            long meanBytes = ops.meanBytes(R);
            lnfMean = meanBytes == 0 ? 0 : gpu.alloc(meanBytes);
            lnfRstd = gpu.alloc(4 * R);
            logits = gpu.alloc(2 * R * V);
            losses = gpu.alloc(4 * R);
            ids = gpu.alloc(4 * R);
            targets = gpu.alloc(4 * R);
            int nt = layout.numTensors();
            gradSq = gpu.alloc(8L * nt);
            segments = gpu.alloc(8L * (nt + 1));
            try (Arena a = Arena.ofConfined()) {
                MemorySegment off = a.allocate(JAVA_LONG, nt + 1);
                for (ParamTensor t : layout.tensors) off.setAtIndex(JAVA_LONG, t.index(), t.offset());
                off.setAtIndex(JAVA_LONG, nt, P);
                gpu.upload(segments, off);
                gpu.sync();
            }
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
    public void readParams(float[] dst) { download(dst, ops.params); }

    @Override
    public void writeParams(float[] src) {
        upload(ops.params, src);
        gpu.launch("to_bf16", gpu.blocksFor(P), 1, 256, 0, ops.paramsBf, ops.params, (long) P);
        gpu.sync();
    }

    @Override
    public void readGrads(float[] dst) {
        requireNoQueuedSum("readGrads");
        download(dst, ops.grads);
    }

    @Override
    public void zeroGrad() {
        requireNoQueuedSum("zeroGrad");
        gpu.makeCurrent();
        gpu.zero(ops.grads, 4L * P);
    }

    @Override
    public double forwardBackward(int[] inputs, int[] targetIds, int B, int T, float gradScale, NormTracking tracking,
                                  LinearNormMethod method, double[] sqOut) {
        int nt = layout.numTensors();
        if (tracking != NormTracking.OFF && (sqOut == null || sqOut.length < nt * B))
            throw new IllegalArgumentException("per-example norm buffer must hold tensors × B = " + nt * B);
        requireNoQueuedSum("forwardBackward");
        double loss = forward(inputs, targetIds, B, T, true);
        backward(new CudaOps.Step(B, T, gradScale, tracking, method));
        if (tracking != NormTracking.OFF) {
            double[] got = new double[nt * B];
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(JAVA_DOUBLE, (long) nt * B);
                gpu.download(s, ops.sq);
                MemorySegment.copy(s, JAVA_DOUBLE, 0, got, 0, nt * B);
            }
            for (ParamTensor t : layout.tensors)
                for (int b = 0; b < B; b++) sqOut[t.index() * B + b] = tracking.tracks(t) ? got[t.index() * B + b] : Double.NaN;
        }
        return loss;
    }

    @Override
    public double evaluate(int[] inputs, int[] targetIds, int B, int T) { return forward(inputs, targetIds, B, T, false); }

    private double forward(int[] inputs, int[] targetIds, int B, int T, boolean withBackward) {
        if (B < 1 || B > maxB) throw new IllegalArgumentException("batch " + B + " outside [1, " + maxB + "]");
        if (T < 1 || T > cfg.blockSize()) throw new IllegalArgumentException("sequence length " + T + " outside [1, block_size]");
        int R = B * T;
        for (int i = 0; i < R; i++)
            if (inputs[i] < 0 || inputs[i] >= V || targetIds[i] < 0 || targetIds[i] >= V)
                throw new IllegalArgumentException("token id out of range [0, " + V + ") at position " + i);
        gpu.makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            gpu.upload(ids, a.allocateFrom(JAVA_INT, Arrays.copyOf(inputs, R)));
            gpu.upload(targets, a.allocateFrom(JAVA_INT, Arrays.copyOf(targetIds, R)));
            gpu.sync();
        }
        long RC = (long) R * C;
        gpu.launch("embed_fwd", gpu.blocksFor(RC), 1, 256, 0, resid[0], ids, ops.param(layout.wte),
                layout.wpe == null ? 0L : ops.param(layout.wpe), T, C, RC);
        for (int l = 0; l < L; l++) blocks.forward(l, resid[l], resid[l + 1], B, T);
        ops.normForward(lnf, lnfMean, lnfRstd, resid[L], layout.lnfWeight, layout.lnfBias, R);
        ops.linear(logits, R_16BF, lnf, head(), R, C, V, 0, null, 0);
        ops.crossEntropy(logits, losses, targets, R, T, V, withBackward);
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

    /**
     * Gradients in decreasing layout index: each {@link CudaOps#gradsFinal} marks the tensors from the one named up as
     * final (no later op of this backward writes them), so that an overlapped all-reduce can queue their buckets.
     */
    private void backward(CudaOps.Step st) {
        int B = st.B(), T = st.T(), R = st.R();
        long RC = (long) R * C;
        float s = st.scale();
        ParameterLayout p = layout;
        overlap.begin();
        ops.beginBackward(st);
        lt.linearBackwardInput(ops.dnorm, R_32F, logits, ops.bf(head()), R, C, V, 0);
        if (p.lmHead != null) {
            ops.linearWeights(logits, lnf, C, st, null, p.lmHead);
            ops.gradsFinal(p.lmHead);
        }
        gpu.zero(ops.dresid, 4 * RC);
        ops.normBackward(ops.dnorm, resid[L], lnfMean, lnfRstd, p.lnfWeight, p.lnfBias, st);
        ops.gradsFinal(p.lnfWeight);
        for (int l = L - 1; l >= 0; l--) blocks.backward(l, resid[l], st);
        if (p.wpe != null) {
            long TC = (long) T * C;
            gpu.launch("pos_bwd", gpu.blocksFor(TC), 1, 256, 0, ops.grad(p.wpe), ops.dresid, B, TC, s);
            ops.gradsFinal(p.wpe);
            if (st.all()) gpu.launch("dot_per_example", gpu.blocksFor(TC), B, 256, 0, ops.sqRow(p.wpe), ops.dresid, ops.dresid, TC);
        }
        // the tied embedding: the head's gradient (deferred to here), then the lookup's scatter
        if (p.lmHead == null && st.all()) ops.perExample(ops.grad(p.wte), ops.sqRow(p.wte), logits, V, lnf, B, T, C, V, s, ops.dresid, ids);
        else if (p.lmHead == null) lt.weightGrad(ops.grad(p.wte), R_32F, logits, lnf, R, C, V, 1, s, 1f);
        gpu.launch("embed_bwd", gpu.blocksFor(RC), 1, 256, 0, ops.grad(p.wte), ops.dresid, ids, C, RC, s);
        ops.gradsFinal(p.wte);
        if (st.all()) gpu.launch("embed_group_sq", T, B, 256, 4 * T, ops.sqRow(p.wte), ops.dresid, ids, T, C);
        overlap.endBackward();
    }

    // ---------------------------------------------------------------- whole-buffer ops

    @Override
    public double[] gradSqPerTensor() {
        gpu.makeCurrent();
        int nt = layout.numTensors();
        gpu.zero(gradSq, 8L * nt);
        gpu.launch("sumsq_segments", 4 * gpu.smCount, nt, 256, 0, gradSq, ops.grads, segments);
        double[] out = new double[nt];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(JAVA_DOUBLE, nt);
            gpu.download(s, gradSq);
            MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, nt);
        }
        return out;
    }

    /**
     * After an overlapped backward: waits for the bucket sums queued on the communicator's stream, then makes their
     * buffer the gradient ({@link GradientOverlap#complete}). Otherwise one in-place all-reduce of the whole fp32
     * gradient once backward has finished on this GPU, waited for before this returns.
     */
    @Override
    public void allReduceGrads(Communicator comm) {
        requireDeviceBuffers(comm);
        gpu.makeCurrent();
        if (overlap.queued()) {
            ops.grads = overlap.complete(comm, ops.grads);
            return;
        }
        gpu.sync();
        comm.allReduceSum(MemorySegment.ofAddress(ops.grads), P, Communicator.DataType.FLOAT32);
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
        overlap.request(comm, bucketBytes);
    }

    private static void requireDeviceBuffers(Communicator comm) {
        if (!comm.deviceBuffers())
            throw new IllegalArgumentException("the CUDA backend's gradient lives on the GPU: it needs a communicator of device buffers (NCCL)");
    }

    /** The gradient may not be touched between an overlapped backward and the allReduceGrads that completes its sum. */
    private void requireNoQueuedSum(String call) {
        if (overlap.queued())
            throw new IllegalStateException(call + " while the gradient all-reduce begun in backward is queued: call allReduceGrads first");
    }

    @Override
    public void scaleGrads(float factor) {
        requireNoQueuedSum("scaleGrads");
        gpu.makeCurrent();
        gpu.launch("scale_f32", gpu.blocksFor(P), 1, 256, 0, ops.grads, (long) P, factor);
    }

    /** AdamW over runs of consecutive tensors sharing their weight-decay flag; refreshes the bf16 weights. */
    @Override
    public void adamwStep(AdamWSettings st, double lr, int step) {
        requireNoQueuedSum("adamwStep");
        gpu.makeCurrent();
        adamW.step(st, lr, step, ops.params, ops.paramsBf, ops.grads);
    }

    @Override
    public void readOptimizerState(float[] m, float[] v) {
        download(m, adamW.m);
        download(v, adamW.v);
    }

    @Override
    public void writeOptimizerState(float[] m, float[] v) {
        upload(adamW.m, m);
        upload(adamW.v, v);
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
        overlap.close();
        lt.close();
        gpu.close();
    }

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
}
