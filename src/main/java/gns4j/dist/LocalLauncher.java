package gns4j.dist;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts one process per GPU on this host (what {@code train --gpus N} does) and watches them: the first rank that
 * fails stops the others, and {@link #await} reports it by rank and exit code. Exit codes 130 and 143 (a rank that
 * stopped on SIGINT/SIGTERM after its checkpoint) are not failures: the others are waited for, as they stop after the
 * same step. Each child gets {@link NcclBootstrap#childEnvironment} (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT, NCCL_NVLS_ENABLE=0); rank r's output goes to {@code logDir/rank-r.log}, or, when {@code logDir} is
 * null, rank 0's to the console and the other ranks' stderr only (their errors), as they print no progress.
 */
public final class LocalLauncher implements AutoCloseable {
    private final List<Process> procs = new ArrayList<>();

    /** The outcome: exit code 0 when every rank succeeded, else the first failed rank and its code. */
    public record Outcome(int exitCode, int failedRank, String message) {}

    /** Exit codes of a rank that stopped on a signal after writing its checkpoint (SignalStop): 128 + SIGINT/SIGTERM. */
    static boolean stoppedOnRequest(int code) { return code == 130 || code == 143; }

    public LocalLauncher(List<String> command, int worldSize, Map<String, String> baseEnv, String masterAddr,
                         int masterPort, Path logDir) {
        try {
            for (int r = 0; r < worldSize; r++) {
                ProcessBuilder pb = new ProcessBuilder(command);
                pb.environment().clear();
                pb.environment().putAll(NcclBootstrap.childEnvironment(baseEnv, r, worldSize, masterAddr, masterPort));
                if (logDir != null) {
                    pb.redirectErrorStream(true);
                    pb.redirectOutput(logDir.resolve("rank-" + r + ".log").toFile());
                } else {
                    pb.redirectOutput(r == 0 ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.DISCARD);
                    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
                }
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
                int stopped = 0;
                for (int r = 0; r < procs.size(); r++) {
                    Process p = procs.get(r);
                    if (p.isAlive()) {
                        allDone = false;
                    } else if (stoppedOnRequest(p.exitValue())) {
                        stopped = p.exitValue();
                    } else if (p.exitValue() != 0) {
                        close();
                        return new Outcome(p.exitValue(), r, "rank " + r + " exited with code " + p.exitValue()
                                + "; stopped the other " + (procs.size() - 1) + " rank(s)");
                    }
                }
                if (allDone && stopped != 0) return new Outcome(stopped, -1, "the ranks stopped on request");
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

    /**
     * Asks every rank still running to stop (SIGTERM: each finishes its step, rank 0 writes a checkpoint) and waits
     * up to {@code wait} for them to exit; {@link #await} then reports how they ended.
     */
    public void requestStop(Duration wait) {
        for (Process p : procs) if (p.isAlive()) p.destroy();
        long deadline = System.nanoTime() + wait.toNanos();
        for (Process p : procs) {
            try {
                p.waitFor(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
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
