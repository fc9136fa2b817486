package gns4j.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every .cu resource compiles for sm_90 with NVRTC, as the backend compiles them, for every head size the attention
 * kernels specialise (skipped, with the reason, where no libnvrtc loads), for Hopper's sm_90a with NVRTC 12 where
 * scripts/fetch_nvrtc12.py put it, and with nvcc (skipped without nvcc); the module lists all of them.
 */
class KernelSourcesTest {
    static final Path RESOURCES = Path.of("gns4j-app/src/main/resources/gns4j/cuda");

    static Stream<String> sources() { return Gpu.SOURCES.stream(); }

    static Path nvcc() {
        Path std = Path.of("/usr/local/cuda/bin/nvcc");
        if (Files.isExecutable(std)) return std;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":"))
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "nvcc"))) return Path.of(dir, "nvcc");
        return null;
    }

    @Test
    void moduleCoversEveryCuFile() throws IOException {
        List<String> onDisk = new ArrayList<>();
        try (var files = Files.list(RESOURCES)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).sorted().forEach(onDisk::add);
        }
        assertEquals(onDisk, Gpu.SOURCES.stream().sorted().toList());
        String src = Gpu.source();
        assertTrue(src.startsWith(Gpu.resource("common.cuh")));
        for (String f : Gpu.SOURCES) assertTrue(src.contains(Gpu.resource(f)), f);
    }

    @ParameterizedTest
    @MethodSource("sources")
    void compilesWithNvccForSm90(String file, @TempDir Path tmp) throws Exception {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc not found");
        String[] heads = file.equals("attention.cu") ? new String[]{"4", "16", "32", "48", "64", "128"} : new String[]{"64"};
        for (String hs : heads) {
            Path out = tmp.resolve(file + "-" + hs + ".cubin");
            Process p = new ProcessBuilder(nvcc.toString(), "-arch=sm_90", "-cubin", "-std=c++17", "-DHS=" + hs,
                    "-include", RESOURCES.resolve("common.cuh").toAbsolutePath().toString(),
                    "-o", out.toString(), RESOURCES.resolve(file).toString()).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "nvcc timed out on " + file);
            assertEquals(0, p.exitValue(), file + " (HS=" + hs + "):\n" + log);
            assertTrue(Files.size(out) > 0);
        }
    }

    /** NVRTC of this machine: the backend's sonames, then CUDA 11's (Debian's libnvrtc11.2 package, NVRTC 11.8). */
    static Nvrtc nvrtc() {
        List<String> names = new ArrayList<>(NativeLibrary.toolkitNames("libnvrtc"));
        names.add("libnvrtc.so.11.2");
        try {
            return new Nvrtc(names);
        } catch (CudaUnavailableException e) {
            return null;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"4", "64"}) // the warp-per-row and the tensor-core attention kernels
    void moduleCompilesWithNvrtcForSm90(String headSize) {
        Nvrtc nvrtc = nvrtc();
        if (nvrtc == null) System.err.println("KernelSourcesTest: NVRTC compile check SKIPPED (no libnvrtc on this machine)");
        assumeTrue(nvrtc != null, "no libnvrtc on this machine");
        byte[] cubin = nvrtc.compile(Gpu.source(), "gns4j.cu", Gpu.options("sm_90", Map.of("HS", headSize)));
        assertTrue(cubin.length > 0);
    }

    /**
     * Hopper's sm_90a (wgmma) with NVRTC 12 from scripts/fetch_nvrtc12.py (~/.cache/gns4j/nvrtc12): NVRTC 11.8 cannot
     * compile for it. Skipped, with the reason, where that folder is empty.
     */
    @ParameterizedTest
    @ValueSource(strings = {"32", "64"})
    void moduleCompilesWithNvrtc12ForSm90a(String headSize) throws IOException {
        Path dir = Path.of(System.getProperty("user.home"), ".cache", "gns4j", "nvrtc12"), lib = dir.resolve("libnvrtc.so.12");
        Path builtins = null;
        if (Files.isDirectory(dir))
            try (var files = Files.list(dir)) {
                builtins = files.filter(f -> f.getFileName().toString().startsWith("libnvrtc-builtins.so.12")).findFirst().orElse(null);
            }
        if (builtins == null || !Files.exists(lib))
            System.err.println("KernelSourcesTest: NVRTC 12 sm_90a compile check SKIPPED (run scripts/fetch_nvrtc12.py)");
        assumeTrue(builtins != null && Files.exists(lib), "no NVRTC 12 in " + dir);
        // NVRTC opens its builtins by their soname: loaded first, the loader finds them without LD_LIBRARY_PATH
        SymbolLookup.libraryLookup(builtins, Arena.global());
        Nvrtc nvrtc = new Nvrtc(List.of(lib.toString()));
        assertTrue(nvrtc.version().startsWith("12."), nvrtc.version());
        byte[] cubin = nvrtc.compile(Gpu.source(), "gns4j.cu", Gpu.options("sm_90a", Map.of("HS", headSize)));
        assertTrue(cubin.length > 0);
    }

    @Test
    void optionsCarryArchAndSortedDefines() {
        assertEquals(List.of("--gpu-architecture=sm_90", "--std=c++17", "-DA=1", "-DHS=64"),
                Gpu.options("sm_90", Map.of("HS", "64", "A", "1")));
    }
}
