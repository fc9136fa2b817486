package gns4j.gns;

import java.util.List;

/**
 * Aggregates the per-example squared gradient norms a backend returns for one micro-batch, {@code sq[tensor·B + b]}
 * (B examples): per tensor the sum over the examples, which the estimators take as B·S, and per example the sum
 * over all tracked tensors and over the norm layers alone, whose square roots are the example's total and LN norm.
 * Training and {@code measure} both aggregate here, so their numbers agree to the bit.
 */
public final class ExampleSquares {
    private ExampleSquares() {}

    /**
     * Adds the micro-batch to {@code sqSumPerTensor} and writes example b's sums to {@code totalSq[at + b]} and
     * {@code lnSq[at + b]}; only the {@code tracked} tensors count (in their order, which fixes the rounding).
     *
     * @param tracked        the tensors to count; {@link TrackedTensor#index()} is the row in {@code sq} and
     *                       {@code sqSumPerTensor}
     * @param sq             per-example squared norms of the micro-batch, {@code sq[index·B + b]}
     * @param B              examples in the micro-batch
     * @param sqSumPerTensor per tensor row, the running sum over examples; added to
     * @param totalSq        per example, the squared norm over the tracked tensors; written at {@code at + b}
     * @param lnSq           per example, the squared norm over the tracked norm-layer tensors; written at {@code at + b}
     * @param at             where the micro-batch's first example goes in {@code totalSq} and {@code lnSq}
     */
    public static void add(List<TrackedTensor> tracked, double[] sq, int B, double[] sqSumPerTensor, double[] totalSq,
                           double[] lnSq, int at) {
        for (int b = 0; b < B; b++) {
            double total = 0, ln = 0;
            for (TrackedTensor t : tracked) {
                double v = sq[t.index() * B + b];
                sqSumPerTensor[t.index()] += v;
                total += v;
                if (t.norm()) ln += v;
            }
            totalSq[at + b] = total;
            lnSq[at + b] = ln;
        }
    }
}
