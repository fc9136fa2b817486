package gns4j.bench;

import gns4j.backend.Backend;
import gns4j.backend.NormTracking;
import gns4j.backend.cuda.CudaBackend;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * `./gns4j bench gpu`: the nanoGNS 111M config on the CUDA backend — untracked, LayerNorm-tracked and all-layer
 * tracked — beside the PyTorch baseline (eager and torch.compile, bf16) run in the same call, as ratios.
 */
public final class GpuBench {
    static final BenchModel GPT_111M = BenchModel.gpt("111M", 10, 12, 768, 2048, 50304, 8);

    private final PrintStream out;
    private final int warmup, reps;

    public GpuBench(PrintStream out, int warmup, int reps) {
        this.out = out;
        this.warmup = warmup;
        this.reps = reps;
    }

    public void run(int batch, boolean torch) throws Exception {
        BenchModel m = new BenchModel(GPT_111M.name(), GPT_111M.config(), batch);
        Map<NormTracking, Timing> ours = new LinkedHashMap<>();
        String device;
        try (Backend gpu = CudaBackend.open(m.config(), batch)) {
            device = gpu.name();
            for (NormTracking t : new NormTracking[]{NormTracking.OFF, NormTracking.LN, NormTracking.ALL}) {
                ours.put(t, Throughput.measure(gpu, m, t, warmup, reps));
                printProfile(t, ((CudaBackend) gpu).takeProfile(), warmup + reps);
            }
        }
        Map<String, Object> baseline = new LinkedHashMap<>();
        String torchMissing = torch ? TorchBaseline.unavailable() : "disabled (--no-torch)";
        if (torchMissing == null) {
            List<String> args = new ArrayList<>(List.of(m.torchArgs()));
            args.addAll(List.of("--device", "cuda", "--bf16", "--warmup", "" + warmup, "--reps", "" + reps));
            baseline = TorchBaseline.run(args);
        }
        out.printf("gns4j bench gpu: %s, %s, bf16; %d warm-up + %d measured steps each%n", device, m.shape(), warmup, reps);
        out.printf("  %-34s %12s %8s   %s%n", "run", "tok/s", "spread", "ratios");
        Object eager = baseline.get("eager"), compiled = baseline.get("compile");
        for (Map.Entry<String, Object> e : baseline.entrySet())
            if (e.getValue() instanceof Double d) out.printf("  %-34s %12.0f %8s%n", "PyTorch " + e.getKey(), d, "");
            else out.printf("  %-34s failed: %s%n", "PyTorch " + e.getKey(), e.getValue());
        if (torchMissing != null) out.printf("  PyTorch baseline not run: %s%n", torchMissing);
        double untracked = ours.get(NormTracking.OFF).median();
        for (Map.Entry<NormTracking, Timing> e : ours.entrySet()) {
            double v = e.getValue().median();
            StringBuilder ratios = new StringBuilder(String.format("%.3fx untracked", v / untracked));
            if (eager instanceof Double d) ratios.append(String.format(", %.3fx torch eager", v / d));
            if (compiled instanceof Double d) ratios.append(String.format(", %.3fx torch.compile", v / d));
            out.printf("  %-34s %12.0f %8s   %s%n", "gns4j cuda, per-example norms " + e.getKey().name().toLowerCase(), v,
                    e.getValue().spread(), ratios);
        }
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
