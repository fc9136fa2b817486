package gns4j.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * N ranks as threads of one JVM sharing a {@link Group}. Each collective is one trip of a {@link CyclicBarrier}: every
 * rank deposits its slice, the barrier action (run once, by the last rank to arrive) checks that all ranks called the
 * same collective and computes the result, summing in rank order 0, 1, …, N−1 (floats accumulated in double), so the
 * result is deterministic and bit-identical on every rank; each rank then copies it out. The shared result is not
 * overwritten before every rank has copied it, since the next trip needs every rank to arrive.
 */
public final class InProcessCommunicator implements Communicator {

    private enum Kind { SUM_FLOAT, SUM_DOUBLE, SUM_LONG, BROADCAST_FLOAT, BROADCAST_DOUBLE, BROADCAST_BYTE, BARRIER }

    private record Call(Kind kind, int length, int root, Object array, int offset) {
        String describe() {
            return kind.name().toLowerCase() + "(length " + length + (root >= 0 ? ", root " + root : "") + ")";
        }
    }

    /** The shared state of one group of {@code size} ranks. */
    public static final class Group {
        final int size;
        final long timeoutNanos;
        final Call[] calls;
        final CyclicBarrier barrier;
        private volatile CommunicatorException failure;
        Object result;
        /** {@link #result} of a trip whose calls did not match. */
        private static final Object MISMATCH = new Object();

        /** A group whose collectives give up after 60 s waiting for a rank. */
        public Group(int size) { this(size, Duration.ofSeconds(60)); }

        public Group(int size, Duration timeout) {
            if (size < 1) throw new IllegalArgumentException("world size must be >= 1, got " + size);
            this.size = size;
            this.timeoutNanos = timeout.toNanos();
            this.calls = new Call[size];
            this.barrier = new CyclicBarrier(size, this::combine);
        }

        /** The communicator of one rank; call once per rank. */
        public InProcessCommunicator member(int rank) {
            if (rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " outside [0, " + size + ")");
            return new InProcessCommunicator(this, rank);
        }

        synchronized void fail(int rank, String message, Throwable cause) {
            if (failure == null) failure = new CommunicatorException(rank, message, cause);
            barrier.reset();
        }

        CommunicatorException failure() { return failure; }

        /** Barrier action: validate the calls and compute the shared result. */
        private void combine() {
            Call first = calls[0];
            for (int r = 1; r < size; r++) {
                Call c = calls[r];
                if (c.kind != first.kind || c.length != first.length || c.root != first.root) {
                    failure = new CommunicatorException(r, "mismatched collectives: rank 0 called " + first.describe()
                            + ", rank " + r + " called " + c.describe(), null);
                    result = MISMATCH;
                    return;
                }
            }
            int n = first.length;
            switch (first.kind) {
                case SUM_FLOAT -> {
                    float[] out = new float[n];
                    for (int i = 0; i < n; i++) {
                        double s = 0;
                        for (Call c : calls) s += ((float[]) c.array)[c.offset + i];
                        out[i] = (float) s;
                    }
                    result = out;
                }
                case SUM_DOUBLE -> {
                    double[] out = new double[n];
                    for (Call c : calls) {
                        double[] a = (double[]) c.array;
                        for (int i = 0; i < n; i++) out[i] += a[c.offset + i];
                    }
                    result = out;
                }
                case SUM_LONG -> {
                    long[] out = new long[n];
                    try {
                        for (Call c : calls) {
                            long[] a = (long[]) c.array;
                            for (int i = 0; i < n; i++) out[i] = Math.addExact(out[i], a[i]);
                        }
                    } catch (ArithmeticException e) {
                        failure = new CommunicatorException(-1, "long all-reduce overflowed", e);
                    }
                    result = out;
                }
                case BROADCAST_FLOAT, BROADCAST_DOUBLE, BROADCAST_BYTE -> result = calls[first.root].array;
                case BARRIER -> result = null;
            }
        }
    }

    private final Group group;
    private final int rank;
    private boolean closed;

    private InProcessCommunicator(Group group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /** A new group of {@code n} ranks: element r is rank r's communicator. */
    public static List<InProcessCommunicator> group(int n) {
        Group g = new Group(n);
        List<InProcessCommunicator> out = new ArrayList<>();
        for (int r = 0; r < n; r++) out.add(g.member(r));
        return out;
    }

    /**
     * Runs {@code body} on {@code n} threads, one per rank, and returns the results in rank order. A rank that throws
     * aborts the group (the others' collectives then throw), and the first rank's own exception is rethrown.
     */
    public static <T> List<T> run(int n, Function<Communicator, T> body) {
        Group g = new Group(n);
        List<T> results = new ArrayList<>();
        Throwable[] errors = new Throwable[n];
        Object[] values = new Object[n];
        Thread[] threads = new Thread[n];
        for (int r = 0; r < n; r++) {
            int rank = r;
            threads[r] = Thread.ofPlatform().name("rank-" + r).start(() -> {
                try (InProcessCommunicator c = g.member(rank)) {
                    values[rank] = body.apply(c);
                } catch (Throwable t) {
                    errors[rank] = t;
                    g.fail(rank, "rank " + rank + " failed: " + t, t);
                }
            });
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the ranks", e);
            }
        }
        // prefer a rank's own error over the CommunicatorExceptions it caused in the others
        Throwable first = null;
        for (Throwable t : errors) if (t != null && !(t instanceof CommunicatorException) && first == null) first = t;
        for (Throwable t : errors) if (t != null && first == null) first = t;
        if (first instanceof RuntimeException e) throw e;
        if (first instanceof Error e) throw e;
        if (first != null) throw new IllegalStateException(first);
        for (int r = 0; r < n; r++) {
            @SuppressWarnings("unchecked") T v = (T) values[r];
            results.add(v);
        }
        return results;
    }

    @Override public int rank() { return rank; }

    @Override public int worldSize() { return group.size; }

    private Object collective(Call call) {
        if (closed) throw new IllegalStateException("rank " + rank + ": communicator is closed");
        CommunicatorException f = group.failure();
        if (f != null) throw rethrow(f);
        group.calls[rank] = call;
        try {
            group.barrier.await(group.timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.fail(rank, "rank " + rank + " was interrupted in " + call.describe(), e);
            throw rethrow(group.failure());
        } catch (TimeoutException e) {
            group.fail(rank, "rank " + rank + " timed out after " + Duration.ofNanos(group.timeoutNanos)
                    + " in " + call.describe() + " waiting for the other ranks", e);
            throw rethrow(group.failure());
        } catch (BrokenBarrierException e) {
            awaitFailure();
            throw rethrow(group.failure());
        }
        // Every rank took part, so the result stands even if a faster rank has failed since (it cannot change before
        // this rank arrives at the next collective), as with NCCL: a completed all-reduce is not undone.
        Object r = group.result;
        if (r == Group.MISMATCH) throw rethrow(group.failure());
        return r;
    }

    /** A broken barrier's cause is recorded just after the break; wait for it briefly. */
    private void awaitFailure() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (group.failure() == null && System.nanoTime() < deadline) Thread.onSpinWait();
        if (group.failure() == null) group.fail(-1, "the group was broken by another rank", null);
    }

    private CommunicatorException rethrow(CommunicatorException f) {
        return new CommunicatorException(f.failedRank, "rank " + rank + ": " + f.getMessage(), f);
    }

    private static void checkSlice(int arrayLength, int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > arrayLength)
            throw new IndexOutOfBoundsException("slice [" + offset + ", " + (offset + length) + ") of " + arrayLength);
    }

    @Override
    public void allReduceSum(float[] data, int offset, int length) {
        checkSlice(data.length, offset, length);
        float[] r = (float[]) collective(new Call(Kind.SUM_FLOAT, length, -1, data, offset));
        System.arraycopy(r, 0, data, offset, length);
    }

    @Override
    public void allReduceSum(double[] data, int offset, int length) {
        checkSlice(data.length, offset, length);
        double[] r = (double[]) collective(new Call(Kind.SUM_DOUBLE, length, -1, data, offset));
        System.arraycopy(r, 0, data, offset, length);
    }

    @Override
    public void allReduceSum(long[] data) {
        long[] r = (long[]) collective(new Call(Kind.SUM_LONG, data.length, -1, data, 0));
        System.arraycopy(r, 0, data, 0, data.length);
    }

    @Override
    public void allReduceSum(MemorySegment buffer, long count, DataType type) {
        if (count > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("too many elements: " + count);
        MemorySegment s = buffer.asSlice(0, count * type.bytes);
        switch (type) {
            case FLOAT32 -> {
                float[] a = s.toArray(ValueLayout.JAVA_FLOAT);
                allReduceSum(a);
                MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT, 0, a.length);
            }
            case FLOAT64 -> {
                double[] a = s.toArray(ValueLayout.JAVA_DOUBLE);
                allReduceSum(a);
                MemorySegment.copy(a, 0, s, ValueLayout.JAVA_DOUBLE, 0, a.length);
            }
        }
    }

    private void checkRoot(int root) {
        if (root < 0 || root >= group.size) throw new IllegalArgumentException("root " + root + " outside [0, " + group.size + ")");
    }

    @Override
    public void broadcast(float[] data, int root) { broadcast(Kind.BROADCAST_FLOAT, data, data.length, root); }

    @Override
    public void broadcast(double[] data, int root) { broadcast(Kind.BROADCAST_DOUBLE, data, data.length, root); }

    @Override
    public void broadcast(byte[] data, int root) { broadcast(Kind.BROADCAST_BYTE, data, data.length, root); }

    /** Copies the root's {@code data} (a primitive array of {@code length}) into every rank's. */
    private void broadcast(Kind kind, Object data, int length, int root) {
        checkRoot(root);
        Object r = collective(new Call(kind, length, root, data, 0));
        if (rank != root) System.arraycopy(r, 0, data, 0, length);
        barrier(); // the root's array is the shared result: keep it unchanged until every rank has copied it
    }

    @Override
    public void barrier() { collective(new Call(Kind.BARRIER, 0, -1, null, 0)); }

    @Override
    public void abort(Throwable cause) {
        group.fail(rank, "rank " + rank + " failed: " + cause, cause);
    }

    @Override
    public void close() { closed = true; }
}
