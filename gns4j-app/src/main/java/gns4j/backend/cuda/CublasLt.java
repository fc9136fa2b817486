package gns4j.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLASLt (libcublasLt.so.13): column-major D = alpha·op(A)·op(B) + beta·C with bf16 A and B, fp32 accumulation and
 * bf16 or fp32 C/D, optionally strided-batched, optionally with a fused epilogue (bias, GELU saving its input, GELU
 * gradient). Each distinct shape gets its descriptors and the heuristic's best algorithm once, then reuses them.
 */
public final class CublasLt implements AutoCloseable {
    public static final int R_32F = 0, R_16BF = 14;
    /** Epilogues: D += bias (per row of column-major D); D = GELU(AB + bias) with AB + bias saved to aux; D = AB ⊙ GELU'(aux). */
    static final int EPI_NONE = 1, EPI_BIAS = 4, EPI_GELU_AUX = 160, EPI_GELU_AUX_BIAS = 164, EPI_DGELU = 192;
    private static final int DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8, DESC_AUX_POINTER = 11, DESC_AUX_LD = 12;
    private static final int COMPUTE_32F = 68;
    private static final int DESC_TRANSA = 3, DESC_TRANSB = 4, LAYOUT_BATCH_COUNT = 5, LAYOUT_BATCH_STRIDE = 6;
    private static final int PREF_MAX_WORKSPACE = 1, PREF_ALIGN_A = 5, PREF_ALIGN_B = 6, PREF_ALIGN_C = 7, PREF_ALIGN_D = 8;
    private static final int HEURISTIC_RESULT_BYTES = 96, ALGO_BYTES = 64;
    private static final long WORKSPACE = 32L << 20;

    /**
     * One matmul shape: m×n result from k, leading dims, batch strides in elements (0 when batch = 1), D's (and C's)
     * type, the byte alignment of the four pointers (power of two ≤ 256) and the epilogue (EPI_*; an aux matrix has D's
     * type and layout).
     */
    record Gemm(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldd, long strideA,
                long strideB, long strideD, int batch, int typeD, int alignA, int alignB, int alignC, int alignD, int epilogue) {}

    private record Plan(long desc, long layoutA, long layoutB, long layoutD, MemorySegment algo) {}

    private final Gpu gpu;
    private final MethodHandle create, destroy, descCreate, descSet, descDestroy, layoutCreate, layoutSet, layoutDestroy,
            prefCreate, prefSet, prefDestroy, heuristic, matmul, statusString;
    private final long handle, workspace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha, beta, pointer;
    private final Map<Gemm, Plan> plans = new HashMap<>();

    public CublasLt(Gpu gpu) {
        this.gpu = gpu;
        NativeLibrary lib = NativeLibrary.load("cuBLASLt", NativeLibrary.toolkitNames("libcublasLt"));
        create = lib.fn("cublasLtCreate", JAVA_INT, ADDRESS);
        destroy = lib.fn("cublasLtDestroy", JAVA_INT, JAVA_LONG);
        descCreate = lib.fn("cublasLtMatmulDescCreate", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        descSet = lib.fn("cublasLtMatmulDescSetAttribute", JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        descDestroy = lib.fn("cublasLtMatmulDescDestroy", JAVA_INT, JAVA_LONG);
        layoutCreate = lib.fn("cublasLtMatrixLayoutCreate", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        layoutSet = lib.fn("cublasLtMatrixLayoutSetAttribute", JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        layoutDestroy = lib.fn("cublasLtMatrixLayoutDestroy", JAVA_INT, JAVA_LONG);
        prefCreate = lib.fn("cublasLtMatmulPreferenceCreate", JAVA_INT, ADDRESS);
        prefSet = lib.fn("cublasLtMatmulPreferenceSetAttribute", JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        prefDestroy = lib.fn("cublasLtMatmulPreferenceDestroy", JAVA_INT, JAVA_LONG);
        heuristic = lib.fn("cublasLtMatmulAlgoGetHeuristic", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        matmul = lib.fn("cublasLtMatmul", JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        statusString = lib.fn("cublasLtGetStatusString", ADDRESS, JAVA_INT);
        MemorySegment h = arena.allocate(JAVA_LONG);
        check("cublasLtCreate", NativeLibrary.call(() -> (int) create.invokeExact(h)));
        handle = h.get(JAVA_LONG, 0);
        workspace = gpu.alloc(WORKSPACE);
        alpha = arena.allocate(JAVA_FLOAT);
        beta = arena.allocate(JAVA_FLOAT);
        pointer = arena.allocate(JAVA_LONG);
    }

    /** Largest power of two ≤ 256 dividing every address and byte stride given. */
    static int alignment(long... bytes) {
        long bits = 256;
        for (long b : bytes) if (b != 0) bits |= b;
        return (int) Long.lowestOneBit(bits);
    }

    void run(Gemm g, long a, long b, long c, long d, float alphaValue, float betaValue) {
        run(g, a, b, c, d, alphaValue, betaValue, 0, 0);
    }

    /** D = epilogue(alpha·op(A)·op(B) + beta·C) with the epilogue's bias vector (length m, D's type) and aux matrix. */
    void run(Gemm g, long a, long b, long c, long d, float alphaValue, float betaValue, long bias, long aux) {
        Plan p = plans.computeIfAbsent(g, this::plan);
        if (bias != 0) setPointer(p.desc(), DESC_BIAS_POINTER, bias);
        if (aux != 0) setPointer(p.desc(), DESC_AUX_POINTER, aux);
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        long stream = gpu.stream;
        String name = gpu.profiling ? "gemm " + g.m() + "x" + g.n() + "x" + g.k() + (g.batch() > 1 ? " batch " + g.batch() : "")
                + (g.epilogue() != EPI_NONE ? " epilogue " + g.epilogue() : "") : null;
        gpu.timed(name, () -> check("cublasLtMatmul(m=" + g.m() + " n=" + g.n() + " k=" + g.k() + " batch=" + g.batch() + ")",
                NativeLibrary.call(() -> (int) matmul.invokeExact(handle, p.desc(), alpha, a, p.layoutA(), b, p.layoutB(), beta, c,
                        p.layoutD(), d, p.layoutD(), p.algo(), workspace, WORKSPACE, stream))));
    }

    /**
     * Row-major out (R,N) = x (R,K)·wᵀ (w (N,K) bf16) + bias (length N, out's type; 0: none) + residual (R,N, out's type;
     * 0: none), all in the epilogue. geluIn != 0: out = GELU_tanh(·) with the pre-activation (R,N, bf16) saved to geluIn.
     */
    public void linear(long out, int outType, long x, long w, int R, int K, int N, long residual, long bias, long geluIn) {
        long c = residual != 0 ? residual : out;
        int epi = geluIn != 0 ? (bias != 0 ? EPI_GELU_AUX_BIAS : EPI_GELU_AUX) : bias != 0 ? EPI_BIAS : EPI_NONE;
        run(new Gemm(true, false, N, R, K, K, K, N, 0, 0, 0, 1, outType, alignment(w), alignment(x), alignment(c), alignment(out), epi),
                w, x, c, out, 1f, residual != 0 ? 1f : 0f, bias, geluIn);
    }

    /** Row-major dx (R,K) = dy (R,N)·w (N,K), times GELU_tanh'(geluIn) (R,K bf16) in the epilogue when geluIn != 0. */
    public void linearBackwardInput(long dx, int type, long dy, long w, int R, int K, int N, long geluIn) {
        run(new Gemm(false, false, K, R, N, K, N, K, 0, 0, 0, 1, type, alignment(w), alignment(dy), alignment(dx), alignment(dx),
                geluIn != 0 ? EPI_DGELU : EPI_NONE), w, dy, dx, dx, 1f, 0f, 0, geluIn);
    }

    /** dW_i (N,K) fp32 or bf16 (type) = alpha·dy_iᵀ·x_i + beta·dW_i for `count` consecutive slices of `rows` rows of dy (·,N) and x (·,K) bf16 (dW_i stride N·K). */
    public void weightGrad(long dw, int type, long dy, long x, int rows, int K, int N, int count, float alpha, float beta) {
        weightGrad(dw, type, dy, N, x, rows, K, N, count, alpha, beta);
    }

    /**
     * As {@link #weightGrad(long, int, long, long, int, int, int, int, float, float)} with dy N columns of a wider
     * matrix (row stride ldy): one weight's slice of a fused projection's output gradient.
     */
    public void weightGrad(long dw, int type, long dy, int ldy, long x, int rows, int K, int N, int count, float alpha, float beta) {
        long sx = count > 1 ? (long) rows * K : 0, sy = count > 1 ? (long) rows * ldy : 0, sw = count > 1 ? (long) N * K : 0;
        int ew = type == R_32F ? 4 : 2;
        run(new Gemm(false, true, K, N, rows, K, ldy, K, sx, sy, sw, count, type, alignment(x, 2 * sx), alignment(dy, 2 * sy),
                alignment(dw, ew * sw), alignment(dw, ew * sw), EPI_NONE), x, dy, dw, dw, alpha, beta);
    }

    private Plan plan(Gemm g) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cublasLtMatmulDescCreate", NativeLibrary.call(() -> (int) descCreate.invokeExact(out, COMPUTE_32F, R_32F)));
            long desc = out.get(JAVA_LONG, 0);
            setInt(a, descSet, "cublasLtMatmulDescSetAttribute", desc, DESC_TRANSA, g.transA() ? 1 : 0);
            setInt(a, descSet, "cublasLtMatmulDescSetAttribute", desc, DESC_TRANSB, g.transB() ? 1 : 0);
            setInt(a, descSet, "cublasLtMatmulDescSetAttribute", desc, DESC_EPILOGUE, g.epilogue());
            if (g.epilogue() == EPI_GELU_AUX || g.epilogue() == EPI_GELU_AUX_BIAS || g.epilogue() == EPI_DGELU) {
                MemorySegment ld = a.allocate(JAVA_LONG);
                ld.set(JAVA_LONG, 0, g.ldd());
                check("cublasLtMatmulDescSetAttribute", NativeLibrary.call(() -> (int) descSet.invokeExact(desc, DESC_AUX_LD, ld, 8L)));
            }
            long la = layout(a, R_16BF, g.transA() ? g.k() : g.m(), g.transA() ? g.m() : g.k(), g.lda(), g.batch(), g.strideA());
            long lb = layout(a, R_16BF, g.transB() ? g.n() : g.k(), g.transB() ? g.k() : g.n(), g.ldb(), g.batch(), g.strideB());
            long ld = layout(a, g.typeD(), g.m(), g.n(), g.ldd(), g.batch(), g.strideD());
            check("cublasLtMatmulPreferenceCreate", NativeLibrary.call(() -> (int) prefCreate.invokeExact(out)));
            long pref = out.get(JAVA_LONG, 0);
            MemorySegment ws = a.allocate(JAVA_LONG);
            ws.set(JAVA_LONG, 0, WORKSPACE);
            check("cublasLtMatmulPreferenceSetAttribute", NativeLibrary.call(() -> (int) prefSet.invokeExact(pref, PREF_MAX_WORKSPACE, ws, 8L)));
            int[] aligns = {g.alignA(), g.alignB(), g.alignC(), g.alignD()};
            int[] attrs = {PREF_ALIGN_A, PREF_ALIGN_B, PREF_ALIGN_C, PREF_ALIGN_D};
            for (int i = 0; i < 4; i++) setInt(a, prefSet, "cublasLtMatmulPreferenceSetAttribute", pref, attrs[i], aligns[i]);
            MemorySegment results = a.allocate(HEURISTIC_RESULT_BYTES, 8), found = a.allocate(JAVA_INT);
            int status = NativeLibrary.call(() -> (int) heuristic.invokeExact(handle, desc, la, lb, ld, ld, pref, 1, results, found));
            NativeLibrary.call(() -> (int) prefDestroy.invokeExact(pref));
            check("cublasLtMatmulAlgoGetHeuristic(" + g + ")", status);
            if (found.get(JAVA_INT, 0) < 1) throw new CudaException("cublasLtMatmulAlgoGetHeuristic(" + g + ")", 15, "no algorithm for this shape");
            MemorySegment algo = arena.allocate(ALGO_BYTES, 8);
            algo.copyFrom(results.asSlice(0, ALGO_BYTES));
            return new Plan(desc, la, lb, ld, algo);
        }
    }

    private long layout(Arena a, int type, long rows, long cols, long ld, int batch, long stride) {
        MemorySegment out = a.allocate(JAVA_LONG);
        check("cublasLtMatrixLayoutCreate", NativeLibrary.call(() -> (int) layoutCreate.invokeExact(out, type, rows, cols, ld)));
        long l = out.get(JAVA_LONG, 0);
        if (batch > 1) {
            setInt(a, layoutSet, "cublasLtMatrixLayoutSetAttribute", l, LAYOUT_BATCH_COUNT, batch);
            MemorySegment s = a.allocate(JAVA_LONG);
            s.set(JAVA_LONG, 0, stride);
            check("cublasLtMatrixLayoutSetAttribute", NativeLibrary.call(() -> (int) layoutSet.invokeExact(l, LAYOUT_BATCH_STRIDE, s, 8L)));
        }
        return l;
    }

    private void setPointer(long desc, int attr, long value) {
        pointer.set(JAVA_LONG, 0, value);
        check("cublasLtMatmulDescSetAttribute", NativeLibrary.call(() -> (int) descSet.invokeExact(desc, attr, pointer, 8L)));
    }

    private void setInt(Arena a, MethodHandle setter, String name, long obj, int attr, int value) {
        MemorySegment v = a.allocate(JAVA_INT);
        v.set(JAVA_INT, 0, value);
        check(name, NativeLibrary.call(() -> (int) setter.invokeExact(obj, attr, v, 4L)));
    }

    private void check(String call, int status) {
        if (status == 0) return;
        String text;
        try {
            text = ((MemorySegment) statusString.invokeExact(status)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "cuBLAS status";
        }
        throw new CudaException(call, status, text);
    }

    @Override
    public void close() {
        for (Plan p : plans.values()) {
            NativeLibrary.call(() -> (int) descDestroy.invokeExact(p.desc()));
            for (long l : new long[]{p.layoutA(), p.layoutB(), p.layoutD()}) NativeLibrary.call(() -> (int) layoutDestroy.invokeExact(l));
        }
        plans.clear();
        NativeLibrary.call(() -> (int) destroy.invokeExact(handle));
        arena.close();
    }
}
