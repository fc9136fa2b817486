package gns4j.train;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.RunLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static gns4j.train.TestRuns.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Real signals to a real training process (`gns4j train` in a child JVM): SIGKILL at an arbitrary step loses at
 * most one checkpoint interval and the resumed run repeats the uninterrupted one bit for bit; SIGTERM writes a
 * checkpoint at the step it stops at and exits cleanly; while a run is alive, its folder is locked across processes.
 */
class SignalTest {
    @TempDir static Path tmp;

    @Test
    void sigkillAndSigtermThenResumeRepeatTheUninterruptedRun() throws Exception {
        Path data = demoData(tmp.resolve("data"));
        TrainConfig cfg = tiny("max_steps=1000000", "checkpoint_interval=5");
        Path cfgFile = tmp.resolve("config.json");
        Files.writeString(cfgFile, cfg.toJson());

        // SIGKILL: wherever it lands (mid-step, mid-checkpoint), the run resumes from its last complete checkpoint.
        Path killed = tmp.resolve("killed");
        Process p = start(data, killed, cfgFile);
        waitUntil(() -> lines(killed) >= 7, p);
        p.destroyForcibly();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        int logged = lines(killed);
        int s1 = logged + 3;
        assertThrows(Killed.class, () -> Trainer.resume(killed, null, QUIET).hooks(killAfter(s1)).run());

        // SIGTERM: a checkpoint of the current step, then a clean exit; the folder is locked meanwhile.
        Path termed = tmp.resolve("termed");
        p = start(data, termed, cfgFile);
        waitUntil(() -> lines(termed) >= 7, p);
        long pid = p.pid();
        UserError locked = assertThrows(UserError.class, () -> Trainer.resume(termed, null, QUIET).run());
        assertTrue(locked.getMessage().contains("in use by another gns4j run (pid " + pid + ")"), locked.getMessage());
        p.destroy();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String log = Files.readString(tmp.resolve("termed.log"));
        assertEquals(143, p.exitValue(), log);
        assertTrue(log.contains("stop requested"), log);
        int stoppedAt = lines(termed);
        assertEquals(stoppedAt, checkpointSteps(termed).getLast(), "checkpoint of the step it stopped at: " + log);
        assertFalse(Files.exists(termed.resolve("summary.json")));
        try (RunLock _ = RunLock.acquire(termed)) {
            // released on exit
        }
        int s2 = stoppedAt + 3;
        assertThrows(Killed.class, () -> Trainer.resume(termed, null, QUIET).hooks(killAfter(s2)).run());

        Path ref = tmp.resolve("reference");
        int steps = Math.max(s1, s2);
        assertThrows(Killed.class, () -> new Trainer(cfg, data, ref, QUIET).hooks(killAfter(steps)).run());
        List<JsonObject> reference = metrics(ref);
        assertSameSteps(reference, metrics(killed), s1);
        assertSameSteps(reference, metrics(termed), s2);
        assertTrue(CheckpointStore.list(killed).size() <= 3);
    }

    private static Process start(Path data, Path run, Path cfgFile) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "gns4j.cli.Main", "train", "--data-dir", data.toString(),
                "--out-dir", run.toString(), "--config", cfgFile.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve(run.getFileName() + ".log").toFile()).start();
    }

    /** Complete lines of the run's metrics.jsonl. */
    private static int lines(Path run) {
        try {
            byte[] b = Files.readAllBytes(run.resolve("metrics.jsonl"));
            int n = 0;
            for (byte x : b) if (x == '\n') n++;
            return n;
        } catch (IOException e) {
            return 0;
        }
    }

    private static void waitUntil(BooleanSupplier condition, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (!p.isAlive()) fail("the training process ended early with status " + p.exitValue());
            if (System.nanoTime() > deadline) fail("timed out waiting for the training process");
            Thread.sleep(2);
        }
    }
}
