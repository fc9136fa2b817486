package gns4j.train;

import gns4j.UserError;

import java.util.Arrays;

/**
 * How one optimizer step's batch of B sequences is cut into forward/backward passes.
 *
 * <p>With micro_batch_size given (m), a batch is B/m passes of m, as in any gradient-accumulation trainer. With
 * micro_batch_size=auto the batch itself is the micro-batch whenever it fits ({@code maxMicro}, the largest the
 * backend's activations were sized for): a bigger batch then buys throughput instead of more passes. Above that, it
 * is ⌈B/maxMicro⌉ passes of sizes that differ by at most one (the first B mod a are one larger). Data parallel needs
 * at least one pass per rank, so the automatic split takes at least {@code world} passes.
 *
 * <p>The step's examples are drawn in batch order whatever the split, so the data of a step does not depend on it.
 */
public final class MicroBatches {
    private MicroBatches() {}

    /** The sizes of the step's passes, in order; they sum to {@code batch}. */
    public static int[] split(int batch, int microBatchSize, int maxMicro, int world) {
        if (microBatchSize > 0) {
            if (batch % microBatchSize != 0)
                throw new IllegalArgumentException("batch " + batch + " is not a multiple of micro_batch_size " + microBatchSize);
            int[] sizes = new int[batch / microBatchSize];
            Arrays.fill(sizes, microBatchSize);
            return sizes;
        }
        if (maxMicro < 1) throw new IllegalArgumentException("max micro-batch must be >= 1, got " + maxMicro);
        int passes = Math.max((batch + maxMicro - 1) / maxMicro, world);
        if (passes > batch)
            throw new UserError("batch " + batch + " has fewer sequences than the " + world + " data-parallel ranks");
        int[] sizes = new int[passes];
        for (int i = 0; i < passes; i++) sizes[i] = batch / passes + (i < batch % passes ? 1 : 0);
        return sizes;
    }
}
