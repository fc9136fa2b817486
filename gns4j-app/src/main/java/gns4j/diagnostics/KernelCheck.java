package gns4j.diagnostics;

import gns4j.backend.cuda.AttentionKernels;
import gns4j.backend.cuda.CublasLt;
import gns4j.backend.cuda.Gpu;
import gns4j.backend.cuda.NormKernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import static gns4j.backend.cuda.CublasLt.R_16BF;
import static gns4j.diagnostics.DeviceInputs.uniform;
import static gns4j.diagnostics.DeviceInputs.uniformBf16;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Kernel-level parts of `check cuda` that the model comparison of {@link CudaCheck} cannot see: the norm kernel variants
 * against each other at the widths of `bench kernels` (the model variants stop at C = 128), the attention kernels of the
 * model against the warp-per-row ones at head size 64 over many T and head groupings, and which GELU the cuBLASLt
 * epilogues compute (the model's gradient tolerance cannot tell tanh-GELU from erf-GELU).
 */
final class KernelCheck {
    /** PIPE vs ROW norm kernels: relative L2 error of fp32/fp64 outputs and of bf16 outputs (rare one-ulp flips). */
    static final double NORM_TOL = 1e-5, NORM_BF16_TOL = 2e-3;
    /** Attention: relative L2 error of the bf16 outputs and gradients, and of lse (fp32), against the warp-per-row kernels. */
    static final double ATTN_TOL = 2e-2, LSE_TOL = 1e-4;
    /** (B, T, query heads, kv heads): partial and whole 64-row tiles, one to many tiles, MHA, GQA and MQA. */
    static final int[][] ATTENTION_SHAPES = {{2, 64, 4, 4}, {2, 100, 4, 2}, {2, 130, 4, 1}, {1, 257, 6, 2}, {1, 300, 2, 2}, {1, 1000, 4, 4}};
    /** GELU epilogues: RMS error against the tanh formulas, and how many times larger the erf formulas' must be. */
    static final double GELU_RMS_TOL = 2.5e-4, GELU_SEPARATION = 2;

    private KernelCheck() {}

    /** Prints one line per check; returns the number of failures. */
    static int run() {
        try (Gpu gpu = new Gpu(0, Map.of("HS", "64"))) {
            int failures = 0;
            for (int[] s : new int[][]{{4, 300, 768}, {2, 1000, 2048}, {2, 517, 4096}, {2, 130, 8192}, {3, 77, 6001}, {3, 77, 1001}})
                for (boolean ln : new boolean[]{true, false}) failures += normVariants(gpu, s[0], s[1], s[2], ln);
            for (int[] s : ATTENTION_SHAPES) failures += attention(gpu, s[0], s[1], s[2], s[3]);
            CublasLt lt = new CublasLt(gpu);
            try {
                failures += gelu(gpu, lt);
            } finally {
                gpu.makeCurrent();
                lt.close();
            }
            return failures;
        } catch (RuntimeException e) {
            System.out.println("kernel checks: " + e);
            e.printStackTrace(System.out);
            return 1;
        }
    }

    /**
     * LayerNorm (with β) or RMSNorm forward + tracked backward on (B,T,C) with dx accumulating onto non-zero values, once
     * per variant on the same inputs; every output of PIPE against ROW (checked against the CPU through the model).
     */
    private static int normVariants(Gpu gpu, int B, int T, int C, boolean ln) {
        int R = B * T;
        long RC = (long) R * C;
        long x = uniform(gpu, RC, 11, 1f), dy = uniform(gpu, RC, 12, 1f), g = uniform(gpu, C, 13, 1f),
                beta = ln ? uniform(gpu, C, 14, 1f) : 0, dx0 = uniform(gpu, RC, 15, 1f),
                y = gpu.alloc(2 * RC), mean = ln ? gpu.alloc(4L * R) : 0, rstd = gpu.alloc(4L * R), dx = gpu.alloc(4 * RC),
                dxb = gpu.alloc(2 * RC), partG = gpu.alloc(4L * B * C), partB = gpu.alloc(4L * B * C), gradG = gpu.alloc(4L * C),
                gradB = ln ? gpu.alloc(4L * C) : 0, sq = gpu.alloc(16L * B);
        gpu.zero(partG, 4L * B * C);
        gpu.zero(partB, 4L * B * C);
        Map<String, double[]> want = null;
        int failures = 0;
        for (NormKernels.Variant v : NormKernels.Variant.values()) {
            gpu.copy(dx, dx0, 4 * RC);
            gpu.zero(gradG, 4L * C);
            if (ln) gpu.zero(gradB, 4L * C);
            gpu.zero(sq, 16L * B);
            NormKernels.forward(gpu, v, y, mean, rstd, x, g, beta, R, C);
            NormKernels.backward(gpu, v, dx, dxb, partG, partB, dy, x, mean, rstd, g, gradG, gradB, sq, ln ? sq + 8L * B : 0, B, T, C, 0.5f);
            Map<String, double[]> got = new LinkedHashMap<>();
            got.put("y", read(gpu, y, RC, 2));
            if (ln) got.put("mean", read(gpu, mean, R, 4));
            got.put("rstd", read(gpu, rstd, R, 4));
            got.put("dx", read(gpu, dx, RC, 4));
            got.put("dx bf16", read(gpu, dxb, RC, 2));
            got.put("dgamma", read(gpu, gradG, C, 4));
            if (ln) got.put("dbeta", read(gpu, gradB, C, 4));
            got.put("norms", read(gpu, sq, ln ? 2 * B : B, 8));
            if (want == null) {
                want = got;
                continue;
            }
            Comparison c = compare(got, want, name -> name.startsWith("y") || name.endsWith("bf16") ? NORM_BF16_TOL : NORM_TOL);
            failures += c.failures();
            c.print("norm kernels " + v.name().toLowerCase(Locale.ROOT) + " vs row",
                    String.format(Locale.ROOT, "%s B%d T%d C%d", ln ? "ln" : "rms", B, T, C), failures == 0);
        }
        return failures;
    }

    /**
     * Causal attention forward and backward at head size 64 on random q|k|v and output gradient: the model's kernels
     * against the warp-per-row kernels, output by output (each backward from its own forward's output and lse).
     */
    private static int attention(Gpu gpu, int B, int T, int NH, int KVH) {
        int hs = 64;
        long qkv = uniformBf16(gpu, (long) B * T * (NH + 2 * KVH) * hs, 21, 2f), dout = uniformBf16(gpu, (long) B * T * NH * hs, 22, 1f);
        Map<String, double[]> want = attentionOutputs(gpu, AttentionKernels.rowReference(gpu, NH, KVH, hs), qkv, dout, B, T, NH, KVH, hs),
                got = attentionOutputs(gpu, new AttentionKernels(gpu, NH, KVH, hs), qkv, dout, B, T, NH, KVH, hs);
        Comparison c = compare(got, want, name -> name.equals("lse") ? LSE_TOL : ATTN_TOL);
        c.print("attention vs warp-per-row", String.format(Locale.ROOT, "B%d T%d heads %d/%d hs %d", B, T, NH, KVH, hs), c.failures() == 0);
        return c.failures();
    }

    /** out, lse, dq, dk and dv of one forward and backward by k (the backward from this forward's out and lse). */
    private static Map<String, double[]> attentionOutputs(Gpu gpu, AttentionKernels k, long qkv, long dout, int B, int T, int NH,
                                                          int KVH, int hs) {
        int Q = NH * hs, KV = KVH * hs, W = Q + 2 * KV;
        long R = (long) B * T, qkvElems = R * W, outElems = R * Q, rowStats = (long) B * NH * T;
        long out = gpu.alloc(2 * outElems), lse = gpu.alloc(4 * rowStats), delta = gpu.alloc(4 * rowStats), dqkv = gpu.alloc(2 * qkvElems);
        k.forward(out, lse, qkv, B, T);
        k.backward(dqkv, delta, dout, out, qkv, lse, B, T);
        double[] d = read(gpu, dqkv, qkvElems, 2);
        Map<String, double[]> outputs = new LinkedHashMap<>();
        outputs.put("out", read(gpu, out, outElems, 2));
        outputs.put("lse", read(gpu, lse, rowStats, 4));
        outputs.put("dq", columns(d, W, 0, Q));
        outputs.put("dk", columns(d, W, Q, KV));
        outputs.put("dv", columns(d, W, Q + KV, KV));
        return outputs;
    }

    /** A comparison of outputs: how many exceed their tolerance (NaN included), and the worst relative to it. */
    private record Comparison(int failures, String worst) {
        void print(String what, String shape, boolean ok) {
            System.out.printf(Locale.ROOT, "%-34s %-28s %10s %10s %6s  (worst relative to its tolerance: %s)%n", what, shape, "", "",
                    ok, worst);
        }
    }

    /** got against want, output by output, each with tolerance(name) on the relative L2 error. */
    private static Comparison compare(Map<String, double[]> got, Map<String, double[]> want, ToDoubleFunction<String> tolerance) {
        int failures = 0;
        double worst = 0;
        String worstName = "";
        for (Map.Entry<String, double[]> e : got.entrySet()) {
            double err = relErr(e.getValue(), want.get(e.getKey())), tol = tolerance.applyAsDouble(e.getKey());
            double ratio = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err / tol;
            if (!(err <= tol)) failures++;
            if (ratio > worst) {
                worst = ratio;
                worstName = String.format(Locale.ROOT, "%s %.2e", e.getKey(), err);
            }
        }
        return new Comparison(failures, worstName);
    }

    /** Columns c0 .. c0 + n of a row-major matrix with width columns. */
    private static double[] columns(double[] m, int width, int c0, int n) {
        int rows = m.length / width;
        double[] out = new double[rows * n];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * width + c0, out, r * n, n);
        return out;
    }

    /**
     * The MLP's fused epilogues on pre-activations z = x·I + bias in [-3.5, -2] (bf16-exact): there tanh- and erf-GELU
     * differ by 1e-4..5e-4 (GELU' by up to 9e-4), many bf16 ulps of these small outputs, while for z > 0 the outputs'
     * bf16 rounding (≥ 4e-3) would hide the difference. Forward: GELU_AUX_BIAS to bf16, aux must equal z; backward: DGELU
     * with dy = 1. Each must match the tanh formula within GELU_RMS_TOL (room for a fast tanh) and GELU_SEPARATION times
     * better than the erf formula.
     */
    private static int gelu(Gpu gpu, CublasLt lt) {
        int R = 64, K = 64, N = K, n = R * K;
        short[] x = new short[n], w = new short[N * K], bias = new short[N], ones = new short[n];
        double[] z = new double[n];
        for (int i = 0; i < n; i++) {
            z[i] = -2 - (i % 97) / 64.0;
            x[i] = bf16(z[i] - 0.5);
            ones[i] = bf16(1);
        }
        for (int j = 0; j < N; j++) {
            w[j * K + j] = bf16(1);
            bias[j] = bf16(0.5);
        }
        long dX = upload(gpu, x), dW = upload(gpu, w), dBias = upload(gpu, bias), dOnes = upload(gpu, ones), out = gpu.alloc(2L * n),
                aux = gpu.alloc(2L * n), grad = gpu.alloc(2L * n);
        lt.linear(out, R_16BF, dX, dW, R, K, N, 0, dBias, aux);
        lt.linearBackwardInput(grad, R_16BF, dOnes, dW, R, K, N, aux);
        double[] y = read(gpu, out, n, 2), a = read(gpu, aux, n, 2), d = read(gpu, grad, n, 2);
        int failures = 0;
        boolean auxOk = Arrays.equals(a, z);
        if (!auxOk) failures++;
        double[][] ref = new double[4][n];
        for (int i = 0; i < n; i++) {
            double t = Math.tanh(Math.sqrt(2 / Math.PI) * (z[i] + 0.044715 * z[i] * z[i] * z[i])), phi = normalCdf(z[i]);
            ref[0][i] = 0.5 * z[i] * (1 + t);
            ref[1][i] = z[i] * phi;
            ref[2][i] = 0.5 * (1 + t) + 0.5 * z[i] * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * z[i] * z[i]);
            ref[3][i] = phi + z[i] * Math.exp(-z[i] * z[i] / 2) / Math.sqrt(2 * Math.PI);
        }
        String[] names = {"GELU_AUX_BIAS epilogue", "DGELU epilogue"};
        double[][] got = {y, d};
        for (int k = 0; k < 2; k++) {
            double tanh = rms(got[k], ref[2 * k]), erf = rms(got[k], ref[2 * k + 1]);
            boolean ok = tanh <= GELU_RMS_TOL && erf >= GELU_SEPARATION * tanh && (k == 1 || auxOk);
            if (!ok) failures++;
            System.out.printf(Locale.ROOT, "%-34s %-28s %10.2e %10.2e %6s  (RMS vs tanh-GELU, vs erf-GELU; z in [-3.5, -2]%s)%n",
                    "cublasLt " + names[k], "bf16, 64x64x64", tanh, erf, ok, k == 0 && !auxOk ? "; saved pre-activation wrong" : "");
        }
        return failures;
    }

    /** Φ(z) for z ≤ 0 by Simpson's rule over [z - 12, z] (Java has no erf); relative error below 1e-9. */
    static double normalCdf(double z) {
        int steps = 4000;
        double h = 12.0 / steps, s = 0;
        for (int i = 0; i <= steps; i++) {
            double t = z - 12 + i * h;
            s += (i == 0 || i == steps ? 1 : i % 2 == 1 ? 4 : 2) * Math.exp(-t * t / 2);
        }
        return s * h / 3 / Math.sqrt(2 * Math.PI);
    }

    /** Round-to-nearest-even bf16 bits of a finite value. */
    static short bf16(double v) {
        int u = Float.floatToRawIntBits((float) v);
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }

    private static long upload(Gpu gpu, short[] v) {
        long p = gpu.alloc(2L * v.length);
        try (Arena a = Arena.ofConfined()) {
            gpu.upload(p, a.allocateFrom(JAVA_SHORT, v));
            gpu.sync();
        }
        return p;
    }

    /** n values at ptr stored as bf16 (bytes 2), fp32 (4) or fp64 (8). */
    private static double[] read(Gpu gpu, long ptr, long n, int bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(n * bytes, 8);
            gpu.download(s, ptr);
            double[] out = new double[Math.toIntExact(n)];
            for (int i = 0; i < out.length; i++)
                out[i] = switch (bytes) {
                    case 2 -> Float.intBitsToFloat((s.getAtIndex(JAVA_SHORT, i) & 0xffff) << 16);
                    case 4 -> s.getAtIndex(JAVA_FLOAT, i);
                    default -> s.getAtIndex(JAVA_DOUBLE, i);
                };
            return out;
        }
    }

    private static double relErr(double[] got, double[] want) {
        double diff = 0, ref = 0;
        for (int i = 0; i < got.length; i++) {
            diff += (got[i] - want[i]) * (got[i] - want[i]);
            ref += want[i] * want[i];
        }
        return Math.sqrt(diff / Math.max(ref, 1e-30));
    }

    private static double rms(double[] got, double[] want) {
        double s = 0;
        for (int i = 0; i < got.length; i++) s += (got[i] - want[i]) * (got[i] - want[i]);
        return Math.sqrt(s / got.length);
    }
}
