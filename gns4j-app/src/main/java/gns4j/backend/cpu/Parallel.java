package gns4j.backend.cpu;

import gns4j.UserError;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** A fixed-size pool that runs {@code body(i)} for i in [0, n) across its threads. */
final class Parallel implements AutoCloseable {
    private final ForkJoinPool pool;
    final int threads;

    /** The calling thread alone (its pool is never used, so it starts no thread): for work inside another task. */
    static final Parallel SERIAL = new Parallel(1);

    /** ForkJoinPool's own limit on its parallelism. */
    static final int POOL_LIMIT = 0x7fff;

    /** @throws UserError for more threads than the pool takes (the commands check a lower limit first) */
    Parallel(int threads) {
        if (threads > POOL_LIMIT) throw new UserError(threads + " threads: a CPU backend takes at most " + POOL_LIMIT);
        this.threads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        this.pool = new ForkJoinPool(this.threads);
    }

    void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (threads == 1 || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }

    /** Elements of one {@link #forChunks} task: enough to amortise scheduling, few enough to balance an embedding. */
    static final int CHUNK = 1 << 16;

    /** A range start..end of one chunk k. */
    interface ChunkBody {
        void accept(int k, int start, int end);
    }

    /** Chunks of [0, n) as {@link #forChunks} makes them: fixed by n, whatever the thread count. */
    static int chunks(int n) { return (n + CHUNK - 1) / CHUNK; }

    /** body(k, k·CHUNK, min(n, (k+1)·CHUNK)) for every chunk k of [0, n), across the threads. */
    void forChunks(int n, ChunkBody body) {
        forEach(chunks(n), k -> body.accept(k, k * CHUNK, Math.min(n, (k + 1) * CHUNK)));
    }

    @Override
    public void close() { pool.shutdown(); }
}
