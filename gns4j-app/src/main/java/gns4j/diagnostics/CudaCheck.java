package gns4j.diagnostics;

import gns4j.backend.cuda.CudaBackend;
import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.backend.cpu.CpuModel;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;

import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * GPU-machine correctness commands, run as {@code ./gns4j check cuda} and {@code ./gns4j check export DIR}.
 * {@link #check()}: CUDA vs the CPU reference on the same weights and batch (loss, every gradient tensor, every
 * per-example norm, |G|² per tensor, LN-only tracking, accumulation, AdamW) for several GPT-2 and Llama variants
 * (multi-head, grouped-query and multi-query attention, partial attention tiles), then
 * {@link KernelCheck} (norm kernel variants at wide C, which GELU the cuBLASLt epilogues compute); returns 1 on any
 * failure. {@link #export}: inputs and norms for the torch.func reference check (scripts/torch_pe_norms.py).
 */
public final class CudaCheck {
    static final double GRAD_TOL = 0.05, NORM_TOL = 0.08, LOSS_TOL = 0.01;

    private CudaCheck() {}

    private record Variant(String name, ModelConfig cfg, LinearNormMethod method) {}

    public static int check() {
        List<Variant> variants = new ArrayList<>();
        for (LinearNormMethod m : new LinearNormMethod[]{LinearNormMethod.SIMULTANEOUS, LinearNormMethod.GHOST}) {
            variants.add(new Variant("C64 ln bias tied " + m, new ModelConfig(2, 2, 64, 32, 97, true, NormType.LAYERNORM, true), m));
            variants.add(new Variant("C64 rms nobias untied " + m, new ModelConfig(2, 2, 64, 32, 97, false, NormType.RMSNORM, false), m));
            variants.add(new Variant("C8 ln bias untied " + m, new ModelConfig(2, 2, 8, 6, 11, true, NormType.LAYERNORM, false), m));
            variants.add(new Variant("C8 rms bias tied " + m, new ModelConfig(2, 2, 8, 6, 11, true, NormType.RMSNORM, true), m));
        }
        variants.add(new Variant("C128 H2 T200 ln bias tied AUTO", new ModelConfig(1, 2, 128, 200, 97, true, NormType.LAYERNORM, true), LinearNormMethod.AUTO));
        variants.add(new Variant("C96 H3 V304 ln bias untied AUTO", new ModelConfig(1, 3, 96, 64, 304, true, NormType.LAYERNORM, false), LinearNormMethod.AUTO));
        // the tensor-core attention at head sizes 48 and 16, T over two 128-row query blocks and five 64-key tiles
        variants.add(new Variant("C96 H2 T300 ln bias tied AUTO", new ModelConfig(1, 2, 96, 300, 97, true, NormType.LAYERNORM, true), LinearNormMethod.AUTO));
        variants.add(new Variant("llama GQA 6/2 C96 T257 untied AUTO", ModelConfig.llama(1, 6, 2, 96, 257, 97, 200, 10000, false), LinearNormMethod.AUTO));
        // head size 64 with grouped-query heads and a partial last tile
        variants.add(new Variant("llama GQA 4/2 C256 T130 untied AUTO", ModelConfig.llama(1, 4, 2, 256, 130, 97, 200, 10000, false), LinearNormMethod.AUTO));
        // Llama: head size 32 (tensor-core attention) with T past whole 64-row tiles; MHA, GQA 4/2 and MQA
        for (LinearNormMethod m : new LinearNormMethod[]{LinearNormMethod.SIMULTANEOUS, LinearNormMethod.GHOST}) {
            variants.add(new Variant("llama MHA 4/4 C128 T100 untied " + m, ModelConfig.llama(2, 4, 4, 128, 100, 97, 200, 10000, false), m));
            variants.add(new Variant("llama GQA 4/2 C128 T130 untied " + m, ModelConfig.llama(2, 4, 2, 128, 130, 97, 200, 10000, false), m));
            variants.add(new Variant("llama MQA 4/1 C128 T100 tied " + m, ModelConfig.llama(2, 4, 1, 128, 100, 97, 200, 500000, true), m));
        }
        // head size 4 (warp-per-row attention) and a SwiGLU width not a multiple of 8 (the scalar pointwise path)
        variants.add(new Variant("llama GQA 4/2 C16 T20 F36 tied AUTO", ModelConfig.llama(2, 4, 2, 16, 20, 97, 36, 10000, true), LinearNormMethod.AUTO));
        int failures = 0;
        System.out.printf(Locale.ROOT, "%-40s %-40s %10s %10s %6s%n", "variant", "tensor", "grad_err", "norm_err", "ok");
        for (Variant v : variants) failures += checkVariant(v);
        failures += KernelCheck.run();
        System.out.println(failures == 0 ? "CUDA check passed" : "CUDA check FAILED: " + failures + " failures");
        return failures == 0 ? 0 : 1;
    }

    private static int checkVariant(Variant v) {
        ModelConfig cfg = v.cfg();
        int B = 4, T = cfg.blockSize(), V = cfg.vocabSize();
        int[] ids = tokens(B, T, V, 1), tg = tokens(B, T, V, 2), ids2 = tokens(B, T, V, 3), tg2 = tokens(B, T, V, 4);
        int failures = 0;
        try (CpuModel cpu = new CpuModel(cfg, B, 2); Backend gpu = CudaBackend.open(cfg, B)) {
            randomise(cpu, 7);
            gpu.writeParams(cpu.params);
            int nt = cpu.layout.numTensors();
            float s = 1f / (2 * B);
            // two accumulated micro-batches; per-example norms compared on the first
            double[] sqCpu = new double[nt * B], sqGpu = new double[nt * B], sqLn = new double[nt * B];
            cpu.zeroGrad();
            double lossCpu = cpu.forward(ids, tg, B, T);
            cpu.backward(s, NormTracking.ALL, v.method(), sqCpu);
            cpu.forward(ids2, tg2, B, T);
            cpu.backward(s, NormTracking.OFF, v.method(), null);
            gpu.zeroGrad();
            double lossGpu = gpu.forwardBackward(ids, tg, B, T, s, NormTracking.ALL, v.method(), sqGpu);
            gpu.forwardBackward(ids2, tg2, B, T, s, NormTracking.LN, v.method(), sqLn);
            double lossErr = Math.abs(lossGpu - lossCpu) / Math.abs(lossCpu), evalLoss = gpu.evaluate(ids, tg, B, T);
            boolean lossOk = lossErr <= LOSS_TOL && Math.abs(evalLoss - lossGpu) <= 1e-6 * Math.abs(lossGpu);
            System.out.printf(Locale.ROOT, "%-40s %-40s %10.2e %10s %6s  (cpu %.5f cuda %.5f eval %.5f)%n", v.name(), "loss",
                    lossErr, "", lossOk, lossCpu, lossGpu, evalLoss);
            if (!lossOk) failures++;

            float[] g = new float[cpu.params.length];
            gpu.readGrads(g);
            double[] gsq = gpu.gradSqPerTensor();
            double worstGrad = 0, worstNorm = 0;
            for (ParamTensor t : cpu.layout.tensors) {
                double diff = 0, ref = 0, refSq = 0;
                for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                    diff += sq(g[i] - cpu.grads[i]);
                    ref += sq(cpu.grads[i]);
                }
                refSq = ref;
                double gradErr = Math.sqrt(diff / Math.max(ref, 1e-30)), normErr = 0;
                for (int b = 0; b < B; b++) normErr = Math.max(normErr, rel(sqGpu[t.index() * B + b], sqCpu[t.index() * B + b]));
                boolean lnOk = true;
                for (int b = 0; b < B; b++) lnOk &= t.kind().isNorm() ? !Double.isNaN(sqLn[t.index() * B + b]) : Double.isNaN(sqLn[t.index() * B + b]);
                boolean gsqOk = rel(gsq[t.index()], refSq) <= 2 * GRAD_TOL + 1e-6;
                boolean ok = gradErr <= GRAD_TOL && normErr <= NORM_TOL && lnOk && gsqOk;
                worstGrad = Math.max(worstGrad, gradErr);
                worstNorm = Math.max(worstNorm, normErr);
                if (!ok) failures++;
                if (!ok || v.name().startsWith("C64 ln bias tied SIMULTANEOUS") || v.name().startsWith("llama GQA 4/2 C128 T130 untied SIMULTANEOUS"))
                    System.out.printf(Locale.ROOT, "%-40s %-40s %10.2e %10.2e %6s%s%n", v.name(), t.name(), gradErr, normErr, ok,
                            lnOk ? (gsqOk ? "" : "  |G|² per tensor off") : "  LN-only rows wrong");
            }
            System.out.printf(Locale.ROOT, "%-40s %-40s %10.2e %10.2e%n", v.name(), "worst", worstGrad, worstNorm);
            failures += checkAdamW(gpu, cpu.params.length);
        } catch (RuntimeException e) {
            System.out.println(v.name() + ": " + e);
            e.printStackTrace(System.out);
            failures++;
        }
        return failures;
    }

    /** One AdamW step on the GPU against the same update done here in double precision. */
    private static int checkAdamW(Backend gpu, int n) {
        AdamWSettings st = new AdamWSettings(0.9, 0.95, 1e-8, 0.1);
        float[] p = new float[n], g = new float[n], m = new float[n], v = new float[n];
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < n; i++) {
            m[i] = (float) (1e-3 * rng.nextGaussian());
            v[i] = (float) (1e-6 * rng.nextDouble());
        }
        gpu.writeOptimizerState(m, v);
        gpu.readParams(p);
        gpu.readGrads(g);
        double lr = 1e-3;
        int step = 3;
        gpu.adamwStep(st, lr, step);
        float[] after = new float[n];
        gpu.readParams(after);
        double worst = 0;
        for (ParamTensor t : gpu.layout().tensors) {
            double wd = t.kind().decayed ? st.weightDecay() : 0;
            for (int i = t.offset(); i < t.offset() + t.size(); i++) {
                double mi = st.beta1() * m[i] + (1 - st.beta1()) * g[i], vi = st.beta2() * v[i] + (1 - st.beta2()) * g[i] * g[i];
                double upd = (mi / (1 - Math.pow(st.beta1(), step))) / (Math.sqrt(vi / (1 - Math.pow(st.beta2(), step))) + st.eps());
                double want = p[i] * (1 - lr * wd) - lr * upd;
                worst = Math.max(worst, Math.abs(after[i] - want) / (Math.abs(lr) + Math.abs(want) * 1e-3));
            }
        }
        boolean ok = worst <= 1e-3;
        System.out.printf(Locale.ROOT, "%-40s %-40s %10.2e %10s %6s%n", "", "adamw step", worst, "", ok);
        return ok ? 0 : 1;
    }

    /**
     * Writes weights, a batch and the per-example squared norms of CUDA and CPU for the reference check of
     * scripts/torch_pe_norms.py (torch.func per-sample gradients): params.f32 (flat, layout order), ids.i32,
     * targets.i32, sq_cuda.f64 and sq_cpu.f64 ([tensor][example]), all little-endian, and meta.json. llama: a
     * grouped-query Llama (4 query heads over 2 key/value heads, SwiGLU 96, untied head) in Hugging Face's names, which
     * the script loads into transformers' LlamaForCausalLM; otherwise a GPT-2 with LayerNorm, biases and a tied head.
     */
    public static int export(Path dir, boolean llama) {
        ModelConfig cfg = llama ? ModelConfig.llama(2, 4, 2, 64, 32, 97, 96, 10000, false)
                : new ModelConfig(2, 2, 64, 32, 97, true, NormType.LAYERNORM, true);
        int B = 4, T = cfg.blockSize();
        int[] ids = tokens(B, T, cfg.vocabSize(), 1), tg = tokens(B, T, cfg.vocabSize(), 2);
        try (CpuModel cpu = new CpuModel(cfg, B, 2); Backend gpu = CudaBackend.open(cfg, B)) {
            randomise(cpu, 7);
            gpu.writeParams(cpu.params);
            int nt = cpu.layout.numTensors();
            double[] sqCpu = new double[nt * B], sqGpu = new double[nt * B];
            cpu.zeroGrad();
            cpu.forward(ids, tg, B, T);
            cpu.backward(1f / B, NormTracking.ALL, LinearNormMethod.SIMULTANEOUS, sqCpu);
            gpu.zeroGrad();
            gpu.forwardBackward(ids, tg, B, T, 1f / B, NormTracking.ALL, LinearNormMethod.AUTO, sqGpu);
            Files.createDirectories(dir);
            ByteBuffer p = le(4L * cpu.params.length), i = le(4L * ids.length), t = le(4L * tg.length);
            ByteBuffer a = le(8L * sqGpu.length), c = le(8L * sqCpu.length);
            for (float x : cpu.params) p.putFloat(x);
            for (int x : ids) i.putInt(x);
            for (int x : tg) t.putInt(x);
            for (double x : sqGpu) a.putDouble(x);
            for (double x : sqCpu) c.putDouble(x);
            Files.write(dir.resolve("params.f32"), p.array());
            Files.write(dir.resolve("ids.i32"), i.array());
            Files.write(dir.resolve("targets.i32"), t.array());
            Files.write(dir.resolve("sq_cuda.f64"), a.array());
            Files.write(dir.resolve("sq_cpu.f64"), c.array());
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("arch", cfg.arch().name().toLowerCase(Locale.ROOT));
            meta.put("n_layer", cfg.nLayer());
            meta.put("n_head", cfg.nHead());
            meta.put("n_embd", cfg.nEmbd());
            meta.put("block_size", cfg.blockSize());
            meta.put("vocab_size", cfg.vocabSize());
            meta.put("bias", cfg.bias());
            meta.put("norm", cfg.norm().name().toLowerCase(Locale.ROOT));
            meta.put("tied_head", cfg.tiedHead());
            meta.put("n_kv_head", cfg.nKvHead());
            meta.put("ffn_hidden", cfg.ffnHidden());
            meta.put("rope_theta", cfg.ropeTheta());
            meta.put("batch", B);
            meta.put("seq_len", T);
            List<Map<String, Object>> tensors = new ArrayList<>();
            for (ParamTensor x : cpu.layout.tensors)
                tensors.add(Map.of("name", x.name(), "offset", x.offset(), "shape", x.shape()));
            meta.put("tensors", tensors);
            Files.writeString(dir.resolve("meta.json"), new GsonBuilder().setPrettyPrinting().create().toJson(meta));
            System.out.println("exported " + nt + " tensors, B=" + B + " T=" + T + " to " + dir);
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ByteBuffer le(long bytes) { return ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN); }

    /** Parameters far from init (gains ≠ 1, biases ≠ 0), scaled by 1/√fan-in so activations stay O(1). */
    static void randomise(CpuModel m, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (ParamTensor t : m.layout.tensors) {
            double std = t.shape().length == 2 ? 1.0 / Math.sqrt(t.shape()[1]) : 0.2;
            boolean gain = t.kind().isNorm() && t.name().endsWith("weight");
            for (int i = t.offset(); i < t.offset() + t.size(); i++)
                m.params[i] = (float) (gain ? 1 + 0.2 * rng.nextGaussian() : std * rng.nextGaussian());
        }
    }

    /** Token ids with repeats inside each example (the embedding norm must group them). */
    static int[] tokens(int B, int T, int V, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] ids = new int[B * T];
        for (int i = 0; i < ids.length; i++) ids[i] = i % T >= 2 && rng.nextInt(4) == 0 ? ids[i - 2] : rng.nextInt(V);
        return ids;
    }

    private static double sq(double x) { return x * x; }

    private static double rel(double got, double want) { return Math.abs(got - want) / Math.max(Math.abs(want), 1e-12); }
}
