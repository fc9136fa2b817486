package gns4j.backend.cuda;

import gns4j.parallel.Communicator;
import gns4j.parallel.CommunicatorException;
import gns4j.parallel.NcclBootstrap;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The {@link Communicator} of one process of a multi-process job, one GPU each, over NCCL. Device buffers
 * ({@link #allReduceSum(MemorySegment, long, DataType)}: {@code MemorySegment.ofAddress(devicePointer)} on this
 * process's GPU) are reduced in place; host arrays go through a device scratch buffer (copy in, collective, copy out).
 * Every collective runs on this communicator's own stream and has finished when the call returns; the caller makes sure
 * a device buffer is ready (the CUDA backend synchronises its stream first). The exception are queued sums
 * ({@link #queueAllReduceSum}: the stream waits on the caller's event on the GPU, the host does not wait), finished by
 * {@link #awaitQueued} or by any later collective, which runs after them on the same stream.
 *
 * <p>Waiting polls the stream and {@code ncclCommGetAsyncError}: a peer's failure that NCCL reports, or a collective
 * that does not finish within the timeout (GNS4J_NCCL_TIMEOUT_S, default 600 s), aborts the communicator and throws
 * {@link CommunicatorException} instead of hanging. Not thread-safe: one training thread calls it.
 */
public final class NcclCommunicator implements Communicator {
    static final Duration BOOTSTRAP_TIMEOUT = Duration.ofMinutes(5);

    private final Nccl nccl;
    private final CudaDevice device;
    private final long comm;
    private final int rank, worldSize;
    private final Duration timeout;
    private long scratch, scratchBytes, queuedElements;
    private int queuedSums;
    private boolean aborted, closed;

    private NcclCommunicator(Nccl nccl, CudaDevice device, long comm, int rank, int worldSize, Duration timeout) {
        this.nccl = nccl;
        this.device = device;
        this.comm = comm;
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeout = timeout;
    }

    /**
     * Joins the job the environment describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; see
     * {@link NcclBootstrap.Env}) on GPU LOCAL_RANK: rank 0 hands out the NCCL id over TCP, then every rank calls
     * ncclCommInitRank with that GPU's context current. Loading NCCL sets NCCL_NVLS_ENABLE=0 first.
     */
    public static NcclCommunicator fromEnvironment(Map<String, String> env) {
        NcclBootstrap.Env e = NcclBootstrap.Env.from(env);
        Nccl nccl = Nccl.get();
        CudaDevice device = CudaDevice.open(e.localRank());
        try {
            byte[] id = NcclBootstrap.exchange(e, nccl::uniqueId, BOOTSTRAP_TIMEOUT);
            device.makeCurrent();
            long comm = nccl.commInitRank(e.worldSize(), id, e.rank());
            return new NcclCommunicator(nccl, device, comm, e.rank(), e.worldSize(), timeout(env));
        } catch (RuntimeException | Error ex) {
            device.close();
            throw ex;
        }
    }

    static Duration timeout(Map<String, String> env) {
        String v = env.get("GNS4J_NCCL_TIMEOUT_S");
        try {
            return Duration.ofSeconds(v == null || v.isBlank() ? 600 : Long.parseLong(v.strip()));
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("GNS4J_NCCL_TIMEOUT_S must be a whole number of seconds, got '" + v + "'");
        }
    }

    /** The ncclDataType_t of a device-buffer element type. */
    static int ncclType(DataType type) {
        return switch (type) {
            case FLOAT32 -> Nccl.FLOAT32;
            case FLOAT64 -> Nccl.FLOAT64;
        };
    }

    @Override public int rank() { return rank; }

    @Override public int worldSize() { return worldSize; }

    @Override public boolean deviceBuffers() { return true; }

    @Override
    public void allReduceSum(MemorySegment buffer, long count, DataType type) {
        open();
        device.makeCurrent();
        nccl.allReduceSum(buffer.address(), buffer.address(), count, ncclType(type), comm, device.stream());
        await("all-reduce of " + count + " " + type.name().toLowerCase() + " on the GPU");
    }

    @Override
    public void queueAllReduceSum(long send, long recv, long count, DataType type, long afterEvent) {
        open();
        device.waitEvent(afterEvent);
        nccl.allReduceSum(send, recv, count, ncclType(type), comm, device.stream());
        queuedSums++;
        queuedElements += count;
    }

    @Override
    public void awaitQueued() {
        if (queuedSums == 0) return;
        String what = queuedSums + " queued all-reduces (" + queuedElements + " elements in all) on the GPU";
        queuedSums = 0;
        queuedElements = 0;
        await(what);
    }

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        viaScratch(MemorySegment.ofArray(data).asSlice(4L * offset, 4L * length), 4, Nccl.FLOAT32, -1);
    }

    @Override
    public void allReduceSum(double[] data, int offset, int length) {
        viaScratch(MemorySegment.ofArray(data).asSlice(8L * offset, 8L * length), 8, Nccl.FLOAT64, -1);
    }

    /** int64 sums (NCCL wraps on overflow rather than throwing; the trainer's counts are far from it). */
    @Override
    public void allReduceSum(long[] data) { viaScratch(MemorySegment.ofArray(data), 8, Nccl.INT64, -1); }

    @Override
    public void broadcast(float[] data, int root) { viaScratch(MemorySegment.ofArray(data), 4, Nccl.FLOAT32, checkRoot(root)); }

    @Override
    public void broadcast(double[] data, int root) { viaScratch(MemorySegment.ofArray(data), 8, Nccl.FLOAT64, checkRoot(root)); }

    @Override
    public void broadcast(byte[] data, int root) { viaScratch(MemorySegment.ofArray(data), 1, Nccl.INT8, checkRoot(root)); }

    @Override
    public void barrier() { allReduceSum(new long[1]); }

    private int checkRoot(int root) {
        if (root < 0 || root >= worldSize) throw new IllegalArgumentException("root " + root + " outside [0, " + worldSize + ")");
        return root;
    }

    /**
     * Runs the collective on the Java array slice {@code data} of {@code elementBytes}-byte elements (a sum, or a
     * broadcast from {@code root} ≥ 0) through native memory and the device scratch buffer, waits, and copies the
     * result back into {@code data}.
     */
    private void viaScratch(MemorySegment data, int elementBytes, int type, int root) {
        long count = data.byteSize() / elementBytes;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(Math.max(data.byteSize(), elementBytes), 8);
            MemorySegment.copy(data, 0, host, 0, data.byteSize());
            onScratch(host, count, type, root);
            MemorySegment.copy(host, 0, data, 0, data.byteSize());
        }
    }

    /**
     * Copies {@code host} (native) to the scratch buffer, runs the collective on its first {@code count} elements,
     * waits, and copies the result back into {@code host}.
     */
    private void onScratch(MemorySegment host, long count, int type, int root) {
        open();
        long bytes = host.byteSize();
        if (bytes > scratchBytes) {
            if (scratch != 0) device.free(scratch);
            scratch = 0; // both stay unset if the larger allocation fails
            scratchBytes = 0;
            scratch = device.alloc(bytes);
            scratchBytes = bytes;
        }
        device.upload(scratch, host);
        if (root < 0) nccl.allReduceSum(scratch, scratch, count, type, comm, device.stream());
        else nccl.broadcast(scratch, scratch, count, type, root, comm, device.stream());
        String what = root < 0 ? "all-reduce of " + count + " host values" : "broadcast of " + count + " host values";
        await(what);
        device.download(host, scratch);
        device.sync();
    }

    /** Waits for the stream, polling NCCL's asynchronous error: a failed peer or a timeout aborts instead of hanging. */
    private void await(String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!device.idle()) {
            int err = nccl.asyncError(comm);
            if (err != 0 && err != Nccl.IN_PROGRESS)
                throw failed(what + ": NCCL reports " + Nccl.resultName(err) + " (" + nccl.errorString(err) + "); did another rank fail?");
            if (System.nanoTime() > deadline)
                throw failed(what + " did not finish within " + timeout.toSeconds() + " s (GNS4J_NCCL_TIMEOUT_S); did another rank stop?");
            LockSupport.parkNanos(20_000);
        }
    }

    private CommunicatorException failed(String message) {
        abort(null);
        return new CommunicatorException(-1, "rank " + rank + ": " + message, null);
    }

    private void open() {
        if (closed) throw new IllegalStateException("rank " + rank + ": communicator is closed");
        if (aborted) throw new CommunicatorException(rank, "rank " + rank + ": communicator was aborted", null);
    }

    /** ncclCommAbort: frees the communicator without waiting for pending operations or peers. */
    @Override
    public void abort(Throwable cause) {
        if (aborted || closed) return;
        aborted = true;
        device.makeCurrent();
        nccl.commAbort(comm);
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            if (!aborted) {
                device.makeCurrent();
                nccl.commDestroy(comm);
            }
        } finally {
            closed = true;
            device.close();
        }
    }
}
