package gns4j.dist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts one process per GPU on this host (what {@code train --gpus N} will do) and watches them: the first rank that
 * exits non-zero stops the others, and {@link #await} reports it by rank and exit code. Each child gets
 * {@link NcclBootstrap#childEnvironment} (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, NCCL_NVLS_ENABLE=0);
 * rank r's output goes to {@code logDir/rank-r.log}, rank 0's also inherits the console when {@code logDir} is null.
 */
public final class LocalLauncher implements AutoCloseable {
    private final List<Process> procs = new ArrayList<>();

    /** The outcome: exit code 0 when every rank succeeded, else the first failed rank and its code. */
    public record Outcome(int exitCode, int failedRank, String message) {}

    public LocalLauncher(List<String> command, int worldSize, Map<String, String> baseEnv, String masterAddr,
                         int masterPort, Path logDir) {
        try {
            for (int r = 0; r < worldSize; r++) {
                ProcessBuilder pb = new ProcessBuilder(command);
                pb.environment().clear();
                pb.environment().putAll(NcclBootstrap.childEnvironment(baseEnv, r, worldSize, masterAddr, masterPort));
                pb.redirectErrorStream(true);
                if (logDir != null) pb.redirectOutput(logDir.resolve("rank-" + r + ".log").toFile());
                else pb.redirectOutput(r == 0 ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.DISCARD);
                procs.add(pb.start());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot start rank " + procs.size() + ": " + command, e);
        }
    }

    /** Waits for all ranks; on the first failure (or after {@code timeout}) destroys the rest. */
    public Outcome await(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                boolean allDone = true;
                for (int r = 0; r < procs.size(); r++) {
                    Process p = procs.get(r);
                    if (p.isAlive()) {
                        allDone = false;
                    } else if (p.exitValue() != 0) {
                        close();
                        return new Outcome(p.exitValue(), r, "rank " + r + " exited with code " + p.exitValue()
                                + "; stopped the other " + (procs.size() - 1) + " rank(s)");
                    }
                }
                if (allDone) return new Outcome(0, -1, "all " + procs.size() + " ranks finished");
                if (System.nanoTime() > deadline) {
                    close();
                    return new Outcome(124, -1, "timed out after " + timeout + "; stopped every rank");
                }
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            return new Outcome(130, -1, "interrupted; stopped every rank");
        }
    }

    /** Destroys every rank still running (SIGTERM, then SIGKILL after 5 s). */
    @Override
    public void close() {
        for (Process p : procs) if (p.isAlive()) p.destroy();
        for (Process p : procs) {
            try {
                if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
