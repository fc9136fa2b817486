package gns4j.cli;

import gns4j.bench.CpuBench;
import gns4j.bench.GpuBench;
import gns4j.bench.KernelBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gns4j bench ...}: throughput against baselines run in the same process or call. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchCommand.Cpu.class, BenchCommand.Gpu.class, BenchCommand.Kernels.class},
        description = "Benchmarks: ours vs the baseline measured in the same run, printed as ratios.")
public final class BenchCommand {

    @Command(name = "cpu", mixinStandardHelpOptions = true,
            description = "CPU backend tok/s with per-example norms off / LayerNorm-only / all, thread scaling, PyTorch CPU baseline.")
    static final class Cpu implements Callable<Integer> {
        @Option(names = "--model", paramLabel = "NAME", description = "L4-C256 and/or L6-C384 (default: both).")
        List<String> models = new ArrayList<>();

        @Option(names = "--threads", split = ",", paramLabel = "N,N,...", description = "Thread counts for the scaling curve (default: 1, 2, 4, ... all cores).")
        List<Integer> threads = new ArrayList<>();

        @Option(names = "--reps", defaultValue = "5", description = "Measured steps per cell (default: ${DEFAULT-VALUE}).")
        int reps;

        @Option(names = "--warmup", defaultValue = "2", description = "Warm-up steps per cell (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--no-torch", description = "Skip the PyTorch baseline.")
        boolean noTorch;

        @Override
        public Integer call() throws Exception {
            if (reps < 1 || warmup < 0) throw new gns4j.UserError("--reps must be >= 1 and --warmup >= 0");
            new CpuBench(System.out, warmup, reps).run(models, threads, !noTorch);
            return 0;
        }
    }

    @Command(name = "gpu", mixinStandardHelpOptions = true,
            description = "CUDA backend on the 111M config (untracked, LayerNorm-tracked, all layers) vs PyTorch eager and torch.compile.")
    static final class Gpu implements Callable<Integer> {
        @Option(names = "--batch", defaultValue = "8", description = "Micro-batch in sequences (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--reps", defaultValue = "10", description = "Measured steps per cell (default: ${DEFAULT-VALUE}).")
        int reps;

        @Option(names = "--warmup", defaultValue = "3", description = "Warm-up steps per cell (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--no-torch", description = "Skip the PyTorch baseline.")
        boolean noTorch;

        @Override
        public Integer call() throws Exception {
            if (reps < 1 || warmup < 0 || batch < 1) throw new gns4j.UserError("--reps and --batch must be >= 1, --warmup >= 0");
            Cuda.require();
            new GpuBench(System.out, warmup, reps).run(batch, !noTorch);
            return 0;
        }
    }

    @Command(name = "kernels", mixinStandardHelpOptions = true,
            description = "Norm-layer forward+backward and Linear weight gradient, with vs without per-example norms, vs PyTorch and copy bandwidth.")
    static final class Kernels implements Callable<Integer> {
        @Option(names = "--reps", defaultValue = "30", description = "Timed runs per cell (default: ${DEFAULT-VALUE}).")
        int reps;

        @Option(names = "--warmup", defaultValue = "5", description = "Warm-up runs per cell (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--no-torch", description = "Skip the PyTorch baseline.")
        boolean noTorch;

        @Override
        public Integer call() throws Exception {
            if (reps < 1 || warmup < 0) throw new gns4j.UserError("--reps must be >= 1 and --warmup >= 0");
            Cuda.require();
            new KernelBench(System.out, warmup, reps).run(!noTorch);
            return 0;
        }
    }
}
