package gns4j.parallel;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Hands rank 0's NCCL unique id to every rank, as torchrun's rendezvous does. Each process learns its place from
 * the environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and LOCAL_RANK, the GPU ordinal on its host). Rank 0
 * creates the id (the supplier given to {@link #exchange}), listens on MASTER_ADDR:MASTER_PORT and answers each other rank's hello
 * (magic, rank, world size) with the 128 id bytes; the others connect (retrying until rank 0 listens) and read it.
 * Wrong world sizes, duplicate or out-of-range ranks and ranks that never arrive fail with a message naming them. A
 * shared file ({@link #exchangeViaFile}) does the same on one host without a port.
 *
 * <p>{@link #childEnvironment} is the environment of each process started by {@code train --gpus N}; it always
 * contains NCCL_NVLS_ENABLE=0 (NVLink multicast stays off).
 */
public final class NcclBootstrap {
    static final int MAGIC = 0x474e5334; // "GNS4"
    static final int OK = 0, REJECTED = 1;
    /** sizeof(ncclUniqueId): the opaque id every rank passes to ncclCommInitRank. */
    public static final int ID_BYTES = 128;

    private NcclBootstrap() {}

    /** One process's place in the group. */
    public record Env(int rank, int worldSize, int localRank, String masterAddr, int masterPort) {
        public Env {
            if (worldSize < 1) throw new IllegalArgumentException("WORLD_SIZE must be >= 1, got " + worldSize);
            if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("RANK " + rank + " outside [0, " + worldSize + ")");
            if (masterPort < 0 || masterPort > 65535) throw new IllegalArgumentException("MASTER_PORT " + masterPort + " outside [0, 65535]");
        }

        /** From RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default 29500), LOCAL_RANK (default RANK). */
        public static Env from(Map<String, String> env) {
            int rank = integer(env, "RANK", null), world = integer(env, "WORLD_SIZE", null);
            return new Env(rank, world, integer(env, "LOCAL_RANK", rank), env.getOrDefault("MASTER_ADDR", "127.0.0.1"),
                    integer(env, "MASTER_PORT", 29500));
        }

        private static int integer(Map<String, String> env, String key, Integer dflt) {
            String v = env.get(key);
            if (v == null || v.isBlank()) {
                if (dflt == null) throw new IllegalArgumentException(key + " is not set (needed for multi-process training)");
                return dflt;
            }
            try {
                return Integer.parseInt(v.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
            }
        }
    }

    /** The environment of rank {@code rank} of a {@code worldSize}-process job on this host, on top of {@code base}. */
    public static Map<String, String> childEnvironment(Map<String, String> base, int rank, int worldSize,
                                                       String masterAddr, int masterPort) {
        Map<String, String> env = new HashMap<>(base);
        env.put("RANK", Integer.toString(rank));
        env.put("LOCAL_RANK", Integer.toString(rank));
        env.put("WORLD_SIZE", Integer.toString(worldSize));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(worldSize));
        env.put("MASTER_ADDR", masterAddr);
        env.put("MASTER_PORT", Integer.toString(masterPort));
        env.put("NCCL_NVLS_ENABLE", "0");   // NVLink multicast off, always
        return env;
    }

    /**
     * The id of the group: rank 0 makes it with {@code newId} and serves it; others fetch it. Every rank returns the
     * same bytes. Gives up after {@code timeout}.
     */
    public static byte[] exchange(Env env, Supplier<byte[]> newId, Duration timeout) {
        if (env.rank() == 0) {
            try (ServerSocket server = new ServerSocket()) {
                server.setReuseAddress(true);
                server.bind(new InetSocketAddress(InetAddress.getByName(env.masterAddr()), env.masterPort()));
                return serve(server, newId.get(), env.worldSize(), timeout);
            } catch (IOException e) {
                throw new UncheckedIOException("rank 0: cannot listen on " + env.masterAddr() + ":" + env.masterPort(), e);
            }
        }
        return fetch(env.masterAddr(), env.masterPort(), env.rank(), env.worldSize(), timeout);
    }

    /** Rank 0's side on a bound socket: answers worldSize − 1 hellos with {@code id}; returns {@code id}. */
    public static byte[] serve(ServerSocket server, byte[] id, int worldSize, Duration timeout) {
        checkId(id);
        long deadline = System.nanoTime() + timeout.toNanos();
        TreeSet<Integer> waiting = new TreeSet<>();
        for (int r = 1; r < worldSize; r++) waiting.add(r);
        try {
            while (!waiting.isEmpty()) {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                if (System.nanoTime() >= deadline) throw timedOut(waiting, timeout);
                server.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
                try (Socket s = server.accept()) {
                    s.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    int magic = in.readInt(), rank = in.readInt(), world = in.readInt();
                    String problem = magic != MAGIC ? "not a gns4j bootstrap hello"
                            : world != worldSize ? "rank " + rank + " has WORLD_SIZE " + world + ", rank 0 has " + worldSize
                            : !waiting.contains(rank) ? (rank > 0 && rank < worldSize ? "rank " + rank + " connected twice"
                            : "rank " + rank + " outside [1, " + worldSize + ")") : null;
                    if (problem != null) {
                        out.writeInt(REJECTED);
                        out.writeUTF(problem);
                        out.flush();
                        throw new IllegalStateException("bootstrap: " + problem);
                    }
                    out.writeInt(OK);
                    out.write(id);
                    out.flush();
                    in.readInt(); // the rank's acknowledgement: it has the id
                    waiting.remove(rank);
                } catch (SocketTimeoutException e) {
                    throw timedOut(waiting, timeout);
                }
            }
            return id.clone();
        } catch (IOException e) {
            throw new UncheckedIOException("rank 0: bootstrap failed", e);
        }
    }

    private static IllegalStateException timedOut(TreeSet<Integer> waiting, Duration timeout) {
        return new IllegalStateException("bootstrap: rank(s) " + waiting + " did not connect to rank 0 within " + timeout);
    }

    /** A non-zero rank's side: connects (retrying while rank 0 is not yet listening) and reads the id. */
    public static byte[] fetch(String host, int port, int rank, int worldSize, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                int left = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (deadline - System.nanoTime()) / 1_000_000));
                s.connect(new InetSocketAddress(host, port), left);
                s.setSoTimeout(left);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                DataInputStream in = new DataInputStream(s.getInputStream());
                out.writeInt(MAGIC);
                out.writeInt(rank);
                out.writeInt(worldSize);
                out.flush();
                if (in.readInt() != OK) throw new IllegalStateException("bootstrap: rank 0 rejected rank " + rank + ": " + in.readUTF());
                byte[] id = in.readNBytes(ID_BYTES);
                if (id.length != ID_BYTES) throw new IOException("short id (" + id.length + " bytes)");
                out.writeInt(OK);
                out.flush();
                return id;
            } catch (IOException e) {
                last = e;
                sleep(50);
            }
        }
        throw new IllegalStateException("bootstrap: rank " + rank + " could not get the NCCL id from " + host + ":" + port
                + " within " + Duration.ofNanos(timeout.toNanos()) + (last == null ? "" : " (" + last + ")"), last);
    }

    /** The same exchange through a file on a shared file system: rank 0 writes it atomically, the others poll. */
    public static byte[] exchangeViaFile(Path file, int rank, Supplier<byte[]> newId, Duration timeout) {
        try {
            if (rank == 0) {
                byte[] id = newId.get();
                checkId(id);
                Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
                Files.write(tmp, id);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return id.clone();
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                if (Files.exists(file)) {
                    byte[] id = Files.readAllBytes(file);
                    if (id.length == ID_BYTES) return id;
                }
                sleep(20);
            }
            throw new IllegalStateException("bootstrap: rank " + rank + " found no NCCL id in " + file + " within " + timeout);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void checkId(byte[] id) {
        if (id == null || id.length != ID_BYTES)
            throw new IllegalArgumentException("an NCCL unique id has " + ID_BYTES + " bytes");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during bootstrap", e);
        }
    }
}
