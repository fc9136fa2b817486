package gns4j.cli;

import gns4j.UserError;
import gns4j.diagnostics.CudaCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code gns4j check ...}: correctness runs a developer starts on the GPU machine. */
@Command(name = "check", mixinStandardHelpOptions = true, subcommands = {CheckCommand.CudaVsCpu.class, CheckCommand.Export.class},
        description = "GPU correctness checks against the CPU reference and PyTorch.")
public final class CheckCommand {

    @Command(name = "cuda", mixinStandardHelpOptions = true,
            description = "CUDA vs CPU on the same weights and batch: loss, every gradient, every per-example norm, GNS inputs.")
    static final class CudaVsCpu implements Callable<Integer> {
        @Override
        public Integer call() {
            Cuda.require();
            return CudaCheck.check();
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Write weights, a batch and our per-example norms for scripts/torch_pe_norms.py (torch.func).")
    static final class Export implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "Output folder.")
        Path dir;

        @Option(names = "--arch", paramLabel = "gpt2|llama", defaultValue = "gpt2",
                description = "gpt2: LayerNorm, biases, tied head; llama: grouped-query (4 heads, 2 key/value heads), "
                        + "RoPE, SwiGLU, untied head, checked on transformers' LlamaForCausalLM (default: ${DEFAULT-VALUE}).")
        String arch;

        @Override
        public Integer call() {
            if (!arch.equals("gpt2") && !arch.equals("llama")) throw new UserError("--arch must be gpt2 or llama, got " + arch);
            Cuda.require();
            return CudaCheck.export(dir, arch.equals("llama"));
        }
    }
}
