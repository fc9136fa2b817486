package gns4j.dist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class LocalLauncherTest {

    @Test
    void everyRankGetsItsEnvironment(@TempDir Path dir) throws Exception {
        var cmd = List.of("/bin/sh", "-c", "echo $RANK $LOCAL_RANK $WORLD_SIZE $MASTER_PORT $NCCL_NVLS_ENABLE");
        try (var l = new LocalLauncher(cmd, 3, Map.of("PATH", "/bin:/usr/bin"), "127.0.0.1", 29555, dir)) {
            var o = l.await(Duration.ofSeconds(10));
            assertEquals(0, o.exitCode(), o.message());
        }
        for (int r = 0; r < 3; r++)
            assertEquals(r + " " + r + " 3 29555 0", Files.readString(dir.resolve("rank-" + r + ".log")).strip());
    }

    @Test
    void aDeadRankStopsTheOthers(@TempDir Path dir) {
        // rank 1 dies; ranks 0 and 2 would run for a minute
        var cmd = List.of("/bin/sh", "-c", "if [ \"$RANK\" = 1 ]; then exit 3; fi; exec sleep 60");
        long t0 = System.nanoTime();
        try (var l = new LocalLauncher(cmd, 3, Map.of("PATH", "/bin:/usr/bin"), "127.0.0.1", 29556, dir)) {
            var o = l.await(Duration.ofSeconds(30));
            assertEquals(3, o.exitCode());
            assertEquals(1, o.failedRank());
            assertTrue(o.message().startsWith("rank 1 exited with code 3"), o.message());
        }
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "the others were stopped, not waited for");
    }
}
