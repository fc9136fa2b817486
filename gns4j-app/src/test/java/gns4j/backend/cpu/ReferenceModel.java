package gns4j.backend.cpu;

/** An independent double-precision forward of a model ({@link ReferenceGpt}, {@link ReferenceLlama}): its loss. */
interface ReferenceModel {
    /** Example b's mean token loss; ids and targets hold B rows of T tokens, weights w in the model's layout. */
    double exampleLoss(double[] w, int[] ids, int[] targets, int b, int T);

    /** Mean over the batch of each example's mean token loss. */
    default double loss(double[] w, int[] ids, int[] targets, int B, int T) {
        double total = 0;
        for (int b = 0; b < B; b++) total += exampleLoss(w, ids, targets, b, T);
        return total / B;
    }
}
