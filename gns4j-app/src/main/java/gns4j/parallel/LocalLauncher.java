package gns4j.parallel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Starts one process per GPU on this host (what {@code train --gpus N} does) and watches them: the first rank that
 * fails (the first to exit, by the order its exit was seen, so a killed rank is named rather than the peers it took
 * down) stops the others, and {@link #await} reports it by rank and exit code. Exit codes 130 and 143 (a rank that
 * stopped on SIGINT/SIGTERM after its checkpoint) are not failures: the others are waited for, as they stop after the
 * same step, but only for a grace period, since a rank stopped by a signal before training (during the bootstrap)
 * leaves its peers waiting for it. Each child gets {@link NcclBootstrap#childEnvironment} (RANK, LOCAL_RANK,
 * WORLD_SIZE, MASTER_ADDR, MASTER_PORT, NCCL_NVLS_ENABLE=0); rank r's output goes to {@code logDir/rank-r.log}, or,
 * when {@code logDir} is null, rank 0's stdout to the console and its stderr, as it comes, to this process's
 * System.err, while the other ranks' stdout is dropped (they print no progress) and their stderr kept for
 * {@link #errors}.
 */
public final class LocalLauncher implements AutoCloseable {
    /** Stderr kept per rank: enough for an error and its stack trace. */
    private static final int MAX_KEPT_BYTES = 1 << 20;

    private final List<Process> procs = new ArrayList<>();
    /** The order in which each rank's exit was seen (1, 2, …); 0 while it runs. */
    private final AtomicLongArray exitOrder;
    private final AtomicLong exits = new AtomicLong();
    private final List<Thread> relays = new ArrayList<>();
    private final Map<Integer, ByteArrayOutputStream> kept = new HashMap<>();

    /** The outcome: exit code 0 when every rank succeeded, else the first failed rank and its code. */
    public record Outcome(int exitCode, int failedRank, String message) {}

    /** Exit codes of a rank that stopped on a signal after writing its checkpoint (SignalStop): 128 + SIGINT/SIGTERM. */
    static boolean stoppedOnRequest(int code) { return code == 130 || code == 143; }

    public LocalLauncher(List<String> command, int worldSize, Map<String, String> baseEnv, String masterAddr,
                         int masterPort, Path logDir) {
        exitOrder = new AtomicLongArray(worldSize);
        PrintStream console = System.err;
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
                }
                Process p = pb.start();
                procs.add(p);
                int rank = r;
                p.onExit().thenRun(() -> exitOrder.set(rank, exits.incrementAndGet()));
                if (logDir == null) relay(p.getErrorStream(), r, console);
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot start rank " + procs.size() + ": " + command, e);
        }
    }

    /** Copies rank {@code r}'s stderr into {@link #kept}, and rank 0's also to {@code console} as it comes. */
    private void relay(InputStream err, int r, PrintStream console) {
        ByteArrayOutputStream keep = new ByteArrayOutputStream();
        kept.put(r, keep);
        Thread t = Thread.ofPlatform().daemon().name("gns4j-rank-" + r + "-stderr").start(() -> {
            byte[] buf = new byte[8192];
            try (err) {
                for (int n; (n = err.read(buf)) >= 0; ) {
                    if (r == 0) {
                        console.write(buf, 0, n);
                        console.flush();
                    }
                    synchronized (keep) {
                        if (keep.size() < MAX_KEPT_BYTES) keep.write(buf, 0, Math.min(n, MAX_KEPT_BYTES - keep.size()));
                    }
                }
            } catch (IOException e) {
                // the rank is gone: nothing more to copy
            }
        });
        relays.add(t);
    }

    /**
     * Waits for all ranks; on the first failure (or after {@code timeout}) destroys the rest. After a rank stopped on
     * request, the others get {@code stopGrace} to stop as well before they are destroyed and that rank is reported.
     * Returns once the ranks' stderr has been copied.
     */
    public Outcome await(Duration timeout, Duration stopGrace) {
        Outcome o = watch(timeout, stopGrace);
        for (Thread t : relays) {
            try {
                t.join(2000); // a rank's own child could hold its stderr open: do not wait for that
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return o;
    }

    private Outcome watch(Duration timeout, Duration stopGrace) {
        long deadline = System.nanoTime() + timeout.toNanos(), stopDeadline = 0;
        int n = procs.size();
        try {
            while (true) {
                int failed = -1, stopped = -1, exited = 0;
                for (int r = 0; r < n; r++) {
                    long order = exitOrder.get(r);
                    if (order == 0) continue;
                    exited++;
                    int code = procs.get(r).exitValue();
                    if (stoppedOnRequest(code)) {
                        if (stopped < 0 || order < exitOrder.get(stopped)) stopped = r;
                    } else if (code != 0 && (failed < 0 || order < exitOrder.get(failed))) failed = r;
                }
                if (failed >= 0) {
                    close();
                    return new Outcome(exitCode(failed), failed, "rank " + failed + " exited with code " + exitCode(failed)
                            + "; stopped the other " + (n - 1) + " rank(s)");
                }
                if (exited == n && stopped >= 0) return new Outcome(exitCode(stopped), -1, "the ranks stopped on request");
                if (exited == n) return new Outcome(0, -1, "all " + n + " ranks finished");
                long now = System.nanoTime();
                if (stopped >= 0 && stopDeadline == 0) stopDeadline = now + stopGrace.toNanos();
                if (stopDeadline != 0 && now - stopDeadline > 0) {
                    close();
                    return new Outcome(exitCode(stopped), stopped, "rank " + stopped + " stopped on a signal (exit code "
                            + exitCode(stopped) + ") but " + (n - exited) + " other rank(s) still ran " + stopGrace.toSeconds()
                            + " s later; stopped them");
                }
                if (now - deadline > 0) {
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

    /** Rank {@code r}'s exit code, or -1 while it runs. */
    public int exitCode(int r) {
        Process p = procs.get(r);
        return p.isAlive() ? -1 : p.exitValue();
    }

    /** What rank {@code r} wrote to stderr (its first MiB), when its output goes to the console; complete after {@link #await}. */
    public String errors(int r) {
        ByteArrayOutputStream keep = kept.get(r);
        if (keep == null) return "";
        synchronized (keep) {
            return keep.toString(StandardCharsets.UTF_8);
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
