package gns4j.train;

import gns4j.backend.NormTracking;
import gns4j.gns.ExampleSquares;
import gns4j.gns.TrackedTensor;
import gns4j.model.GnsGrouping;
import gns4j.model.ParameterLayout;

import java.util.Arrays;
import java.util.List;

/**
 * Collects the per-example squared norms of one optimizer step across its micro-batches: per tensor the sum over
 * all examples (what the GNS estimators need) and per example the squared norm over all tracked tensors and over
 * the norm layers (for the per-example norm distribution).
 */
final class StepStats {
    private final List<TrackedTensor> tracked;
    final double[] sqSumPerTensor;
    final double[] exampleTotalSq, exampleLnSq;
    /** The step's examples so far are [first, examples) of the batch; first > 0 on a data-parallel rank. */
    int first, examples;

    StepStats(ParameterLayout layout, NormTracking tracking, int maxBatch) {
        this.tracked = GnsGrouping.tracked(tracking.tracked(layout.tensors));
        this.sqSumPerTensor = new double[layout.numTensors()];
        this.exampleTotalSq = new double[maxBatch];
        this.exampleLnSq = new double[maxBatch];
    }

    void reset() { reset(0); }

    /** Starts a step whose first local example is example {@code first} of the batch (a data-parallel shard). */
    void reset(int first) {
        Arrays.fill(sqSumPerTensor, 0);
        this.first = first;
        examples = first;
    }

    /**
     * [total (B) | LN (B)] squared norms of this rank's examples at their places in a batch of B, zeros elsewhere:
     * summed over the ranks (an all-reduce), it gathers the whole batch's, exactly.
     */
    double[] exampleSlots(int B) {
        double[] out = new double[2 * B];
        System.arraycopy(exampleTotalSq, first, out, first, examples - first);
        System.arraycopy(exampleLnSq, first, out, B + first, examples - first);
        return out;
    }

    /** Takes the whole batch's statistics: per-tensor sums and the gathered {@link #exampleSlots} at {@code slots[at...]}. */
    void setBatch(double[] perTensorSqSum, double[] slots, int at, int B) {
        System.arraycopy(perTensorSqSum, 0, sqSumPerTensor, 0, sqSumPerTensor.length);
        System.arraycopy(slots, at, exampleTotalSq, 0, B);
        System.arraycopy(slots, at + B, exampleLnSq, 0, B);
        first = 0;
        examples = B;
    }

    /** Adds one micro-batch of B examples: sq[tensor·B + b]. */
    void add(double[] sq, int B) {
        ExampleSquares.add(tracked, sq, B, sqSumPerTensor, exampleTotalSq, exampleLnSq, examples);
        examples += B;
    }

    /** Per-example L2 norms of the step (sqrt of the squared sums). */
    static double[] norms(double[] sq, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = Math.sqrt(sq[i]);
        return out;
    }
}
