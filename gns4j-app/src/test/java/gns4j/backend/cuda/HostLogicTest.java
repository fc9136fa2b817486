package gns4j.backend.cuda;

import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host-side logic that needs no GPU: library search, cache keys and files, error text, alignment, the probe. */
class HostLogicTest {
    @Test
    void llamaFusedProjectionsAreConsecutiveInTheLayout() {
        for (boolean tied : new boolean[]{false, true}) {
            ParameterLayout layout = new ParameterLayout(ModelConfig.llama(3, 4, 2, 64, 16, 97, 192, 10000, tied));
            for (ParameterLayout.LlamaBlock w : layout.llamaBlocks) {
                assertTrue(CudaLlamaBlocks.stacked(w.q(), w.k(), w.v()));
                assertTrue(CudaLlamaBlocks.stacked(w.gate(), w.up()));
            }
            assertFalse(CudaLlamaBlocks.stacked(layout.llamaBlocks[0].q(), layout.llamaBlocks[0].v()));
        }
    }

    @Test
    void libraryCandidatesTryPlainNamesFirstThenEachDirectory() {
        assertEquals(List.of("libx.so.1", "libx.so", "/a/libx.so.1", "/a/libx.so", "/b/libx.so.1", "/b/libx.so"),
                NativeLibrary.candidates(List.of("libx.so.1", "libx.so"), List.of("/a", "/b")));
        assertEquals("/usr/local/cuda/targets/x86_64-linux/lib", NativeLibrary.DIRS.getFirst());
    }

    @Test
    void toolkitLibrariesTryCuda13ThenCuda12ThenTheUnversionedName() {
        assertEquals(List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), NativeLibrary.toolkitNames("libnvrtc"));
        List<String> c = NativeLibrary.candidates(NativeLibrary.toolkitNames("libcublasLt"), NativeLibrary.DIRS);
        assertEquals(List.of("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"), c.subList(0, 3));
        assertEquals(NativeLibrary.DIRS.getFirst() + "/libcublasLt.so.12", c.get(4));
    }

    @Test
    void missingLibraryIsOneLineNamingEveryNameAndDirectoryTried() {
        var e = assertThrows(CudaUnavailableException.class,
                () -> NativeLibrary.load("Foo", NativeLibrary.toolkitNames("libgns4j-none")));
        assertEquals("CUDA backend unavailable: Foo not found (tried libgns4j-none.so.13, libgns4j-none.so.12, "
                + "libgns4j-none.so on the loader path and in " + String.join(", ", NativeLibrary.DIRS) + ")", e.getMessage());
        for (String dir : NativeLibrary.DIRS) assertTrue(e.getMessage().contains(dir), dir);
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void errorMessageNamesCallStringAndCode() {
        assertEquals("cuMemAlloc(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY: out of memory (status 2)",
                new CudaException("cuMemAlloc(1024 bytes)", 2, "CUDA_ERROR_OUT_OF_MEMORY: out of memory").getMessage());
        assertEquals("cublasLtMatmul failed: unknown error (status 7)", CudaException.message("cublasLtMatmul", 7, " "));
    }

    @Test
    void cacheKeyDependsOnSourceOptionsAndArch() {
        String k = KernelCache.key("src", List.of("-DHS=64"), "sm_90");
        assertTrue(k.matches("sm_90-[0-9a-f]{32}"), k);
        assertEquals(k, KernelCache.key("src", List.of("-DHS=64"), "sm_90"));
        assertNotEquals(k, KernelCache.key("src2", List.of("-DHS=64"), "sm_90"));
        assertNotEquals(k, KernelCache.key("src", List.of("-DHS=32"), "sm_90"));
        assertNotEquals(k, KernelCache.key("src", List.of("-DHS=64"), "sm_100"));
        assertNotEquals(KernelCache.key("ab", List.of("c"), "sm_90"), KernelCache.key("a", List.of("bc"), "sm_90"));
    }

    @Test
    void cacheCompilesOnceThenReadsTheFile(@TempDir Path dir) throws Exception {
        AtomicInteger compiles = new AtomicInteger();
        byte[] first = KernelCache.getOrCompile(dir.resolve("sub"), "k1", () -> {
            compiles.incrementAndGet();
            return new byte[]{1, 2, 3};
        });
        byte[] second = KernelCache.getOrCompile(dir.resolve("sub"), "k1", () -> {
            compiles.incrementAndGet();
            return new byte[]{9};
        });
        assertArrayEquals(new byte[]{1, 2, 3}, first);
        assertArrayEquals(first, second);
        assertEquals(1, compiles.get());
        assertTrue(Files.isRegularFile(dir.resolve("sub/k1.cubin")));
    }

    @Test
    void alignmentIsLargestPowerOfTwoUpTo256() {
        assertEquals(256, CublasLt.alignment(0x7f0000000000L));
        assertEquals(16, CublasLt.alignment(0x7f0000000000L + 16));
        assertEquals(2, CublasLt.alignment(0x7f0000000000L, 2 * 5));
        assertEquals(256, CublasLt.alignment(0x7f0000000000L, 0));
    }

    @Test
    void decayRunsCoverEveryParameterOnceWithUniformFlags() {
        for (boolean tied : new boolean[]{true, false}) {
            var layout = new gns4j.model.ParameterLayout(new gns4j.model.ModelConfig(2, 2, 8, 6, 11, true, gns4j.model.NormType.LAYERNORM, tied));
            var runs = CudaAdamW.decayRuns(layout);
            long next = 0;
            for (int i = 0; i < runs.size(); i++) {
                var r = runs.get(i);
                assertEquals(next, r.offset());
                if (i > 0) assertNotEquals(runs.get(i - 1).decayed(), r.decayed());
                for (var t : layout.tensors)
                    if (t.offset() >= r.offset() && t.offset() < r.offset() + r.size()) assertEquals(r.decayed(), t.kind().decayed, t.name());
                next += r.size();
            }
            assertEquals(layout.totalSize, next);
        }
    }

    @Test
    void perExampleChunksFitTheWorkspace() {
        long head = 50304L * 768;
        long ws = CudaOps.workspaceElems(8, head);
        assertTrue(ws * 2 <= CudaOps.WORKSPACE_BUDGET && ws >= head);
        assertEquals(8, CudaOps.chunk(8, head, ws));
        assertEquals(8, CudaOps.chunk(16, 768L * 3072, ws));
        assertEquals(3, CudaOps.chunk(3, 768L * 3072, ws));
        assertEquals(1, CudaOps.chunk(8, 3 * head, 3 * head));
        long huge = CudaOps.WORKSPACE_BUDGET;
        assertEquals(huge, CudaOps.workspaceElems(8, huge));
    }

    @Test
    void normLaunchShapes() throws Exception {
        // norm.cu instantiates exactly the forward widths the host picks from
        var m = java.util.regex.Pattern.compile("(?m)^NORM_FWD_REG\\((\\d+)\\)$").matcher(Gpu.resource("norm.cu"));
        List<Integer> widths = new java.util.ArrayList<>();
        while (m.find()) widths.add(Integer.parseInt(m.group(1)));
        assertEquals(Arrays.stream(NormKernels.FWD_REG_NV).boxed().toList(), widths);
        assertEquals(1, NormKernels.fwdRegWidth(8));
        assertEquals(6, NormKernels.fwdRegWidth(768));
        assertEquals(8, NormKernels.fwdRegWidth(1001));
        assertEquals(32, NormKernels.fwdRegWidth(NormKernels.PIPE_MAX_C));
        assertThrows(IllegalArgumentException.class, () -> NormKernels.fwdRegWidth(NormKernels.PIPE_MAX_C + 1));
        assertEquals(256, NormKernels.threads(2048));
        assertEquals(512, NormKernels.threads(8192));
        assertEquals(32, NormKernels.threads(8));
        assertEquals(63, NormKernels.rows(264, 8, 2048)); // 33 blocks per example: one wave of 2 blocks on 132 SMs
        assertEquals(2048, NormKernels.rows(4, 8, 2048));
    }

    @Test
    void probeSaysNoWithoutThrowingWhenThereIsNoGpu() {
        Assumptions.assumeFalse(Files.exists(Path.of("/dev/nvidiactl")), "a GPU driver is present: the probe may say yes");
        assertFalse(CudaBackend.available());
        String reason = CudaBackend.unavailableReason();
        assertTrue(reason.startsWith("CUDA backend unavailable: "), reason);
        assertFalse(reason.contains("\n"));
        var e = assertThrows(CudaUnavailableException.class,
                () -> CudaBackend.open(new gns4j.model.ModelConfig(1, 1, 8, 4, 11, false, gns4j.model.NormType.LAYERNORM, true), 1));
        assertEquals(reason, e.getMessage());
    }

    @Test
    void crossEntropyThreadsMustBeWholeWarpsUpTo1024() {
        assertEquals(256, CudaOps.xentThreads("256"));
        assertEquals(1024, CudaOps.xentThreads(" 1024 "));
        for (String bad : new String[]{"0", "16", "100", "2048", "x", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaOps.xentThreads(bad));
            assertTrue(e.getMessage().contains("gns4j.cuda.xentThreads"), e.getMessage());
        }
    }
}
