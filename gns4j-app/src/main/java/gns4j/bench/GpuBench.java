package gns4j.bench;

import gns4j.backend.Backend;
import gns4j.backend.NormTracking;
import gns4j.backend.cuda.CudaBackend;
import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.parallel.Communicator;
import gns4j.parallel.GradientBuckets;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * `./gns4j bench gpu`: the nanoGNS 111M config (or GPT-2 medium, or with {@code --arch llama} a Llama of the 111M's width) on the CUDA
 * backend — untracked, LayerNorm-tracked and all-layer tracked — beside the PyTorch baseline (eager and torch.compile,
 * bf16; for Llama also transformers' LlamaForCausalLM) run in the same call, as ratios; {@link #json} gives the rows. With
 * {@code --gpus N}: weak scaling of data-parallel steps ({@link #dataParallel} in each of N processes) against one GPU.
 */
public final class GpuBench {
    static final BenchModel GPT_111M = BenchModel.gpt("111M", 10, 12, 768, 2048, 50304, 8);
    /** GPT-2 medium's shape (24 layers, 16 heads, C 1024, T 1024): the ratios at a second, deeper and wider shape. */
    static final BenchModel GPT_MEDIUM = BenchModel.gpt("gpt2-medium", 24, 16, 1024, 1024, 50304, 8);
    /** A Llama of the same width: 12 layers, 12 query and 4 kv heads, SwiGLU 2048, Llama-2's 32000 tokens, untied head. */
    static final BenchModel LLAMA_125M = new BenchModel("llama-125M", ModelConfig.llama(12, 12, 4, 768, 2048, 32000, 2048,
            10000, false), 8);

    private final PrintStream out;
    private final int warmup, reps;
    /** The last single-GPU run as JSON: card, date, commit, shape, every row's tok/s. */
    private final JsonObject json = new JsonObject();

    public GpuBench(PrintStream out, int warmup, int reps) {
        this.out = out;
        this.warmup = warmup;
        this.reps = reps;
    }

    /** The benchmark model of an architecture ("gpt2" or "llama"); medium: GPT-2 medium instead of the 111M config. */
    static BenchModel model(Arch arch, boolean medium, int batch) {
        BenchModel m = arch == Arch.LLAMA ? LLAMA_125M : medium ? GPT_MEDIUM : GPT_111M;
        return new BenchModel(m.name(), m.config(), batch);
    }

    public void run(Arch arch, boolean medium, int batch, boolean torch) throws Exception {
        BenchModel m = model(arch, medium, batch);
        Map<NormTracking, Timing> ours = new LinkedHashMap<>();
        String device;
        long parameters;
        try (Backend gpu = CudaBackend.open(m.config(), batch)) {
            device = gpu.name();
            parameters = gpu.layout().numParameters();
            for (NormTracking t : new NormTracking[]{NormTracking.OFF, NormTracking.LN, NormTracking.ALL}) {
                ours.put(t, Throughput.measure(gpu, m, t, warmup, reps));
                printProfile(t, ((CudaBackend) gpu).takeProfile(), warmup + reps);
            }
        }
        Map<String, Object> baseline = new LinkedHashMap<>();
        String torchMissing = torch ? TorchBaseline.unavailable() : "disabled (--no-torch)";
        if (torchMissing == null) {
            List<String> args = new ArrayList<>(m.torchArgs());
            args.addAll(List.of("--device", "cuda", "--bf16", "--warmup", "" + warmup, "--reps", "" + reps));
            baseline = TorchBaseline.run(args);
        }
        BenchJson.stamp(json, "card", device);
        json.addProperty("model", m.name());
        json.addProperty("shape", m.shape());
        json.addProperty("parameters", parameters);
        json.addProperty("warmup", warmup);
        json.addProperty("reps", reps);
        JsonArray rows = new JsonArray();
        json.add("rows", rows);
        out.printf("gns4j bench gpu: %s, %s (%,d parameters), bf16; %d warm-up + %d measured steps each%n", device, m.shape(),
                parameters, warmup, reps);
        out.printf("  %-40s %12s %8s   %s%n", "run", "tok/s", "spread", "ratios");
        Object eager = baseline.get("eager"), compiled = baseline.get("compile");
        for (Map.Entry<String, Object> e : baseline.entrySet()) {
            JsonObject row = row(rows, "PyTorch " + e.getKey());
            if (e.getValue() instanceof Double d) {
                out.printf("  %-40s %12.0f %8s%n", "PyTorch " + e.getKey(), d, "");
                row.addProperty("tok_per_s", d);
            } else {
                out.printf("  %-40s failed: %s%n", "PyTorch " + e.getKey(), e.getValue());
                row.addProperty("error", e.getValue().toString());
            }
        }
        if (torchMissing != null) {
            out.printf("  PyTorch baseline not run: %s%n", torchMissing);
            json.addProperty("torch", torchMissing);
        }
        double untracked = ours.get(NormTracking.OFF).median();
        for (Map.Entry<NormTracking, Timing> e : ours.entrySet()) {
            double v = e.getValue().median();
            StringBuilder ratios = new StringBuilder(String.format("%.3fx untracked", v / untracked));
            if (eager instanceof Double d) ratios.append(String.format(", %.3fx torch eager", v / d));
            if (compiled instanceof Double d) ratios.append(String.format(", %.3fx torch.compile", v / d));
            String name = "gns4j cuda, per-example norms " + e.getKey().name().toLowerCase(Locale.ROOT);
            out.printf("  %-40s %12.0f %8s   %s%n", name, v, e.getValue().spread(), ratios);
            JsonObject row = row(rows, name);
            row.addProperty("tok_per_s", v);
            row.addProperty("spread", e.getValue().spread());
        }
    }

    private static JsonObject row(JsonArray rows, String name) {
        JsonObject row = new JsonObject();
        row.addProperty("run", name);
        rows.add(row);
        return row;
    }

    /** The last {@link #run}'s rows as JSON. */
    public String json() { return BenchJson.pretty(json); }

    /** What the scaling measurement runs: plain data parallelism and the heaviest per-example norm path. */
    static final List<NormTracking> SCALING = List.of(NormTracking.OFF, NormTracking.ALL);

    /** One row of the scaling table: per-example norms, and whether the gradient all-reduce overlaps backward. */
    public record Mode(NormTracking tracking, boolean overlap) {}

    /** The rows measured alone (no all-reduce) or, with N > 1 GPUs, with the all-reduce after and during backward. */
    static List<Mode> modes(boolean dataParallel) {
        List<Mode> modes = new ArrayList<>();
        for (NormTracking t : SCALING) {
            modes.add(new Mode(t, false));
            if (dataParallel) modes.add(new Mode(t, true));
        }
        return modes;
    }

    /**
     * Median tok/s of whole training steps of the 111M config, micro-batch {@code batch}, on GPU {@code gpu}: alone
     * when {@code comm} is null, else as one rank of a data-parallel job (the job's tok/s: W·batch·T per step), with the
     * gradient all-reduce after backward and overlapped with it, on the same backend.
     */
    public Map<Mode, Double> dataParallel(Communicator comm, int gpu, int batch) {
        BenchModel m = new BenchModel(GPT_111M.name(), GPT_111M.config(), batch);
        Map<Mode, Double> out = new LinkedHashMap<>();
        try (Backend b = CudaBackend.open(m.config(), batch, gpu)) {
            for (Mode mode : modes(comm != null))
                out.put(mode, Throughput.measure(b, m, mode.tracking(), warmup, reps, comm, mode.overlap()).median());
        }
        return out;
    }

    /**
     * tok/s per GPU count (1 first) and row: the weak-scaling table with efficiency tok/s(N) / (N·tok/s(1)), against
     * one GPU with the same per-example norms.
     */
    public void printScaling(Map<Integer, Map<Mode, Double>> rates, int batch) {
        BenchModel m = new BenchModel(GPT_111M.name(), GPT_111M.config(), batch);
        out.printf("gns4j bench gpu: data-parallel weak scaling, %s per GPU, fp32 gradient all-reduce (NCCL) after backward"
                + " or overlapped with it (grad_overlap, %d MiB buckets); %d warm-up + %d measured steps each%n", m.shape(),
                GradientBuckets.DEFAULT_BUCKET_BYTES >> 20, warmup, reps);
        out.printf("  %-5s %-18s %-11s %12s %12s %11s%n", "GPUs", "per-example norms", "all-reduce", "tok/s", "tok/s/GPU", "efficiency");
        for (Map.Entry<Integer, Map<Mode, Double>> e : rates.entrySet()) {
            int n = e.getKey();
            for (Map.Entry<Mode, Double> r : e.getValue().entrySet()) {
                Mode mode = r.getKey();
                double v = r.getValue(), one = rates.get(1).get(new Mode(mode.tracking(), false));
                String reduce = n == 1 ? "-" : mode.overlap() ? "overlapped" : "after";
                out.printf("  %-5d %-18s %-11s %12.0f %12.0f %10.1f%%%n", n, mode.tracking().name().toLowerCase(), reduce, v,
                        v / n, 100 * v / (n * one));
            }
        }
    }

    /** Writes {@link #dataParallel}'s result for the launching process (one "tracking overlap tok/s" line each). */
    public static void writeRates(Path file, Map<Mode, Double> rates) throws IOException {
        StringBuilder sb = new StringBuilder();
        rates.forEach((mode, v) -> sb.append(mode.tracking().name()).append(' ').append(mode.overlap()).append(' ').append(v).append('\n'));
        Files.writeString(file, sb);
    }

    public static Map<Mode, Double> readRates(Path file) throws IOException {
        Map<Mode, Double> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(" ");
            out.put(new Mode(NormTracking.valueOf(f[0]), Boolean.parseBoolean(f[1])), Double.parseDouble(f[2]));
        }
        if (!out.keySet().containsAll(modes(true))) throw new IOException(file + " lacks a rate (" + out + ")");
        return out;
    }

    /** With -Dgns4j.cuda.profile=true: the ops taking the most GPU time per step. */
    private void printProfile(NormTracking t, Map<String, Double> ms, int steps) {
        if (ms.isEmpty()) return;
        double total = ms.values().stream().mapToDouble(Double::doubleValue).sum();
        out.printf("  profile, norms %s: %.1f ms/step of GPU time%n", t.name().toLowerCase(), total / steps);
        ms.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(15).forEach(e ->
                out.printf("    %-40s %8.2f ms/step %5.1f%%%n", e.getKey(), e.getValue() / steps, 100 * e.getValue() / total));
    }
}
