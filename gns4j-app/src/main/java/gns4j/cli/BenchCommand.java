package gns4j.cli;

import gns4j.UserError;
import gns4j.bench.CpuBench;
import gns4j.bench.GpuBench;
import gns4j.model.Arch;
import gns4j.bench.KernelBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import gns4j.parallel.NcclBootstrap;
import gns4j.backend.cuda.NcclCommunicator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/** {@code gns4j bench ...}: throughput against baselines run in the same process or call. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchCommand.Cpu.class, BenchCommand.Gpu.class, BenchCommand.Kernels.class},
        description = "Benchmarks: ours vs the baseline measured in the same run, printed as ratios.")
public final class BenchCommand {

    /** Repetition and baseline options every benchmark shares; defaults differ per benchmark. */
    static final class Repeats {
        @Option(names = "--reps", paramLabel = "N", description = "Measured runs per cell.")
        Integer reps;

        @Option(names = "--warmup", paramLabel = "N", description = "Warm-up runs per cell.")
        Integer warmup;

        @Option(names = "--no-torch", description = "Skip the PyTorch baseline.")
        boolean noTorch;

        int reps(int fallback) { return checked(reps, fallback, 1, "--reps"); }

        int warmup(int fallback) { return checked(warmup, fallback, 0, "--warmup"); }

        private static int checked(Integer value, int fallback, int min, String name) {
            int v = value != null ? value : fallback;
            if (v < min) throw new UserError(name + " must be >= " + min + ", got " + v);
            return v;
        }
    }

    @Command(name = "cpu", mixinStandardHelpOptions = true,
            description = {"CPU backend tok/s with per-example norms off / LayerNorm-only / all, thread scaling, PyTorch CPU baseline (default 2 warm-up + 5 runs).",
                    "With -Dgns4j.cpu.profile=true (GNS4J_JAVA_OPTS) also a per-op table of the thread-scaling steps: ms per step "
                            + "at each thread count, share, efficiency t(1)/(n·t(n)) and the ms lost to scaling at the most "
                            + "threads, worst first (docs/performance.md)."})
    static final class Cpu implements Callable<Integer> {
        @Option(names = "--model", paramLabel = "NAME", description = "L4-C256 and/or L6-C384 (default: both).")
        List<String> models = new ArrayList<>();

        @Option(names = "--threads", split = ",", paramLabel = "N,N,...", description = "Thread counts for the scaling curve (default: 1, 2, 4, ... all cores).")
        List<Integer> threads = new ArrayList<>();

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the measurements as JSON (CPU model, date, "
                + "git commit, threads, every row's tok/s, the per-op profile when on) to FILE.")
        Path json;

        @Mixin
        Repeats repeats;

        @Override
        public Integer call() throws Exception {
            CpuBench bench = new CpuBench(System.out, repeats.warmup(2), repeats.reps(5));
            bench.run(models, threads, !repeats.noTorch);
            if (json != null) Files.writeString(json, bench.json());
            return 0;
        }
    }

    @Command(name = "gpu", mixinStandardHelpOptions = true,
            description = "CUDA backend on the 111M config or GPT-2 medium (untracked, LayerNorm-tracked, all layers) vs PyTorch eager and torch.compile (default 3 warm-up + 10 runs).")
    static final class Gpu implements Callable<Integer> {
        @Option(names = "--batch", defaultValue = "8", description = "Micro-batch in sequences (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--arch", defaultValue = "gpt2", paramLabel = "gpt2|llama", description = "gpt2: the 111M GPT-2 "
                + "config; llama: 12 layers, C 768, 12 heads, 4 kv heads, SwiGLU 2048, vocabulary 32000, untied head, vs a "
                + "plain PyTorch Llama (eager, torch.compile) and transformers' LlamaForCausalLM (default: ${DEFAULT-VALUE}).")
        String arch;

        @Option(names = "--model", defaultValue = "111M", paramLabel = "111M|medium", description = "GPT-2 shape: 111M (L10 H12 "
                + "C768, T 2048) or medium (GPT-2 medium: L24 H16 C1024, T 1024) (default: ${DEFAULT-VALUE}).")
        String size;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as JSON (card, date, git commit, "
                + "every row's tok/s) to FILE.")
        Path json;

        @Option(names = "--gpus", split = ",", paramLabel = "N[,N...]", description = "Instead: data-parallel weak scaling, "
                + "the same micro-batch per GPU on 1 GPU and on N (one process per GPU, NCCL), the gradient all-reduce after "
                + "backward and overlapped with it; prints tok/s and the efficiency tok/s(N) / (N x tok/s(1)).")
        List<Integer> gpus = new ArrayList<>();

        @Mixin
        Repeats repeats;

        @Override
        public Integer call() throws Exception {
            if (batch < 1) throw new UserError("--batch must be >= 1, got " + batch);
            Arch model = switch (arch) {
                case "gpt2" -> Arch.GPT2;
                case "llama" -> Arch.LLAMA;
                default -> throw new UserError("--arch takes gpt2 or llama, got '" + arch + "'");
            };
            if (!size.equals("111M") && !size.equals("medium")) throw new UserError("--model takes 111M or medium, got '" + size + "'");
            boolean medium = size.equals("medium");
            if (medium && model != Arch.GPT2) throw new UserError("--model medium is a GPT-2 shape; leave out --arch llama");
            if (!gpus.isEmpty() && (model != Arch.GPT2 || json != null || !size.equals("111M")))
                throw new UserError("--gpus measures the 111M GPT-2 config only, without --json");
            int warmup = repeats.warmup(3), reps = repeats.reps(10);
            GpuBench bench = new GpuBench(System.out, warmup, reps);
            NcclBootstrap.Env rank = MultiGpu.child(System.getenv());
            if (rank != null) return measureAsRank(bench, rank);
            Cuda.require();
            if (gpus.isEmpty()) {
                bench.run(model, medium, batch, !repeats.noTorch);
                if (json != null) Files.writeString(json, bench.json());
                return 0;
            }
            for (int n : gpus) if (n < 1) throw new UserError("--gpus takes GPU counts >= 1, got " + n);
            int most = gpus.stream().mapToInt(Integer::intValue).max().orElseThrow();
            MultiGpu.require(most, "--gpus " + most);
            Map<Integer, Map<GpuBench.Mode, Double>> rates = new TreeMap<>();
            rates.put(1, bench.dataParallel(null, 0, batch));
            for (int n : new TreeSet<>(gpus)) {
                if (n == 1) continue;
                Path result = Files.createTempFile("gns4j-bench-gpu", ".txt");
                try {
                    int code = MultiGpu.launch(n, List.of("bench", "gpu", "--batch", "" + batch, "--warmup", "" + warmup,
                            "--reps", "" + reps), Map.of(RESULT_ENV, result.toString()));
                    if (code != 0) return code; // the failed rank (and the launcher) said why
                    rates.put(n, GpuBench.readRates(result));
                } finally {
                    Files.deleteIfExists(result);
                }
            }
            bench.printScaling(rates, batch);
            return 0;
        }

        /** File where rank 0 of a scaling measurement leaves its rates for the launching process. */
        static final String RESULT_ENV = "GNS4J_BENCH_RESULT";

        /** One process of {@code --gpus N}: measures as rank {@code rank.rank()} on GPU LOCAL_RANK; rank 0 reports. */
        private Integer measureAsRank(GpuBench bench, NcclBootstrap.Env rank) throws Exception {
            try (NcclCommunicator comm = NcclCommunicator.fromEnvironment(System.getenv())) {
                Map<GpuBench.Mode, Double> rates = bench.dataParallel(comm, rank.localRank(), batch);
                String file = System.getenv(RESULT_ENV);
                if (comm.rank() == 0 && file != null) GpuBench.writeRates(Path.of(file), rates);
                else if (comm.rank() == 0) System.out.println("rank 0 of " + comm.worldSize() + ": tok/s " + rates);
            }
            return 0;
        }
    }

    @Command(name = "kernels", mixinStandardHelpOptions = true,
            description = "Norm-layer forward+backward and Linear weight gradient, with vs without per-example norms, and causal attention, vs PyTorch and copy bandwidth (default 5 warm-up + 30 runs).")
    static final class Kernels implements Callable<Integer> {
        @Option(names = "--channels", split = ",", paramLabel = "C,C,...", description = "Norm-layer widths (default: 768, 1024, 2048, 4096, 8192).")
        List<Integer> channels = new ArrayList<>();

        @Option(names = "--no-linear", description = "Skip the Linear weight-gradient table.")
        boolean noLinear;

        @Option(names = "--no-attention", description = "Skip the attention table (ours vs PyTorch SDPA, flash and cuDNN).")
        boolean noAttention;

        @Option(names = "--json", paramLabel = "FILE", description = "Also write every row as JSON (card, date, git commit, "
                + "copy bandwidth, ms per kernel and PyTorch's) to FILE.")
        Path json;

        @Mixin
        Repeats repeats;

        @Override
        public Integer call() throws Exception {
            int warmup = repeats.warmup(5), reps = repeats.reps(30);
            for (int c : channels)
                if (c < 1 || c > KernelBench.MAX_C) throw new UserError("--channels: each C must be in 1.." + KernelBench.MAX_C + ", got " + c);
            Cuda.require();
            KernelBench bench = new KernelBench(System.out, warmup, reps);
            bench.run(!repeats.noTorch, channels, !noLinear, !noAttention);
            if (json != null) Files.writeString(json, bench.json());
            return 0;
        }
    }
}
