package gns4j.backend;

import gns4j.backend.cpu.CpuBackend;
import gns4j.model.ModelConfig;

/** Opens the backend a run asks for. */
public final class Backends {
    private Backends() {}

    /** device: "cpu", "cuda" or "auto"; notices (e.g. auto falling back to the CPU) go to {@code notice}. */
    public static Backend open(String device, ModelConfig config, int maxMicroBatch, int threads,
                               java.util.function.Consumer<String> notice) {
        return switch (device) {
            case "cpu" -> new CpuBackend(config, maxMicroBatch, threads);
            case "auto" -> {
                notice.accept("device auto: no CUDA backend in this build, using the CPU");
                yield new CpuBackend(config, maxMicroBatch, threads);
            }
            case "cuda" -> throw new gns4j.UserError("--device cuda: this build has no CUDA backend yet; use --device cpu");
            default -> throw new gns4j.UserError("unknown device '" + device + "' (cpu, cuda or auto)");
        };
    }
}
