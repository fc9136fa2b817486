package gns4j.measure;

import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.data.TokenDataset;
import gns4j.gns.ExampleSquares;
import gns4j.gns.GroupedGnsMeasurement;
import gns4j.gns.TrackedTensor;
import gns4j.model.GnsGrouping;
import gns4j.model.ParameterLayout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.random.RandomGenerator;

/**
 * Measures a model as it stands: batches of random windows through forward and backward with per-example norms of
 * every tensor, no optimizer step. The backend's gradient buffer is overwritten; its parameters are not touched.
 */
public final class ModelMeasurer {
    private ModelMeasurer() {}

    /**
     * @param backend        the model, weights already in place
     * @param data           token file to sample windows from (uniformly, as training does)
     * @param batches        batches to measure, ≥ 1 (≥ 2 for an interval)
     * @param batchSize      sequences per batch B ≥ 2, a multiple of microBatchSize
     * @param microBatchSize sequences per forward/backward, at most backend.maxMicroBatch()
     * @param blockSize      tokens per sequence, at most the model's block_size
     * @param method         how Linear layers' per-example norms are computed
     * @param rng            draws the windows
     * @param progress       told the number of each batch finished (1-based); may be null
     */
    public static ModelMeasurement measure(Backend backend, TokenDataset data, int batches, int batchSize,
                                           int microBatchSize, int blockSize, LinearNormMethod method,
                                           RandomGenerator rng, IntConsumer progress) {
        if (batches < 1) throw new IllegalArgumentException("batches must be >= 1, got " + batches);
        if (batchSize < 2 || microBatchSize < 1 || batchSize % microBatchSize != 0)
            throw new IllegalArgumentException("batch size " + batchSize + " must be >= 2 and a multiple of the micro batch "
                    + microBatchSize);
        if (microBatchSize > backend.maxMicroBatch())
            throw new IllegalArgumentException("micro batch " + microBatchSize + " > backend's " + backend.maxMicroBatch());
        ParameterLayout layout = backend.layout();
        int nt = layout.numTensors(), T = blockSize, micro = microBatchSize;
        List<TrackedTensor> tensors = GnsGrouping.tracked(layout.tensors);
        GroupedGnsMeasurement groups = new GroupedGnsMeasurement(tensors, GnsGrouping.TYPES);
        List<ExampleNorm> examples = new ArrayList<>(batches * batchSize);
        double[] sq = new double[nt * micro], sqSum = new double[nt], totalSq = new double[micro], lnSq = new double[micro];
        int[] inputs = new int[micro * T], targets = new int[micro * T];
        long[] offsets = new long[micro];
        double lossSum = 0;
        long start = System.nanoTime();
        for (int batch = 0; batch < batches; batch++) {
            backend.zeroGrad();
            Arrays.fill(sqSum, 0);
            for (int m = 0; m < batchSize / micro; m++) {
                data.sampleBatch(rng, micro, T, inputs, targets, offsets);
                // gradScale 1/B: the accumulated gradient is G_B = (1/B) Σ_b g_b over the whole batch.
                lossSum += micro * backend.forwardBackward(inputs, targets, micro, T, 1f / batchSize, NormTracking.ALL,
                        method, sq);
                ExampleSquares.add(tensors, sq, micro, sqSum, totalSq, lnSq, 0);
                for (int b = 0; b < micro; b++)
                    examples.add(new ExampleNorm(batch, m * micro + b, offsets[b], Math.sqrt(totalSq[b]), Math.sqrt(lnSq[b])));
            }
            groups.add(sqSum, batchSize, backend.gradSqPerTensor());
            if (progress != null) progress.accept(batch + 1);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new ModelMeasurement(layout, groups, examples, batchSize, micro, T,
                lossSum / ((double) batches * batchSize), seconds);
    }
}
