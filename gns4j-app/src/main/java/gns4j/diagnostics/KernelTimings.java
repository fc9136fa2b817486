package gns4j.diagnostics;

import gns4j.backend.cuda.AttentionKernels;
import gns4j.backend.cuda.CublasLt;
import gns4j.backend.cuda.CudaBackend;
import gns4j.backend.cuda.Gpu;
import gns4j.backend.cuda.NormKernels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.diagnostics.DeviceInputs.uniform;
import static gns4j.diagnostics.DeviceInputs.uniformBf16;
import static gns4j.backend.cuda.CublasLt.R_32F;

/**
 * GPU side of `./gns4j bench kernels`, on GPU 0: device-to-device copy bandwidth, the norm layer's forward + backward
 * (the model's launches, NormKernels) and the Linear weight gradient (the model's GEMMs), each with and without
 * per-example squared norms, and causal attention forward and backward (the model's launches, AttentionKernels). Every result is the median of event-timed back-to-back runs, in milliseconds.
 */
public final class KernelTimings implements AutoCloseable {
    private final Gpu gpu;
    private final CublasLt lt;
    private final int warmup, reps;

    public KernelTimings(int warmup, int reps) {
        gpu = new Gpu(0, Map.of("HS", Integer.toString(ATTENTION_HEAD_SIZE)));
        lt = new CublasLt(gpu);
        this.warmup = warmup;
        this.reps = reps;
    }

    public String device() { return gpu.name + ", " + gpu.arch; }

    /** Read + write GB/s of a 1 GiB cuMemcpyDtoD. */
    public double copyGBps() {
        long bytes = 1L << 30, src = uniform(gpu, bytes / 4, 1, 1f), dst = gpu.alloc(bytes);
        return 2 * bytes / (median(() -> gpu.copy(dst, src, bytes)) * 1e6);
    }

    /** One norm-kernel variant's times (ms): forward; backward with norms; forward + backward without and with norms. */
    public record NormTimes(String variant, double forward, double backward, double untracked, double tracked) {}

    /**
     * LayerNorm (rms: RMSNorm, gain only) forward + backward over B·T rows of C for each kernel variant (NormKernels.Variant), on one set of
     * buffers: x fp32 → y bf16 with mean/rstd; dy fp32 → dx fp32 (+=) and its bf16 copy, γ and β gradients; tracked
     * adds their per-example squared norms.
     */
    public List<NormTimes> normTimes(int B, int T, int C, boolean rms) {
        int R = B * T;
        long RC = (long) R * C;
        long x = uniform(gpu, RC, 2, 1f), dy = uniform(gpu, RC, 3, 1f), g = uniform(gpu, C, 4, 1f), beta = uniform(gpu, C, 5, 1f),
                y = gpu.alloc(2 * RC), dx = gpu.alloc(4 * RC),
                dxb = gpu.alloc(2 * RC), mean = gpu.alloc(4L * R), rstd = gpu.alloc(4L * R), partG = gpu.alloc(4L * B * C),
                partB = gpu.alloc(4L * B * C), gradG = gpu.alloc(4L * C), gradB = gpu.alloc(4L * C), sq = gpu.alloc(16L * B);
        gpu.zero(dx, 4 * RC);
        gpu.zero(partG, 4L * B * C);
        gpu.zero(partB, 4L * B * C);
        List<NormTimes> out = new ArrayList<>();
        for (NormKernels.Variant v : NormKernels.Variant.values()) {
            // RMSNorm: the same kernels without a mean, a bias or its gradient (as the Llama model launches them).
            long mu = rms ? 0L : mean, bias = rms ? 0L : beta, gB = rms ? 0L : gradB, sqB = rms ? 0L : sq + 8L * B;
            Runnable fwd = () -> NormKernels.forward(gpu, v, y, mu, rstd, x, g, bias, R, C);
            Runnable plain = () -> NormKernels.backward(gpu, v, dx, dxb, partG, partB, dy, x, mu, rstd, g, gradG, gB, 0L, 0L,
                    B, T, C, 1f);
            Runnable tracked = () -> {
                gpu.zero(sq, 16L * B);
                NormKernels.backward(gpu, v, dx, dxb, partG, partB, dy, x, mu, rstd, g, gradG, gB, sq, sqB, B, T, C, 1f);
            };
            out.add(new NormTimes(v.name().toLowerCase(Locale.ROOT), median(fwd), median(tracked), median(() -> {
                fwd.run();
                plain.run();
            }), median(() -> {
                fwd.run();
                tracked.run();
            })));
        }
        return out;
    }

    /**
     * Weight gradient (N,K) fp32 += dyᵀ·x of B·T rows (dy (·,N), x (·,K) bf16); tracked: the model's simultaneous method
     * (batched per-example bf16 GEMM in chunks of 8 examples, then the fused sum-and-norm pass).
     */
    public double linearWgradMs(int B, int T, int K, int N, boolean tracked) {
        long R = (long) B * T, NK = (long) N * K;
        int chunk = Math.min(CudaBackend.MAX_CHUNK, B);
        long dy = uniformBf16(gpu, R * N, 6, 1f), x = uniformBf16(gpu, R * K, 7, 1f), grad = gpu.alloc(4 * NK), sq = gpu.alloc(8L * B),
                ws = tracked ? gpu.alloc(2 * NK * chunk) : 0;
        gpu.zero(grad, 4 * NK);
        return median(() -> {
            if (!tracked) {
                lt.weightGrad(grad, R_32F, dy, x, (int) R, K, N, 1, 1f, 1f);
                return;
            }
            gpu.zero(sq, 8L * B);
            for (int b0 = 0; b0 < B; b0 += chunk) {
                int nb = Math.min(chunk, B - b0);
                lt.weightGrad(ws, R_16BF, dy + 2L * b0 * T * N, x + 2L * b0 * T * K, T, K, N, nb, 1f, 0f);
                gpu.launch("pe_reduce", gpu.blocksFor((NK + 7) / 8), 1, 256, 0, grad, sq + 8L * b0, ws, nb, NK, 1f);
            }
        });
    }

    /** The head size the kernels are compiled for here (the Gpu's HS macro), so the one the attention rows time. */
    public static final int ATTENTION_HEAD_SIZE = 64;

    /** Attention times (ms) at one head configuration: forward (out, lse) and backward (dQ, dK, dV). */
    public record AttentionTimes(int heads, int kvHeads, double forward, double backward) {}

    /**
     * Causal attention of B·T tokens, NH query heads over KVH key/value heads of size {@link #ATTENTION_HEAD_SIZE},
     * on random bf16 q|k|v and output gradient; the backward reuses the forward's output and lse.
     */
    public AttentionTimes attentionTimes(int B, int T, int NH, int KVH) {
        int hs = ATTENTION_HEAD_SIZE;
        long R = (long) B * T, qkvElems = R * (NH + 2L * KVH) * hs, outElems = R * NH * hs, rowStats = 4L * B * NH * T;
        long qkv = uniformBf16(gpu, qkvElems, 8, 1f), dqkv = gpu.alloc(2 * qkvElems), out = gpu.alloc(2 * outElems),
                dout = uniformBf16(gpu, outElems, 9, 1f), lse = gpu.alloc(rowStats), delta = gpu.alloc(rowStats);
        AttentionKernels k = new AttentionKernels(gpu, NH, KVH, hs);
        double forward = median(() -> k.forward(out, lse, qkv, B, T));
        return new AttentionTimes(NH, KVH, forward, median(() -> k.backward(dqkv, delta, dout, out, qkv, lse, B, T)));
    }

    private double median(Runnable op) {
        double[] ms = gpu.timeMs(warmup, reps, op);
        Arrays.sort(ms);
        return ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
    }

    @Override
    public void close() {
        gpu.makeCurrent();
        lt.close();
        gpu.close();
    }
}
