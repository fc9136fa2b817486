package gns4j.bench;

import gns4j.diagnostics.KernelTimings;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * `./gns4j bench kernels`: the norm layer's forward + backward (LayerNorm, then RMSNorm) with per-example norms vs
 * without vs PyTorch F.layer_norm / F.rms_norm without them (scripts/torch_kernels.py, same call), as achieved GB/s against the card's measured
 * device-to-device copy bandwidth, for each norm-kernel variant, forward and backward also alone; and the Linear weight
 * gradient with per-example norms vs without; then causal attention forward and backward beside PyTorch's SDPA (flash and
 * cuDNN back-ends). {@link #json} gives every row.
 */
public final class KernelBench {
    static final int B = 8, T = 2048;
    /** Norm-layer widths C timed by default; at most MAX_C (norm_bwd_wide). */
    static final int[] NORM_C = {768, 1024, 2048, 4096, 8192};
    /** (K, N) of the 111M model's Linear layers and a wider one. */
    static final int[][] LINEAR = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}, {2048, 8192}};
    /**
     * Bytes per element our norm layer must move: forward reads x (4) and writes y (2, bf16); backward reads dy (4), x
     * (4) and dx (4, the residual gradient it accumulates into) and writes dx (4) and its bf16 copy (2).
     */
    static final int NORM_BYTES = 24, FWD_BYTES = 6;
    public static final int MAX_C = 8192;

    private final PrintStream out;
    private final int warmup, reps;
    /** The run as JSON: card, date, commit, copy bandwidth, and the rows of each table. */
    private final JsonObject json = new JsonObject();
    private final JsonArray normRows = new JsonArray(), attentionRows = new JsonArray(), linearRows = new JsonArray();

    public KernelBench(PrintStream out, int warmup, int reps) {
        this.out = out;
        this.warmup = warmup;
        this.reps = reps;
    }

    /** Query heads : key/value heads of the attention rows: the 111M GPT-2's 12 heads, and grouped 12 over 4 as the Llama. */
    static final int[][] ATTENTION_HEADS = {{12, 12}, {12, 4}};

    /** Norm-layer rows for each C of channels (empty: NORM_C); the attention and Linear tables when asked for. */
    public void run(boolean torch, List<Integer> normChannels, boolean linear, boolean attention) throws Exception {
        int[] channels = normChannels.isEmpty() ? NORM_C : normChannels.stream().mapToInt(Integer::intValue).toArray();
        Map<String, Double> torchMs = new HashMap<>();
        Map<String, JsonObject> torchAttention = new HashMap<>();
        String torchMissing = torch ? TorchBaseline.unavailable(TorchBaseline.KERNELS) : "disabled (--no-torch)";
        if (torchMissing == null) {
            StringBuilder cs = new StringBuilder();
            for (int c : channels) cs.append(cs.isEmpty() ? "" : ",").append(c);
            StringBuilder heads = new StringBuilder();
            if (attention) for (int[] h : ATTENTION_HEADS) heads.append(heads.isEmpty() ? "" : ",").append(h[0]).append(':').append(h[1]);
            for (JsonObject o : TorchBaseline.results(TorchBaseline.KERNELS, List.of("--rows", "" + B * T, "--channels",
                    cs.toString(), "--warmup", "" + warmup, "--reps", "" + reps, "--attention", heads.toString(),
                    "--attn-batch", "" + B, "--attn-seq", "" + T, "--head-size", "" + KernelTimings.ATTENTION_HEAD_SIZE))) {
                String op = o.get("op").getAsString();
                if (!op.equals("attention")) torchMs.put(op + " " + o.get("C").getAsInt(), o.get("ms").getAsDouble());
                else torchAttention.put(attentionKey(o.get("heads").getAsInt(), o.get("kv_heads").getAsInt(), o.get("backend").getAsString()), o);
            }
        }
        try (KernelTimings k = new KernelTimings(warmup, reps)) {
            double copy = k.copyGBps();
            out.printf("gns4j bench kernels: %s; device-to-device copy %.0f GB/s (read + write); B %d, T %d; medians of %d runs%n",
                    k.device(), copy, B, T, reps);
            BenchJson.stamp(json, "card", k.device());
            json.addProperty("B", B);
            json.addProperty("T", T);
            json.addProperty("warmup", warmup);
            json.addProperty("reps", reps);
            json.addProperty("copy_GBps", copy);
            json.add("norm", normRows);
            json.add("attention", attentionRows);
            json.add("linear", linearRows);
            if (torchMissing != null) {
                out.printf("  PyTorch not run: %s%n", torchMissing);
                json.addProperty("torch", torchMissing);
            }
            normTable(k, copy, channels, torchMs, false);
            normTable(k, copy, channels, torchMs, true);
            if (attention) attentionTable(k, torchAttention);
            if (!linear) return;
            out.println("Linear weight gradient (dy, x bf16 -> fp32 gradient), per-example norms by the simultaneous method");
            out.printf("  %12s %10s %12s %10s%n", "K x N", "ours ms", "+norms ms", "ratio");
            for (int[] kn : LINEAR) {
                double plain = k.linearWgradMs(B, T, kn[0], kn[1], false), tracked = k.linearWgradMs(B, T, kn[0], kn[1], true);
                out.printf("  %12s %10.3f %12.3f %9.3fx%n", kn[0] + " x " + kn[1], plain, tracked, tracked / plain);
                JsonObject row = new JsonObject();
                row.addProperty("K", kn[0]);
                row.addProperty("N", kn[1]);
                row.addProperty("ms", plain);
                row.addProperty("norms_ms", tracked);
                linearRows.add(row);
            }
        }
    }

    /** One norm layer's rows (rms: RMSNorm, else LayerNorm) for each C and kernel variant; torchMs keyed "op C". */
    private void normTable(KernelTimings k, double copy, int[] channels, Map<String, Double> torchMs, boolean rms) {
        out.printf("%s forward + backward (x fp32 -> y bf16; dy fp32 -> dx fp32 += and bf16, %s), %d bytes/element"
                + " (forward %d, backward %d); variants: row, pipe (NormKernels.Variant)%n", rms ? "RMSNorm" : "LayerNorm",
                rms ? "dgamma" : "dgamma, dbeta", NORM_BYTES, FWD_BYTES, NORM_BYTES - FWD_BYTES);
        out.printf("  %6s %7s %8s %8s %8s %8s %10s %10s %12s %12s %12s %8s%n", "C", "variant", "fwd ms", "fwd GB/s", "bwd ms",
                "bwd GB/s", "torch ms", "ours ms", "+norms ms", "+norms/torch", "+norms GB/s", "of copy");
        for (int c : channels) {
            double elements = (double) B * T * c;
            Double t = torchMs.get((rms ? "rms_norm " : "layer_norm ") + c);
            for (KernelTimings.NormTimes n : k.normTimes(B, T, c, rms)) {
                double gbps = NORM_BYTES * elements / (n.tracked() * 1e6);
                out.printf("  %6d %7s %8.3f %8.0f %8.3f %8.0f %10s %10.3f %12.3f %12s %12.0f %7.0f%%%n", c, n.variant(), n.forward(),
                        FWD_BYTES * elements / (n.forward() * 1e6), n.backward(), (NORM_BYTES - FWD_BYTES) * elements / (n.backward() * 1e6),
                        t == null ? "-" : String.format("%.3f", t), n.untracked(), n.tracked(),
                        t == null ? "-" : String.format("%.3fx", n.tracked() / t), gbps, 100 * gbps / copy);
                JsonObject row = new JsonObject();
                row.addProperty("norm", rms ? "rmsnorm" : "layernorm");
                row.addProperty("C", c);
                row.addProperty("variant", n.variant());
                row.addProperty("fwd_ms", n.forward());
                row.addProperty("bwd_ms", n.backward());
                row.addProperty("ms", n.untracked());
                row.addProperty("norms_ms", n.tracked());
                if (t != null) row.addProperty("torch_ms", t);
                row.addProperty("of_copy", gbps / copy);
                normRows.add(row);
            }
        }
    }

    /**
     * Causal attention at B, T and head size 64, ours (the model's kernels) beside PyTorch's SDPA under its flash and
     * cuDNN back-ends from the same call; torchAttention keyed by {@link #attentionKey}.
     */
    private void attentionTable(KernelTimings k, Map<String, JsonObject> torchAttention) {
        out.printf("Attention, causal, bf16 (B %d, T %d, head size %d): forward; backward (dQ, dK, dV); ms. PyTorch: "
                + "F.scaled_dot_product_attention by back-end%n", B, T, KernelTimings.ATTENTION_HEAD_SIZE);
        out.printf("  %6s %4s %9s %9s %10s %10s %10s %10s %16s%n", "heads", "kv", "ours fwd", "ours bwd", "flash fwd",
                "flash bwd", "cuDNN fwd", "cuDNN bwd", "ours/cuDNN f+b");
        for (int[] h : ATTENTION_HEADS) {
            KernelTimings.AttentionTimes a = k.attentionTimes(B, T, h[0], h[1]);
            JsonObject flash = torchAttention.get(attentionKey(h[0], h[1], "flash")), cudnn = torchAttention.get(attentionKey(h[0], h[1], "cudnn"));
            out.printf("  %6d %4d %9.3f %9.3f %10s %10s %10s %10s %16s%n", h[0], h[1], a.forward(), a.backward(),
                    ms(flash, "fwd_ms"), ms(flash, "bwd_ms"), ms(cudnn, "fwd_ms"), ms(cudnn, "bwd_ms"),
                    cudnn == null || !cudnn.has("fwd_ms") ? "-" : String.format("%.3fx", (a.forward() + a.backward())
                            / (cudnn.get("fwd_ms").getAsDouble() + cudnn.get("bwd_ms").getAsDouble())));
            JsonObject row = new JsonObject();
            row.addProperty("heads", h[0]);
            row.addProperty("kv_heads", h[1]);
            row.addProperty("fwd_ms", a.forward());
            row.addProperty("bwd_ms", a.backward());
            for (JsonObject o : new JsonObject[] {flash, cudnn})
                if (o != null && o.has("fwd_ms")) {
                    String b = o.get("backend").getAsString();
                    row.addProperty(b + "_fwd_ms", o.get("fwd_ms").getAsDouble());
                    row.addProperty(b + "_bwd_ms", o.get("bwd_ms").getAsDouble());
                }
            attentionRows.add(row);
            for (JsonObject o : new JsonObject[] {flash, cudnn})
                if (o != null && o.has("error")) out.printf("    PyTorch %s at %d:%d: %s%n", o.get("backend").getAsString(), h[0], h[1],
                        o.get("error").getAsString());
        }
    }

    /** The last run as pretty-printed JSON. */
    public String json() { return BenchJson.pretty(json); }

    /** The key of a PyTorch attention row: heads, kv heads and SDPA back-end. */
    private static String attentionKey(int heads, int kvHeads, String backend) { return heads + ":" + kvHeads + " " + backend; }

    /** A PyTorch time of the row, or "-" where the row or the back-end is missing. */
    private static String ms(JsonObject row, String key) {
        return row == null || !row.has(key) ? "-" : String.format("%.3f", row.get(key).getAsDouble());
    }
}
