package gns4j.backend.cuda;

/**
 * LayerNorm (mean != 0) / RMSNorm launches shared by the model and `bench kernels`. x (R,C) fp32, y (R,C) bf16;
 * backward: dx (R,C) fp32 += dL/dx with its bf16 copy dxb, per-example partials (B,C) of γ (and β when its gradient
 * pointer is non-zero; both partial buffers zero on entry, and left zero) reduced into the gradients (times scale) and,
 * where the sq pointers are non-zero, into the per-example squared norms (B doubles each).
 */
final class NormKernels {
    private NormKernels() {}

    static void forward(Gpu gpu, long y, long mean, long rstd, long x, long g, long b, int R, int C) {
        gpu.launch("norm_fwd", (R + 7) / 8, 1, 256, 0, y, mean, rstd, x, g, b, R, C);
    }

    static void backward(Gpu gpu, long dx, long dxb, long partG, long partB, long dy, long x, long mean, long rstd, long g,
                         long gradG, long gradB, long sqG, long sqB, int B, int T, int C, float scale) {
        int threads = threads(C), rows = rows(gpu.smCount, threads, B, T);
        gpu.launch(C <= 4096 ? "norm_bwd" : "norm_bwd_wide", (T + rows - 1) / rows, B, threads, 0, dx, dxb, partG,
                gradB == 0 ? 0L : partB, dy, x, mean, rstd, g, T, C, rows);
        gpu.launch("norm_wgrad", (C + 255) / 256, 1, 256, 0, gradG, sqG, partG, B, C, scale);
        if (gradB != 0) gpu.launch("norm_wgrad", (C + 255) / 256, 1, 256, 0, gradB, sqB, partB, B, C, scale);
    }

    /** norm_bwd threads per block: each owns 8 columns (16 in norm_bwd_wide, C > 4096); a multiple of 32, at most 512. */
    static int threads(int C) {
        int perThread = C <= 4096 ? 8 : 16;
        return Math.min(512, Math.max(32, ((C + perThread - 1) / perThread + 31) / 32 * 32));
    }

    /** norm_bwd rows per block: enough blocks for half the SMs' threads, few enough that the partials' atomics stay rare. */
    static int rows(int smCount, int threads, int B, int T) {
        long perExample = Math.max(1, (long) smCount * (1024 / threads) / B);
        return (int) Math.max(1, (T + perExample - 1) / perExample);
    }
}
