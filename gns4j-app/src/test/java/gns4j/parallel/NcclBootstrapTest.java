package gns4j.parallel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class NcclBootstrapTest {

    static byte[] fakeId() {
        byte[] id = new byte[128];
        for (int i = 0; i < id.length; i++) id[i] = (byte) (i * 31 + 7);
        return id;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void threeRanksShareRankZerosIdOverLoopback() throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<byte[]>> ids = new ArrayList<>();
            for (int r = 2; r >= 0; r--) {   // the others start before rank 0 listens: they must retry
                var env = NcclBootstrap.Env.from(Map.of("RANK", "" + r, "WORLD_SIZE", "3", "MASTER_ADDR", "127.0.0.1",
                        "MASTER_PORT", "" + port));
                ids.add(pool.submit(() -> NcclBootstrap.exchange(env, NcclBootstrapTest::fakeId, Duration.ofSeconds(10))));
                Thread.sleep(30);
            }
            for (Future<byte[]> f : ids) assertArrayEquals(fakeId(), f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void wrongWorldSizeAndMissingRanksFailWithAMessage() throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            var server = pool.submit(() -> NcclBootstrap.exchange(new NcclBootstrap.Env(0, 2, 0, "127.0.0.1", port),
                    NcclBootstrapTest::fakeId, Duration.ofSeconds(5)));
            var client = pool.submit(() -> NcclBootstrap.fetch("127.0.0.1", port, 1, 3, Duration.ofSeconds(5)));
            var ce = assertThrows(Exception.class, client::get);
            assertTrue(ce.getCause().getMessage().contains("WORLD_SIZE 3"), ce.getCause().getMessage());
            var se = assertThrows(Exception.class, server::get);
            assertTrue(se.getCause().getMessage().contains("WORLD_SIZE 3"), se.getCause().getMessage());
        } finally {
            pool.shutdownNow();
        }
        try (ServerSocket s = new ServerSocket(0)) {
            var e = assertThrows(IllegalStateException.class, () -> NcclBootstrap.serve(s, fakeId(), 3, Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("[1, 2]"), e.getMessage());
        }
    }

    @Test
    void sharedFileExchange(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("nccl-id");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            var r1 = pool.submit(() -> NcclBootstrap.exchangeViaFile(f, 1, () -> { throw new AssertionError("only rank 0 makes the id"); }, Duration.ofSeconds(5)));
            Thread.sleep(50);
            var r0 = pool.submit(() -> NcclBootstrap.exchangeViaFile(f, 0, NcclBootstrapTest::fakeId, Duration.ofSeconds(5)));
            assertArrayEquals(fakeId(), r0.get());
            assertArrayEquals(fakeId(), r1.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void environment() {
        var env = NcclBootstrap.childEnvironment(Map.of("PATH", "/bin", "NCCL_NVLS_ENABLE", "1"), 2, 4, "127.0.0.1", 29511);
        assertEquals("0", env.get("NCCL_NVLS_ENABLE"), "NVLS off even when the parent had it on");
        assertEquals("/bin", env.get("PATH"));
        var e = NcclBootstrap.Env.from(env);
        assertEquals(new NcclBootstrap.Env(2, 4, 2, "127.0.0.1", 29511), e);
        assertEquals(29500, NcclBootstrap.Env.from(Map.of("RANK", "0", "WORLD_SIZE", "1")).masterPort());
        var missing = assertThrows(IllegalArgumentException.class, () -> NcclBootstrap.Env.from(Map.of("RANK", "0")));
        assertTrue(missing.getMessage().contains("WORLD_SIZE"));
        assertThrows(IllegalArgumentException.class, () -> NcclBootstrap.Env.from(Map.of("RANK", "4", "WORLD_SIZE", "4")));
    }
}
