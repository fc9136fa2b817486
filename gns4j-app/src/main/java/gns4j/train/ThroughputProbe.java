package gns4j.train;

import gns4j.data.TokenDataset;
import gns4j.schedule.Throughput;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The goodput policy's throughput curve when the config gives none ({@code throughput_curve} empty): before the first
 * step the trainer times forward + backward (with the run's per-example norms and, data parallel, the gradient
 * all-reduce) at batches min, 2·min, 4·min, ... and max, on the run's own model and data. The passes change no weight
 * and no optimizer state (the next step zeroes the gradient). AdamW and clipping are not timed: per step they cost
 * the same at every batch, so the curve slightly flatters small batches.
 */
final class ThroughputProbe {
    /** Passes per batch: the first WARM untimed (kernel selection, allocation, JIT), the median of the rest kept. */
    static final int WARM = 2, TIMED = 3;

    private ThroughputProbe() {}

    static Throughput measure(StepRunner runner, TokenDataset train, int min, int max, int blockSize, long seed) {
        List<Throughput.Point> points = new ArrayList<>();
        for (int b : batches(min, max)) {
            double[] seconds = new double[TIMED];
            for (int i = 0; i < WARM + TIMED; i++) {
                long start = System.nanoTime();
                runner.run(train, b, seed + i, false); // returns the gradient norms from the device: the pass has ended
                if (i >= WARM) seconds[i - WARM] = (System.nanoTime() - start) / 1e9;
            }
            Arrays.sort(seconds);
            points.add(new Throughput.Point(b, (double) b * blockSize / seconds[TIMED / 2]));
        }
        return new Throughput(points);
    }

    /** min, 2·min, 4·min, ... below max, then max (min &lt; max). */
    static List<Integer> batches(int min, int max) {
        List<Integer> out = new ArrayList<>();
        for (long b = min; b < max; b *= 2) out.add((int) b);
        out.add(max);
        return out;
    }
}
