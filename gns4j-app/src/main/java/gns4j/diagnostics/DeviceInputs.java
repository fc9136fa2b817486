package gns4j.diagnostics;

import gns4j.backend.cuda.Gpu;

/** Random inputs made on the GPU (no host upload) for the kernel checks and timings; freed with the Gpu. */
final class DeviceInputs {
    private DeviceInputs() {}

    /** n floats uniform in [-scale, scale) from a hash of (seed, index). */
    static long uniform(Gpu gpu, long n, int seed, float scale) {
        long p = gpu.alloc(4 * n);
        gpu.launch("fill_uniform", gpu.blocksFor(n), 1, 256, 0, p, n, seed, scale);
        return p;
    }

    /** n bf16: {@link #uniform} rounded. */
    static long uniformBf16(Gpu gpu, long n, int seed, float scale) {
        long f = uniform(gpu, n, seed, scale), p = gpu.alloc(2 * n);
        gpu.launch("to_bf16", gpu.blocksFor(n), 1, 256, 0, p, f, n);
        return p;
    }
}
