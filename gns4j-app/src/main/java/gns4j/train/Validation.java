package gns4j.train;

import gns4j.backend.Backend;
import gns4j.data.TokenDataset;
import gns4j.parallel.Communicator;

/**
 * The validation set: {@code eval_sequences} windows of block_size tokens spread evenly over all of val.bin (window
 * i starts at window ⌊i·n/N⌋ of the n that fit), so that every source in the file is scored and every run with the
 * same data, block_size and eval_sequences is scored on the very same text, whatever its batch or micro-batch.
 * The windows are evaluated in passes of at most the backend's micro-batch; the result is the mean token loss over
 * all of them. Data parallel: rank r evaluates passes r, r + W, … and the sums are all-reduced.
 */
final class Validation {
    private final TokenDataset data;
    private final long[] starts;
    private final int T;

    Validation(TokenDataset data, int T, int sequences) {
        this.data = data;
        this.T = T;
        long n = data.windows(T);
        int count = (int) Math.min(sequences, n);
        starts = new long[count];
        for (int i = 0; i < count; i++) starts[i] = (long) ((double) i * n / count) * T;
    }

    /** Windows in the set (fewer than asked for when val.bin is short). */
    int size() { return starts.length; }

    /** Mean token loss over the set. */
    double loss(Backend backend, Communicator comm) {
        int micro = backend.maxMicroBatch();
        int[] inputs = new int[micro * T], targets = new int[micro * T];
        int rank = comm == null ? 0 : comm.rank(), world = comm == null ? 1 : comm.worldSize();
        double[] sum = {0};
        int pass = 0;
        for (int from = 0; from < starts.length; from += micro, pass++) {
            if (pass % world != rank) continue;
            int n = Math.min(micro, starts.length - from);
            data.windowsAt(starts, from, n, T, inputs, targets);
            sum[0] += n * backend.evaluate(inputs, targets, n, T);
        }
        if (comm != null) comm.allReduceSum(sum);
        return sum[0] / starts.length;
    }
}
