package gns4j.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One GPU: its primary context, one stream, the project's kernels (the .cu resources compiled by NVRTC for this
 * device's architecture, cached) and the device allocations, all freed on close.
 */
public final class Gpu implements AutoCloseable {
    /** Kernel sources in src/main/resources/gns4j/cuda, compiled as one module after common.cuh. */
    static final List<String> SOURCES = List.of("embedding.cu", "norm.cu", "attention.cu", "pointwise.cu", "loss.cu",
            "linear.cu", "optim.cu", "llama.cu");
    private static final int MAX_ARGS = 32;

    final Driver driver;
    final int device, smCount;
    public final String name, arch;
    final long stream;
    private final long context, module;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment argValues, argPointers;
    private final List<Long> allocations = new ArrayList<>();
    private final Map<String, Long> functions = new HashMap<>();
    private final Map<String, Integer> occupancy = new HashMap<>();
    /** -Dgns4j.cuda.profile=true: every launch and GEMM is bracketed by events; {@link #takeProfile} sums them. */
    final boolean profiling = Boolean.getBoolean("gns4j.cuda.profile");
    private final List<long[]> marks = new ArrayList<>();
    private final List<String> markNames = new ArrayList<>();
    private final List<Long> freeEvents = new ArrayList<>();

    public Gpu(int ordinal, Map<String, String> defines) {
        driver = Driver.get();
        int count = driver.deviceCount();
        if (count <= ordinal) throw new CudaUnavailableException(count == 0 ? "the CUDA driver found no GPU" : "no GPU " + ordinal);
        device = driver.device(ordinal);
        name = driver.deviceName(device);
        arch = "sm_" + driver.attribute(device, Driver.ATTR_CC_MAJOR) + driver.attribute(device, Driver.ATTR_CC_MINOR);
        smCount = driver.attribute(device, Driver.ATTR_MULTIPROCESSOR_COUNT);
        context = driver.retainPrimaryContext(device);
        stream = driver.streamCreate();
        argValues = arena.allocate(8L * MAX_ARGS, 16);
        argPointers = arena.allocate(ADDRESS, MAX_ARGS);
        for (int i = 0; i < MAX_ARGS; i++) argPointers.setAtIndex(ADDRESS, i, argValues.asSlice(8L * i));
        try {
            module = driver.moduleLoad(compile(defines));
        } catch (RuntimeException e) {
            driver.streamDestroy(stream);
            driver.releasePrimaryContext(device);
            arena.close();
            throw e;
        }
    }

    static String source() {
        StringBuilder sb = new StringBuilder(resource("common.cuh"));
        for (String f : SOURCES) sb.append("\n// ---- ").append(f).append('\n').append(resource(f));
        return sb.toString();
    }

    static String resource(String file) {
        try (InputStream in = Gpu.class.getResourceAsStream("/gns4j/cuda/" + file)) {
            if (in == null) throw new IllegalStateException("missing kernel resource gns4j/cuda/" + file);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** NVRTC options for an architecture and -D defines (sorted, so the cache key is stable). */
    static List<String> options(String arch, Map<String, String> defines) {
        List<String> opts = new ArrayList<>(List.of("--gpu-architecture=" + arch, "--std=c++17"));
        defines.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> opts.add("-D" + e.getKey() + "=" + e.getValue()));
        return opts;
    }

    private byte[] compile(Map<String, String> defines) {
        String src = source();
        List<String> opts = options(arch, defines);
        return KernelCache.getOrCompile(KernelCache.dir(), KernelCache.key(src, opts, arch),
                () -> Nvrtc.get().compile(src, "gns4j.cu", opts));
    }

    public void makeCurrent() { driver.setCurrent(context); }

    public long alloc(long bytes) {
        long p = driver.memAlloc(Math.max(256, bytes));
        allocations.add(p);
        return p;
    }

    public void zero(long ptr, long bytes) { driver.memsetZero(ptr, bytes, stream); }

    public void upload(long dst, MemorySegment src) { driver.copyHtoD(dst, src, src.byteSize(), stream); }

    /** Copies device memory into dst and waits for it. */
    public void download(MemorySegment dst, long src) {
        driver.copyDtoH(dst, src, dst.byteSize(), stream);
        sync();
    }

    public void sync() { driver.streamSynchronize(stream); }

    public void copy(long dst, long src, long bytes) { driver.copyDtoD(dst, src, bytes, stream); }

    /** Grid-stride launch config: enough 256-thread blocks for n elements, capped at 32 per SM. */
    public int blocksFor(long n) { return (int) Math.max(1, Math.min((n + 255) / 256, 32L * smCount)); }

    /** Blocks of kernel with this many threads (no dynamic shared memory) resident on one SM at once; asked once. */
    int blocksPerSm(String kernel, int threads) {
        return occupancy.computeIfAbsent(kernel + "/" + threads, k -> driver.blocksPerSm(fn(kernel), threads, 0));
    }

    void setMaxDynamicShared(String kernel, int bytes) { driver.setMaxDynamicShared(fn(kernel), bytes); }

    /** Launches kernel on the stream; args are Long (device pointers, 64-bit ints), Integer, Float or Double. */
    public void launch(String kernel, int gx, int gy, int block, int smem, Object... args) {
        if (args.length > MAX_ARGS) throw new IllegalArgumentException("too many kernel arguments");
        for (int i = 0; i < args.length; i++) {
            long at = 8L * i;
            switch (args[i]) {
                case Long v -> argValues.set(JAVA_LONG, at, v);
                case Integer v -> argValues.set(JAVA_INT, at, v);
                case Float v -> argValues.set(JAVA_FLOAT, at, v);
                case Double v -> argValues.set(JAVA_DOUBLE, at, v);
                default -> throw new IllegalArgumentException("kernel argument " + i + " of " + kernel + ": " + args[i]);
            }
        }
        long f = fn(kernel);
        timed(kernel, () -> driver.launch(kernel, f, gx, gy, 1, block, smem, stream, argPointers));
    }

    /** Runs op; when profiling, records its GPU time under name. */
    void timed(String name, Runnable op) {
        if (!profiling) {
            op.run();
            return;
        }
        long e0 = event(), e1 = event();
        driver.eventRecord(e0, stream);
        op.run();
        driver.eventRecord(e1, stream);
        marks.add(new long[]{e0, e1});
        markNames.add(name);
    }

    /** GPU milliseconds of each of reps back-to-back runs of op (events between them), after warmup runs. */
    public double[] timeMs(int warmup, int reps, Runnable op) {
        for (int i = 0; i < warmup; i++) op.run();
        long[] ev = new long[reps + 1];
        for (int i = 0; i <= reps; i++) ev[i] = event();
        driver.eventRecord(ev[0], stream);
        for (int i = 0; i < reps; i++) {
            op.run();
            driver.eventRecord(ev[i + 1], stream);
        }
        double[] ms = new double[reps];
        for (int i = 0; i < reps; i++) ms[i] = driver.elapsedMs(ev[i], ev[i + 1]);
        for (long e : ev) freeEvents.add(e);
        return ms;
    }

    private long event() { return freeEvents.isEmpty() ? driver.eventCreate() : freeEvents.removeLast(); }

    /** Milliseconds per op name since the last call (waits for the stream); empty unless profiling. */
    Map<String, Double> takeProfile() {
        Map<String, Double> out = new HashMap<>();
        sync();
        for (int i = 0; i < marks.size(); i++) {
            long[] m = marks.get(i);
            out.merge(markNames.get(i), (double) driver.elapsedMs(m[0], m[1]), Double::sum);
            freeEvents.add(m[0]);
            freeEvents.add(m[1]);
        }
        marks.clear();
        markNames.clear();
        return out;
    }

    private long fn(String kernel) { return functions.computeIfAbsent(kernel, k -> driver.function(module, k)); }

    @Override
    public void close() {
        makeCurrent();
        sync();
        takeProfile();
        for (long e : freeEvents) driver.eventDestroy(e);
        for (long p : allocations) driver.memFree(p);
        allocations.clear();
        driver.streamDestroy(stream);
        driver.releasePrimaryContext(device);
        arena.close();
    }
}
