package gns4j.bench;

import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.parallel.Communicator;
import gns4j.parallel.GradientBuckets;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /** As {@link #measure(Backend, BenchModel, NormTracking, int, int)}, running warmedUp before the first measured step. */
    static Timing measure(Backend backend, BenchModel m, NormTracking tracking, int warmup, int reps, Runnable warmedUp) {
        return timings(new Stepper(backend, m, null, false), List.of(tracking), warmup, reps, warmedUp).get(tracking);
    }

    /**
     * With {@code comm}: one rank of a data-parallel job, each step also all-reducing the gradient before AdamW (as
     * the trainer does: after backward, or with {@code overlap} in 25 MiB buckets during it); the rate is the job's,
     * W·B·T tokens per step.
     */
    static Timing measure(Backend backend, BenchModel m, NormTracking tracking, int warmup, int reps, Communicator comm,
                          boolean overlap) {
        return timings(new Stepper(backend, m, comm, overlap), List.of(tracking), warmup, reps, () -> {}).get(tracking);
    }

    /**
     * The modes' rates measured in alternation on one backend: warm-up steps of every mode, then rep by rep one step
     * of each mode in turn, so a drift of the machine (the JIT still compiling, clocks, neighbours) is shared by all
     * modes instead of favouring the mode measured last.
     */
    static Map<NormTracking, Timing> interleaved(Backend backend, BenchModel m, List<NormTracking> modes, int warmup, int reps) {
        return timings(new Stepper(backend, m, null, false), modes, warmup, reps, () -> {});
    }

    /** warmup + reps rounds of one step per mode, in order; the last reps rounds timed, warmedUp run before them. */
    private static Map<NormTracking, Timing> timings(Stepper s, List<NormTracking> modes, int warmup, int reps, Runnable warmedUp) {
        Map<NormTracking, double[]> rates = new LinkedHashMap<>();
        for (NormTracking t : modes) rates.put(t, new double[reps]);
        for (int i = 0; i < warmup + reps; i++) {
            if (i == warmup) warmedUp.run();
            for (NormTracking t : modes) {
                double rate = s.step(t);
                if (i >= warmup) rates.get(t)[i - warmup] = rate;
            }
        }
        Map<NormTracking, Timing> out = new LinkedHashMap<>();
        rates.forEach((t, r) -> out.put(t, Timing.of(r)));
        return out;
    }

    /** Whole optimizer steps on fixed random tokens; the weights move (AdamW), which does not change a step's work. */
    private static final class Stepper {
        private final Backend backend;
        private final Communicator comm;
        private final boolean overlap;
        private final int B, T, W;
        private final int[] ids, targets;
        private final double[] sq;
        private int steps;

        Stepper(Backend backend, BenchModel m, Communicator comm, boolean overlap) {
            this.backend = backend;
            this.comm = comm;
            this.overlap = overlap;
            B = m.batch();
            T = m.config().blockSize();
            W = comm == null ? 1 : comm.worldSize();
            backend.initWeights(1);
            SplittableRandom rng = new SplittableRandom(2);
            ids = new int[B * T];
            targets = new int[B * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rng.nextInt(m.config().vocabSize());
                targets[i] = rng.nextInt(m.config().vocabSize());
            }
            sq = new double[backend.layout().numTensors() * B];
        }

        /** One step with these norms; returns the job's tokens per second over it (W·B·T tokens). */
        double step(NormTracking tracking) {
            long t0 = System.nanoTime();
            backend.zeroGrad();
            if (overlap) backend.overlapGradReduce(comm, GradientBuckets.DEFAULT_BUCKET_BYTES);
            backend.forwardBackward(ids, targets, B, T, 1f / (W * B), tracking, LinearNormMethod.AUTO, sq);
            if (comm != null) backend.allReduceGrads(comm);
            backend.adamwStep(ADAM, 1e-4, ++steps);
            backend.gradSqPerTensor();
            return (double) W * B * T / ((System.nanoTime() - t0) / 1e9);
        }
    }
}
