package gns4j.backend.select;

import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.backend.MemoryPlan;
import gns4j.backend.cpu.CpuBackend;
import gns4j.backend.cuda.CudaBackend;
import gns4j.backend.cuda.CudaUnavailableException;
import gns4j.model.ModelConfig;

import java.util.function.Consumer;

/**
 * Opens the backend a run asks for; CUDA libraries are only touched when CUDA is asked for or probed by auto. Above
 * both implementations (and so outside gns4j.backend, which they build on) to keep the packages acyclic.
 */
public final class Backends {
    private Backends() {}

    /** device: "cpu", "cuda" or "auto" (CUDA when a driver and a GPU are found, else the CPU with a notice). */
    public static Backend open(String device, ModelConfig config, int maxMicroBatch, int threads, Consumer<String> notice) {
        return open(device, config, maxMicroBatch, threads, 0, notice);
    }

    /** As {@link #open(String, ModelConfig, int, int, Consumer)}, CUDA on GPU {@code gpu}. */
    public static Backend open(String device, ModelConfig config, int maxMicroBatch, int threads, int gpu, Consumer<String> notice) {
        return switch (resolve(device, config, notice)) {
            case "cuda" -> {
                try {
                    yield CudaBackend.open(config, maxMicroBatch, gpu);
                } catch (CudaUnavailableException e) {
                    throw new UserError(e.getMessage() + " (use --device cpu)");
                }
            }
            default -> new CpuBackend(config, maxMicroBatch, threads);
        };
    }

    /** "cpu" or "cuda" for a device setting and model; auto gives the CPU and a notice without a usable GPU. */
    public static String resolve(String device, ModelConfig model, Consumer<String> notice) {
        return switch (device) {
            case "cpu", "cuda" -> device;
            case "auto" -> {
                if (CudaBackend.available()) yield "cuda";
                notice.accept("device auto: " + CudaBackend.unavailableReason() + "; using the CPU");
                yield "cpu";
            }
            default -> throw new UserError("unknown device '" + device + "' (cpu, cuda or auto)");
        };
    }

    /**
     * The largest micro-batch up to {@code cap} that a new backend on {@code device} ("cpu" or "cuda", resolved) can
     * hold, from {@link MemoryPlan} and the memory free now: the JVM heap's headroom, or the GPU's free memory.
     * Refuses, with both numbers, a model of which not even one sequence fits.
     */
    public static int largestMicroBatch(String device, ModelConfig config, long parameters, int cap, int gpu) {
        long available;
        if (device.equals("cuda")) {
            try {
                available = CudaBackend.freeMemory(gpu);
            } catch (CudaUnavailableException e) {
                throw new UserError(e.getMessage() + " (use --device cpu)");
            }
        } else {
            Runtime rt = Runtime.getRuntime();
            available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        }
        int fit = MemoryPlan.largestMicroBatch(device, config, parameters, available, cap);
        if (fit < 1)
            throw new UserError(String.format("the model needs about %,d MiB for its weights and optimizer plus %,d MiB per"
                            + " sequence of block_size tokens, but %s has %,d MiB free (lower n_embd, n_layer or block_size%s)",
                    MemoryPlan.fixedBytes(device, config, parameters) >> 20, MemoryPlan.bytesPerSequence(device, config) >> 20,
                    device.equals("cuda") ? "GPU " + gpu : "the JVM heap", available >> 20,
                    device.equals("cuda") ? "" : ", or give Java more heap with GNS4J_JAVA_OPTS=-Xmx...g"));
        return fit;
    }
}
