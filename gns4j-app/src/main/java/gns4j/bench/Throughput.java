package gns4j.bench;

import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.parallel.Communicator;
import gns4j.parallel.GradientBuckets;

import java.util.SplittableRandom;

/** tok/s of whole optimizer steps (zero grad, forward + backward with norms, AdamW) on any backend. */
final class Throughput {
    private static final AdamWSettings ADAM = new AdamWSettings(0.9, 0.95, 1e-8, 0.1);

    private Throughput() {}

    /**
     * Each measured step returns the loss to the host, so it ends only when the device has finished it: per-step
     * wall time is honest for asynchronous backends too.
     */
    static Timing measure(Backend backend, BenchModel m, NormTracking tracking, int warmup, int reps) {
        return measure(backend, m, tracking, warmup, reps, null, false);
    }

    /**
     * With {@code comm}: one rank of a data-parallel job, each step also all-reducing the gradient before AdamW (as
     * the trainer does: after backward, or with {@code overlap} in 25 MiB buckets during it); the rate is the job's,
     * W·B·T tokens per step.
     */
    static Timing measure(Backend backend, BenchModel m, NormTracking tracking, int warmup, int reps, Communicator comm,
                          boolean overlap) {
        int B = m.batch(), T = m.config().blockSize(), W = comm == null ? 1 : comm.worldSize();
        backend.initWeights(1);
        SplittableRandom rng = new SplittableRandom(2);
        int[] ids = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(m.config().vocabSize());
            targets[i] = rng.nextInt(m.config().vocabSize());
        }
        double[] sq = new double[backend.layout().numTensors() * B];
        double[] rates = new double[reps];
        for (int i = 0; i < warmup + reps; i++) {
            long t0 = System.nanoTime();
            backend.zeroGrad();
            if (overlap) backend.overlapGradReduce(comm, GradientBuckets.DEFAULT_BUCKET_BYTES);
            backend.forwardBackward(ids, targets, B, T, 1f / (W * B), tracking, LinearNormMethod.AUTO, sq);
            if (comm != null) backend.allReduceGrads(comm);
            backend.adamwStep(ADAM, 1e-4, i + 1);
            backend.gradSqPerTensor();
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (i >= warmup) rates[i - warmup] = (double) W * B * T / seconds;
        }
        return Timing.of(rates);
    }
}
