package gns4j.backend;

import gns4j.UserError;
import gns4j.backend.cpu.CpuBackend;
import gns4j.backend.cuda.CudaBackend;
import gns4j.backend.cuda.CudaUnavailableException;
import gns4j.model.ModelConfig;

import java.util.function.Consumer;

/** Opens the backend a run asks for; CUDA libraries are only touched when CUDA is asked for or probed by auto. */
public final class Backends {
    private Backends() {}

    /** device: "cpu", "cuda" or "auto" (CUDA when a driver and a GPU are found, else the CPU with a notice). */
    public static Backend open(String device, ModelConfig config, int maxMicroBatch, int threads, Consumer<String> notice) {
        return open(device, config, maxMicroBatch, threads, 0, notice);
    }

    /** As {@link #open(String, ModelConfig, int, int, Consumer)}, CUDA on GPU {@code gpu}. */
    public static Backend open(String device, ModelConfig config, int maxMicroBatch, int threads, int gpu, Consumer<String> notice) {
        return switch (device) {
            case "cpu" -> new CpuBackend(config, maxMicroBatch, threads);
            case "cuda" -> cuda(config, maxMicroBatch, gpu);
            case "auto" -> {
                if (CudaBackend.available()) yield cuda(config, maxMicroBatch, gpu);
                notice.accept("device auto: " + CudaBackend.unavailableReason() + "; using the CPU");
                yield new CpuBackend(config, maxMicroBatch, threads);
            }
            default -> throw new UserError("unknown device '" + device + "' (cpu, cuda or auto)");
        };
    }

    private static Backend cuda(ModelConfig config, int maxMicroBatch, int gpu) {
        try {
            return CudaBackend.open(config, maxMicroBatch, gpu);
        } catch (CudaUnavailableException e) {
            throw new UserError(e.getMessage() + " (use --device cpu)");
        }
    }
}
