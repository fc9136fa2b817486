package gns4j.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import gns4j.CpuInfo;
import gns4j.backend.NormTracking;
import gns4j.backend.cpu.CpuBackend;
import gns4j.backend.cpu.Profile;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * `./gns4j bench cpu`: tok/s of forward + backward + AdamW on the CPU backend with per-example norms off,
 * LayerNorm-only and all layers, the overhead of each, a thread-scaling curve, and the PyTorch baseline run from
 * the same process when python3 with torch is present. The same table can also be written as JSON ({@link #json()}),
 * with each model's ratios: ours untracked over each PyTorch mode, each tracking mode over untracked, and the
 * thread-scaling efficiency of the last thread count. With -Dgns4j.cpu.profile=true also each model's per-op
 * thread scaling ({@link OpScaling}) over the thread-scaling steps.
 */
public final class CpuBench {
    static final List<BenchModel> MODELS = List.of(
            BenchModel.gpt("L4-C256", 4, 4, 256, 256, 50304, 8),
            BenchModel.gpt("L6-C384", 6, 6, 384, 256, 50304, 8));

    private final PrintStream out;
    private final int warmup, reps;
    /** Everything printed, as JSON: machine, date, commit, then per model its rows, baselines and scaling. */
    private final JsonObject json = new JsonObject();

    public CpuBench(PrintStream out, int warmup, int reps) {
        this.out = out;
        this.warmup = warmup;
        this.reps = reps;
    }

    public void run(List<String> names, List<Integer> threadCounts, boolean torch) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        String torchMissing = torch ? TorchBaseline.unavailable() : "disabled (--no-torch)";
        out.printf("gns4j bench cpu: %d cores, %s, %d warm-up + %d measured steps per norm mode, the modes' steps in "
                        + "alternation; PyTorch baseline: %s%s%n",
                cores, CpuBackend.kernelDescription(), warmup, reps,
                torchMissing == null ? "scripts/torch_baseline.py (fp32)" : torchMissing,
                Profile.ON ? "; per-op profile of the thread-scaling steps (-Dgns4j.cpu.profile=true)" : "");
        BenchJson.stamp(json, "cpu", CpuInfo.model());
        json.addProperty("threads", cores);
        json.addProperty("kernel", CpuBackend.kernelDescription());
        json.addProperty("warmup", warmup);
        json.addProperty("reps", reps);
        JsonArray models = new JsonArray();
        json.add("models", models);
        for (BenchModel m : select(names)) {
            JsonObject model = new JsonObject(), rows = new JsonObject(), scaling = new JsonObject(), ratios = new JsonObject();
            model.addProperty("name", m.name());
            model.addProperty("shape", m.shape());
            model.add("tok_per_s", rows);
            models.add(model);
            out.printf("%n%s (%s), %d threads%n", m.name(), m.shape(), cores);
            out.printf("  %-28s %12s %8s %10s%n", "per-example norms", "tok/s", "spread", "vs off");
            Map<NormTracking, Timing> timings;
            try (CpuBackend backend = new CpuBackend(m.config(), m.batch(), cores)) {
                timings = Throughput.interleaved(backend, m, List.of(NormTracking.OFF, NormTracking.LN, NormTracking.ALL), warmup, reps);
            }
            Timing off = timings.get(NormTracking.OFF);
            for (var e : timings.entrySet()) {
                NormTracking tracking = e.getKey();
                Timing t = e.getValue();
                rows.add(label(tracking), t.toJson());
                if (tracking != NormTracking.OFF) ratios.addProperty(label(tracking) + " / off", round(t.median() / off.median()));
                out.printf("  %-28s %12.0f %8s %10s%n", label(tracking), t.median(), t.spread(),
                        tracking == NormTracking.OFF ? "1.00x" : String.format("%+.1f%%", 100 * (off.median() / t.median() - 1)));
            }
            if (torchMissing == null) {
                List<String> args = new ArrayList<>(m.torchArgs());
                args.addAll(List.of("--threads", "" + cores, "--warmup", "" + warmup, "--reps", "" + reps));
                for (Map.Entry<String, Object> e : TorchBaseline.run(args).entrySet())
                    if (e.getValue() instanceof Double d) {
                        rows.addProperty("PyTorch " + e.getKey(), d);
                        ratios.addProperty("off / PyTorch " + e.getKey(), round(off.median() / d));
                        out.printf("  %-28s %12.0f %8s %10s  (ours untracked / torch = %.2fx)%n", "PyTorch " + e.getKey(), d, "",
                                "", off.median() / d);
                    } else out.printf("  %-28s failed: %s%n", "PyTorch " + e.getKey(), e.getValue());
            }
            out.printf("  thread scaling (norms off):");
            double one = 0, efficiency = 0;
            int last = 0;
            SortedMap<Integer, Profile.Sample> profile = new TreeMap<>();
            for (int threads : threadCounts.isEmpty() ? powersOfTwo(cores) : threadCounts) {
                Timing t = measure(m, threads, profile);
                if (one == 0) one = t.median() / threads;
                efficiency = t.median() / (one * threads);
                last = threads;
                scaling.add("" + threads, t.toJson());
                out.printf("  %d: %.0f (%.0f%%)", threads, t.median(), 100 * efficiency);
            }
            out.println();
            model.add("thread_scaling_norms_off", scaling);
            ratios.addProperty("scaling efficiency at " + last + " threads", round(efficiency));
            model.add("ratios", ratios);
            if (Profile.ON) {
                OpScaling ops = OpScaling.of(profile, reps);
                ops.print(out);
                model.add("profile_norms_off", ops.toJson());
            }
        }
    }

    /** The measurements of {@link #run} as JSON text. */
    public String json() { return BenchJson.pretty(json); }

    /** Norms-off steps on this many threads; with {@link Profile#ON}, their ops' times go to profile[threads]. */
    private Timing measure(BenchModel m, int threads, SortedMap<Integer, Profile.Sample> profile) {
        try (CpuBackend backend = new CpuBackend(m.config(), m.batch(), threads)) {
            Timing t = Throughput.measure(backend, m, NormTracking.OFF, warmup, reps, Profile::take);
            if (Profile.ON) profile.put(threads, Profile.take());
            return t;
        }
    }

    private static List<BenchModel> select(List<String> names) {
        if (names.isEmpty()) return MODELS;
        List<BenchModel> out = new ArrayList<>();
        for (String n : names)
            out.add(MODELS.stream().filter(m -> m.name().equalsIgnoreCase(n)).findFirst()
                    .orElseThrow(() -> new gns4j.UserError("unknown bench model '" + n + "' (L4-C256, L6-C384)")));
        return out;
    }

    private static double round(double ratio) { return Math.round(ratio * 1000) / 1000.0; }

    private static List<Integer> powersOfTwo(int cores) {
        List<Integer> out = new ArrayList<>();
        for (int t = 1; t < cores; t *= 2) out.add(t);
        out.add(cores);
        return out;
    }

    private static String label(NormTracking t) {
        return switch (t) {
            case OFF -> "off";
            case LN -> "LayerNorm only";
            case ALL -> "all layers";
        };
    }
}
