package gns4j.cli;

import gns4j.UserError;
import gns4j.backend.cuda.CudaBackend;
import gns4j.backend.cuda.CudaDevice;
import gns4j.parallel.LocalLauncher;
import gns4j.backend.cuda.Nccl;
import gns4j.parallel.NcclBootstrap;
import gns4j.train.SignalStop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The process side of multi-GPU commands ({@code train --gpus N}, {@code bench gpu --gpus N}): checks that N GPUs
 * and NCCL are here, starts N copies of this JVM with the torchrun variables ({@link LocalLauncher}), and recognises
 * such a copy from its environment.
 */
final class MultiGpu {
    private MultiGpu() {}

    /** This process's place in a multi-process job when WORLD_SIZE > 1 is set (by the launcher or by hand), else null. */
    static NcclBootstrap.Env child(Map<String, String> env) {
        String world = env.get("WORLD_SIZE");
        if (world == null || world.isBlank() || world.strip().equals("1")) return null;
        try {
            return NcclBootstrap.Env.from(env);
        } catch (IllegalArgumentException e) {
            throw new UserError("multi-process environment: " + e.getMessage());
        }
    }

    /** Refuses, with one line, unless {@code n} GPUs and NCCL are here; {@code option} names what asked. */
    static void require(int n, String option) {
        int visible = CudaDevice.count();
        if (visible == 0) throw new UserError(option + " needs " + n + " GPUs: " + CudaBackend.unavailableReason());
        if (visible < n) throw new UserError(option + " needs " + n + " GPUs; only " + visible + " visible");
        if (!Nccl.available()) throw new UserError(option + " needs NCCL: " + Nccl.unavailableReason());
    }

    /** The command line that runs this program again with {@code args}: this JVM, its flags and class path. */
    static List<String> selfCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs {@code args} as {@code n} ranks on this host (extra environment on top of this one's) and waits for them.
     * SIGINT/SIGTERM to this process are passed on, and it waits while the ranks stop after their step (as long as a
     * stopping rank waits for its checkpoint). A failed rank stops the others; its stderr is shown (rank 0's always
     * is, as it comes) and one line names it, unless it exited with 2: that is a refusal of bad input, which it
     * explained in its own line. Returns the job's exit code (0, the failed rank's, or 130/143).
     */
    static int launch(int n, List<String> args, Map<String, String> extraEnv) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.putAll(extraEnv);
        try (LocalLauncher ranks = new LocalLauncher(selfCommand(args), n, env, "127.0.0.1", freePort(), null)) {
            Thread forward = new Thread(() -> ranks.requestStop(Duration.ofMinutes(SignalStop.MAX_WAIT_MINUTES)), "gns4j-forward-stop");
            Runtime.getRuntime().addShutdownHook(forward);
            LocalLauncher.Outcome o;
            try {
                o = ranks.await(Duration.ofDays(365), Duration.ofMinutes(SignalStop.MAX_WAIT_MINUTES));
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(forward);
                } catch (IllegalStateException e) {
                    // shutting down on a signal: the hook waits for the ranks
                }
            }
            int failed = o.failedRank();
            if (failed > 0 && !(o.exitCode() == 2 && saidAlready(ranks.errors(0), ranks.errors(failed))))
                System.err.print(ranks.errors(failed));
            if (failed >= 0 && o.exitCode() != 2) System.err.println("gns4j: " + o.message());
            return o.exitCode();
        }
    }

    /**
     * Whether rank 0's stderr already holds the refusal the failed rank printed: the same {@code gns4j:} line but for
     * rank numbers (each rank names itself, and others' lines may start {@code rank N: }). Rank 0 may print it and be stopped before it exits, so its exit code
     * cannot tell; a refusal of another kind, or rank 0's own consequence of the failure, does not hide the cause.
     */
    static boolean saidAlready(String rank0Errors, String failedErrors) {
        java.util.function.Function<String, String> numbersAside =
                l -> l.replaceFirst("^gns4j: rank \\d+: ", "gns4j: ").replaceAll("\\d+", "#");
        List<String> refusal = failedErrors.lines().filter(l -> l.startsWith("gns4j: ")).map(numbersAside).toList();
        return !refusal.isEmpty() && rank0Errors.lines().map(numbersAside).anyMatch(l -> l.equals(refusal.getLast()));
    }

    /** A TCP port free on the loopback interface now, for rank 0's bootstrap. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port for the rank bootstrap", e);
        }
    }
}
