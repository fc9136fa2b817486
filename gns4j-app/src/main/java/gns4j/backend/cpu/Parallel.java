package gns4j.backend.cpu;

import gns4j.UserError;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** A fixed-size pool that runs {@code body(i)} for i in [0, n) across its threads. */
final class Parallel implements AutoCloseable {
    private final ForkJoinPool pool;
    final int threads;

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

    @Override
    public void close() { pool.shutdown(); }
}
