package gns4j.train;

import gns4j.backend.Backend;
import gns4j.backend.NormTracking;
import gns4j.data.TokenDataset;
import gns4j.parallel.Communicator;
import gns4j.parallel.DistributedGnsStats;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One optimizer step's forward and backward: the batch drawn, cut into passes ({@link MicroBatches}), this rank's
 * share run, and — data parallel — the gradient, per-example statistics, loss and stop request summed over the ranks.
 *
 * <p>Data parallel: every rank draws the whole global batch from the same RNG (so the batch is that of one process)
 * and runs its contiguous share of the passes, [⌊a·r/W⌋, ⌊a·(r+1)/W⌋) of the step's a, with the global scale 1/B.
 * Then one all-reduce sums the per-tensor Σ_b|g_b|², this rank's |G_r|² (for the DDP-style estimate), the loss, the
 * stop flag, rank 0's |G_B|² and the per-example norms; every rank takes rank 0's |G_B|² of the summed gradient, so
 * GNS, batch schedule and clipping see the same bits on every rank.
 */
final class StepRunner {
    /**
     * What a step's forward and backward produced.
     *
     * @param loss     mean token loss of the batch
     * @param gradSq   |G_B|² per tensor of the batch-mean gradient (before clipping)
     * @param passes   forward/backward passes of the step (all ranks)
     * @param largest  sequences in its largest pass (the micro-batch)
     * @param ranks    the data-parallel sums (for the DDP-style GNS), null in one process
     * @param stop     whether any rank asked to stop (data parallel), else false
     */
    record Result(double loss, double[] gradSq, int passes, int largest, DistributedGnsStats.Sums ranks, boolean stop) {}

    private final TrainConfig cfg;
    private final Backend backend;
    private final Communicator comm;
    private final StepStats stats;
    private final double[] sq;
    private final int[] inputs, targets;
    private final long[] offsets, passOffsets;
    private final int T;

    StepRunner(TrainConfig cfg, Backend backend, Communicator comm, StepStats stats, int largestBatch) {
        this.cfg = cfg;
        this.backend = backend;
        this.comm = comm;
        this.stats = stats;
        this.T = cfg.model().blockSize();
        int micro = backend.maxMicroBatch();
        sq = new double[backend.layout().numTensors() * micro];
        inputs = new int[micro * T];
        targets = new int[micro * T];
        offsets = new long[largestBatch];
        passOffsets = new long[micro];
    }

    /** Where each example of the last step starts in train.bin, in batch order. */
    long[] offsets() { return offsets; }

    /** Forward and backward of a batch of {@code B} drawn from {@code train} with the step's {@code seed}. */
    Result run(TokenDataset train, int B, long seed, boolean stopRequested) {
        int rank = comm == null ? 0 : comm.rank(), world = comm == null ? 1 : comm.worldSize();
        int[] passes = MicroBatches.split(B, cfg.batch().microBatchSize(), backend.maxMicroBatch(), world);
        int a = passes.length, first = (int) ((long) a * rank / world), end = (int) ((long) a * (rank + 1) / world);
        NormTracking tracking = cfg.gns().perExampleNorms();
        SplittableRandom rng = new SplittableRandom(seed);
        backend.zeroGrad();
        int at = 0;
        for (int m = 0; m < first; m++) at += passes[m];
        stats.reset(at);
        double lossSum = 0; // Σ over passes of (pass mean loss × pass size)
        int drawn = 0, local = 0;
        for (int m = 0; m < a; m++) {
            int n = passes[m];
            // Every rank draws every pass: the RNG stream and the step's offsets are those of one process.
            train.sampleBatch(rng, n, T, inputs, targets, passOffsets);
            System.arraycopy(passOffsets, 0, offsets, drawn, n);
            drawn += n;
            if (m < first || m >= end) continue;
            // This rank's last pass finishes its gradient: its backward may start the all-reduce.
            if (comm != null && cfg.dataParallel().gradOverlap() && m == end - 1) backend.overlapGradReduce(comm, cfg.dataParallel().gradBucketBytes());
            lossSum += n * backend.forwardBackward(inputs, targets, n, T, 1f / B, tracking, cfg.gns().linearNormMethod(), sq);
            if (tracking != NormTracking.OFF) stats.add(sq, n);
            local += n;
        }
        int largest = Arrays.stream(passes).max().orElseThrow();
        if (comm == null) return new Result(lossSum / B, backend.gradSqPerTensor(), a, largest, null, false);
        return reduce(B, local, lossSum, stopRequested, a, largest);
    }

    /** The data-parallel sums of a step whose local share had {@code local} examples. */
    private Result reduce(int B, int local, double lossSum, boolean stopRequested, int passes, int largest) {
        // This rank's gradient is (1/B)·Σ_local g_b = (n_r/B)·G_r: |G_r|² for the two-batch estimate (still the local
        // one with grad_overlap: allReduceGrads completes the sum).
        double[] localGradSq = backend.gradSqPerTensor();
        double f = (double) B / local;
        for (int t = 0; t < localGradSq.length; t++) localGradSq[t] *= f * f;
        backend.allReduceGrads(comm); // the gradient sum is complete from here on
        // The summed gradient is the same on every rank, but its norms, reduced on the GPU with atomics, may differ in
        // the last bits; every rank takes rank 0's (summed with zeros, which is exact).
        int nt = backend.layout().numTensors();
        double[] slots = stats.exampleSlots(B);
        Packed p = new Packed(nt, slots.length);
        p.data[Packed.LOSS] = lossSum;
        p.data[Packed.STOP] = stopRequested ? 1 : 0;
        if (comm.rank() == 0) System.arraycopy(backend.gradSqPerTensor(), 0, p.data, p.gradSqAt(), nt);
        System.arraycopy(slots, 0, p.data, p.examplesAt(), slots.length);
        DistributedGnsStats.Sums sums = DistributedGnsStats.reduceSums(comm, stats.sqSumPerTensor, local, localGradSq, p.data);
        if (sums.examples() != B)
            throw new IllegalStateException("rank " + comm.rank() + ": the ranks disagree on the batch (" + sums.examples()
                    + " examples in all, " + B + " expected)");
        stats.setBatch(sums.perExampleSqSum(), p.data, p.examplesAt(), B);
        return new Result(p.data[Packed.LOSS] / B, Arrays.copyOfRange(p.data, p.gradSqAt(), p.gradSqAt() + nt), passes,
                largest, sums, p.data[Packed.STOP] > 0);
    }

    /** The extra doubles summed with the GNS sums: [loss, stop, |G_B|² per tensor (nt), per-example slots]. */
    private record Packed(int nt, double[] data) {
        static final int LOSS = 0, STOP = 1;

        Packed(int nt, int slots) { this(nt, new double[2 + nt + slots]); }

        int gradSqAt() { return 2; }

        int examplesAt() { return 2 + nt; }
    }
}
