package gns4j.backend.cuda;

import java.util.Locale;

/**
 * LayerNorm (mean != 0) / RMSNorm launches shared by the model and `bench kernels`. x (R,C) fp32, y (R,C) bf16;
 * backward: dx (R,C) fp32 += dL/dx with its bf16 copy dxb, per-example partials (B,C) of γ (and β when its gradient
 * pointer is non-zero; both partial buffers zero on entry, and left zero) reduced into the gradients (times scale) and,
 * where the sq pointers are non-zero, into the per-example squared norms (B doubles each).
 */
public final class NormKernels {
    private NormKernels() {}

    /**
     * Two kernel designs, both kept so that `bench kernels` times them in one call (norm.cu has the details). ROW:
     * norm_fwd reads each row three times; norm_bwd loads a row, then waits at its barrier with no loads in flight.
     * PIPE: norm_fwd_reg* holds the row in registers (one read of x); norm_bwd_pipe issues the next row's loads before
     * the current row's barrier, on one wave of blocks. C > {@value #PIPE_MAX_C}: PIPE's forward is norm_fwd_wide (a
     * block per row in registers); the backward is norm_bwd_wide in both.
     */
    public enum Variant { ROW, PIPE }

    /** The model's variant: -Dgns4j.cuda.norm=row|pipe, default pipe. */
    static final Variant MODEL = Variant.valueOf(System.getProperty("gns4j.cuda.norm", "pipe").toUpperCase(Locale.ROOT));
    static final int PIPE_MAX_C = 4096;
    /** Widths NV of norm_fwd_reg&lt;NV&gt; in norm.cu: float4s per lane, one warp per row of C ≤ 128·NV. */
    static final int[] FWD_REG_NV = {1, 2, 4, 6, 8, 12, 16, 24, 32};

    static void forward(Gpu gpu, long y, long mean, long rstd, long x, long g, long b, int R, int C) {
        forward(gpu, MODEL, y, mean, rstd, x, g, b, R, C);
    }

    public static void forward(Gpu gpu, Variant v, long y, long mean, long rstd, long x, long g, long b, int R, int C) {
        if (v == Variant.PIPE && C <= PIPE_MAX_C)
            gpu.launch("norm_fwd_reg" + fwdRegWidth(C), (R + 3) / 4, 1, 128, 0, y, mean, rstd, x, g, b, R, C);
        else if (v == Variant.PIPE) gpu.launch("norm_fwd_wide", R, 1, 256, 0, y, mean, rstd, x, g, b, R, C);
        else gpu.launch("norm_fwd", (R + 7) / 8, 1, 256, 0, y, mean, rstd, x, g, b, R, C);
    }

    static void backward(Gpu gpu, long dx, long dxb, long partG, long partB, long dy, long x, long mean, long rstd, long g,
                         long gradG, long gradB, long sqG, long sqB, int B, int T, int C, float scale) {
        backward(gpu, MODEL, dx, dxb, partG, partB, dy, x, mean, rstd, g, gradG, gradB, sqG, sqB, B, T, C, scale);
    }

    public static void backward(Gpu gpu, Variant v, long dx, long dxb, long partG, long partB, long dy, long x, long mean, long rstd,
                         long g, long gradG, long gradB, long sqG, long sqB, int B, int T, int C, float scale) {
        int threads = threads(C);
        boolean pipe = v == Variant.PIPE && C <= PIPE_MAX_C;
        String kernel = pipe ? "norm_bwd_pipe" : C <= PIPE_MAX_C ? "norm_bwd" : "norm_bwd_wide";
        // ROW: blocks for half the SMs' threads; PIPE: exactly the blocks resident at once (its registers allow half as
        // many), so no block waits for a second wave and fewer blocks add their partials by atomics.
        long resident = pipe ? (long) gpu.smCount * gpu.blocksPerSm(kernel, threads) : (long) gpu.smCount * (1024 / threads);
        int rows = rows(resident, B, T);
        gpu.launch(kernel, (T + rows - 1) / rows, B, threads, 0, dx, dxb, partG, gradB == 0 ? 0L : partB, dy, x, mean, rstd, g,
                T, C, rows);
        gpu.launch("norm_wgrad", (C + 255) / 256, 1, 256, 0, gradG, sqG, partG, B, C, scale);
        if (gradB != 0) gpu.launch("norm_wgrad", (C + 255) / 256, 1, 256, 0, gradB, sqB, partB, B, C, scale);
    }

    /** Smallest norm_fwd_reg width for C ≤ {@value #PIPE_MAX_C}. */
    static int fwdRegWidth(int C) {
        for (int nv : FWD_REG_NV) if (128 * nv >= C) return nv;
        throw new IllegalArgumentException("C " + C + " > " + PIPE_MAX_C);
    }

    /** Backward threads per block: each owns 8 columns (16 in norm_bwd_wide, C > 4096); a multiple of 32, at most 512. */
    static int threads(int C) {
        int perThread = C <= PIPE_MAX_C ? 8 : 16;
        return Math.min(512, Math.max(32, ((C + perThread - 1) / perThread + 31) / 32 * 32));
    }

    /** Backward rows per block so that about `blocks` blocks share the B examples (at least one per example). */
    static int rows(long blocks, int B, int T) {
        long perExample = Math.max(1, blocks / B);
        return (int) Math.max(1, (T + perExample - 1) / perExample);
    }
}
