package gns4j.parallel;

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
            var o = l.await(Duration.ofSeconds(10), Duration.ofSeconds(10));
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
            var o = l.await(Duration.ofSeconds(30), Duration.ofSeconds(30));
            assertEquals(3, o.exitCode());
            assertEquals(1, o.failedRank());
            assertTrue(o.message().startsWith("rank 1 exited with code 3"), o.message());
        }
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "the others were stopped, not waited for");
    }

    /** Rank 1 fails first and rank 0 fails because of it: rank 1 is named, though rank 0 comes first in rank order. */
    @Test
    void theFirstRankToFailIsNamed(@TempDir Path dir) throws Exception {
        var cmd = List.of("/bin/sh", "-c", "case $RANK in 1) exit 3;; 0) sleep 0.3; exit 1;; esac; exec sleep 60");
        try (var l = new LocalLauncher(cmd, 3, Map.of("PATH", "/bin:/usr/bin"), "127.0.0.1", 29557, dir)) {
            // both have exited before the launcher looks (rank 2 sleeps on)
            for (long end = System.nanoTime() + 20_000_000_000L; l.exitCode(0) < 0 || l.exitCode(1) < 0; ) {
                assertTrue(System.nanoTime() < end, "ranks 0 and 1 did not exit");
                Thread.sleep(10);
            }
            var o = l.await(Duration.ofSeconds(30), Duration.ofSeconds(30));
            assertEquals(1, o.failedRank(), o.message());
            assertEquals(3, o.exitCode());
            assertEquals(1, l.exitCode(0));
        }
    }

    /** Every rank stopped on a signal after its step: the job stopped on request, nobody failed. */
    @Test
    void ranksStoppedOnRequestAreNoFailure(@TempDir Path dir) {
        var cmd = List.of("/bin/sh", "-c", "if [ \"$RANK\" = 1 ]; then exit 143; fi; sleep 0.3; exit 130");
        try (var l = new LocalLauncher(cmd, 2, Map.of("PATH", "/bin:/usr/bin"), "127.0.0.1", 29558, dir)) {
            var o = l.await(Duration.ofSeconds(30), Duration.ofSeconds(30));
            assertEquals(-1, o.failedRank(), o.message());
            assertEquals(143, o.exitCode());
        }
    }

    /** A rank stopped by a signal while the others wait for it (in the bootstrap): they get a grace period, no more. */
    @Test
    void aRankStoppedEarlyDoesNotLeaveTheOthersWaiting(@TempDir Path dir) {
        var cmd = List.of("/bin/sh", "-c", "if [ \"$RANK\" = 1 ]; then exit 143; fi; exec sleep 60");
        long t0 = System.nanoTime();
        try (var l = new LocalLauncher(cmd, 3, Map.of("PATH", "/bin:/usr/bin"), "127.0.0.1", 29559, dir)) {
            var o = l.await(Duration.ofSeconds(30), Duration.ofSeconds(1));
            assertEquals(143, o.exitCode());
            assertEquals(1, o.failedRank());
            assertTrue(o.message().startsWith("rank 1 stopped on a signal (exit code 143) but 2 other rank(s) still ran"), o.message());
        }
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "the others were stopped after the grace period");
    }

    /** With the console as output, the stderr of ranks other than 0 is kept for the report. */
    @Test
    void otherRanksStderrIsKept() {
        var cmd = List.of("/bin/sh", "-c", "if [ \"$RANK\" = 1 ]; then echo rank 1 failed >&2; exit 3; fi; exec sleep 60");
        try (var l = new LocalLauncher(cmd, 2, Map.of("PATH", "/bin:/usr/bin"), "127.0.0.1", 29560, null)) {
            var o = l.await(Duration.ofSeconds(30), Duration.ofSeconds(30));
            assertEquals(1, o.failedRank());
            assertEquals("rank 1 failed\n", l.errors(1));
        }
    }
}
