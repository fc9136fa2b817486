package gns4j.parallel;

import java.lang.foreign.MemorySegment;

/**
 * Collective operations among the ranks of one data-parallel group (one rank per GPU). Every rank must call the same
 * collectives in the same order with the same lengths; results are identical on every rank. A failed rank (an
 * exception, a timeout, a dead process) makes every later or pending collective of the others throw
 * {@link CommunicatorException} naming it, so no rank hangs on a dead peer.
 *
 * <p>Implementations: {@link InProcessCommunicator} (ranks as threads of one JVM, for tests and the CPU) and, on a
 * GPU machine, one over NCCL (in the CUDA backend) whose {@link #allReduceSum(MemorySegment, long, DataType)} takes
 * device buffers.
 */
public interface Communicator extends AutoCloseable {

    /** Element types of {@link #allReduceSum(MemorySegment, long, DataType)}. */
    enum DataType {
        FLOAT32(4), FLOAT64(8);

        public final int bytes;

        DataType(int bytes) { this.bytes = bytes; }
    }

    /** This process's (or thread's) rank, 0 ≤ rank &lt; worldSize. */
    int rank();

    int worldSize();

    /** In-place sum over ranks of {@code data[offset, offset + length)}. */
    void allReduceSum(float[] data, int offset, int length);

    default void allReduceSum(float[] data) { allReduceSum(data, 0, data.length); }

    /** In-place sum over ranks of {@code data[offset, offset + length)}. */
    void allReduceSum(double[] data, int offset, int length);

    default void allReduceSum(double[] data) { allReduceSum(data, 0, data.length); }

    /** In-place exact sum over ranks (counts); overflow throws. */
    void allReduceSum(long[] data);

    /**
     * In-place sum over ranks of {@code count} elements of {@code buffer}: host memory for the in-process
     * implementation, a device buffer ({@code MemorySegment.ofAddress(devicePointer)}) for NCCL.
     */
    void allReduceSum(MemorySegment buffer, long count, DataType type);

    /**
     * Whether {@link #allReduceSum(MemorySegment, long, DataType)} takes device buffers (NCCL) rather than host
     * memory (in-process).
     */
    default boolean deviceBuffers() { return false; }

    /**
     * Queues a sum over ranks of {@code count} elements of device buffer {@code send} into device buffer {@code recv}
     * (the same or disjoint), to start on the GPU once CUevent {@code afterEvent} (recorded on this process's GPU) has
     * fired; returns without waiting. {@link #awaitQueued} waits for everything queued. Only where
     * {@link #deviceBuffers()}; like every collective, all ranks queue the same sums in the same order.
     */
    default void queueAllReduceSum(long send, long recv, long count, DataType type, long afterEvent) {
        throw new UnsupportedOperationException("queued device all-reduces need a communicator of device buffers (NCCL)");
    }

    /** Returns once every sum queued by {@link #queueAllReduceSum} has finished (at once if none is queued). */
    default void awaitQueued() {}

    /** Copies the root's {@code data} into every other rank's. */
    void broadcast(float[] data, int root);

    void broadcast(double[] data, int root);

    void broadcast(byte[] data, int root);

    /** Returns once every rank has called it. */
    void barrier();

    /**
     * Marks this rank failed with {@code cause}: every rank's pending and later collectives throw
     * {@link CommunicatorException} naming this rank. Call it from the handler of an error that stops training.
     */
    void abort(Throwable cause);

    /** Leaves the group; later calls on this object throw. */
    @Override
    void close();
}
