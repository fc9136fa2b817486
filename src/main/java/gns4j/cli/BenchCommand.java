package gns4j.cli;

import gns4j.UserError;
import gns4j.bench.CpuBench;
import gns4j.bench.GpuBench;
import gns4j.bench.KernelBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
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
            description = "CPU backend tok/s with per-example norms off / LayerNorm-only / all, thread scaling, PyTorch CPU baseline (default 2 warm-up + 5 runs).")
    static final class Cpu implements Callable<Integer> {
        @Option(names = "--model", paramLabel = "NAME", description = "L4-C256 and/or L6-C384 (default: both).")
        List<String> models = new ArrayList<>();

        @Option(names = "--threads", split = ",", paramLabel = "N,N,...", description = "Thread counts for the scaling curve (default: 1, 2, 4, ... all cores).")
        List<Integer> threads = new ArrayList<>();

        @Mixin
        Repeats repeats;

        @Override
        public Integer call() throws Exception {
            new CpuBench(System.out, repeats.warmup(2), repeats.reps(5)).run(models, threads, !repeats.noTorch);
            return 0;
        }
    }

    @Command(name = "gpu", mixinStandardHelpOptions = true,
            description = "CUDA backend on the 111M config (untracked, LayerNorm-tracked, all layers) vs PyTorch eager and torch.compile (default 3 warm-up + 10 runs).")
    static final class Gpu implements Callable<Integer> {
        @Option(names = "--batch", defaultValue = "8", description = "Micro-batch in sequences (default: ${DEFAULT-VALUE}).")
        int batch;

        @Mixin
        Repeats repeats;

        @Override
        public Integer call() throws Exception {
            if (batch < 1) throw new UserError("--batch must be >= 1, got " + batch);
            int warmup = repeats.warmup(3), reps = repeats.reps(10);
            Cuda.require();
            new GpuBench(System.out, warmup, reps).run(batch, !repeats.noTorch);
            return 0;
        }
    }

    @Command(name = "kernels", mixinStandardHelpOptions = true,
            description = "Norm-layer forward+backward and Linear weight gradient, with vs without per-example norms, vs PyTorch and copy bandwidth (default 5 warm-up + 30 runs).")
    static final class Kernels implements Callable<Integer> {
        @Option(names = "--channels", split = ",", paramLabel = "C,C,...", description = "Norm-layer widths (default: 768, 1024, 2048, 4096, 8192).")
        List<Integer> channels = new ArrayList<>();

        @Option(names = "--no-linear", description = "Skip the Linear weight-gradient table.")
        boolean noLinear;

        @Mixin
        Repeats repeats;

        @Override
        public Integer call() throws Exception {
            int warmup = repeats.warmup(5), reps = repeats.reps(30);
            for (int c : channels)
                if (c < 1 || c > KernelBench.MAX_C) throw new UserError("--channels: each C must be in 1.." + KernelBench.MAX_C + ", got " + c);
            Cuda.require();
            new KernelBench(System.out, warmup, reps).run(!repeats.noTorch, channels, !noLinear);
            return 0;
        }
    }
}
