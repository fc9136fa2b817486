package gns4j.backend.cpu;

import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;

/** An independent double-precision forward of a model ({@link ReferenceGpt}, {@link ReferenceLlama}): its loss. */
abstract class ReferenceModel {
    final ModelConfig c;
    final ParameterLayout p;

    ReferenceModel(ParameterLayout layout) {
        this.p = layout;
        this.c = layout.config;
    }

    /** Example b's mean token loss; ids and targets hold B rows of T tokens, weights w in the model's layout. */
    abstract double exampleLoss(double[] w, int[] ids, int[] targets, int b, int T);

    /** Mean over the batch of each example's mean token loss. */
    double loss(double[] w, int[] ids, int[] targets, int B, int T) {
        double total = 0;
        for (int b = 0; b < B; b++) total += exampleLoss(w, ids, targets, b, T);
        return total / B;
    }
}
