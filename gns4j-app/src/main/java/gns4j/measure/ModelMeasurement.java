package gns4j.measure;

import gns4j.gns.GroupedGnsMeasurement;
import gns4j.model.ParameterLayout;

import java.util.Comparator;
import java.util.List;

/**
 * What {@link ModelMeasurer#measure} saw: the GNS inputs of every group for every batch, and every example's norms.
 *
 * @param layout         the measured model's tensors
 * @param groups         per-group, per-batch |G|² and tr(Σ) estimates
 * @param examples       every measured example, in measurement order
 * @param batchSize      sequences per batch
 * @param microBatchSize sequences per forward/backward
 * @param blockSize      tokens per sequence
 * @param meanLoss       mean token loss over all measured examples
 * @param seconds        wall time of the forward/backward passes
 */
public record ModelMeasurement(ParameterLayout layout, GroupedGnsMeasurement groups, List<ExampleNorm> examples,
                               int batchSize, int microBatchSize, int blockSize, double meanLoss, double seconds) {

    public ModelMeasurement {
        examples = List.copyOf(examples);
    }

    public int batches() { return groups.batches(); }

    public long tokens() { return (long) batches() * batchSize * blockSize; }

    /** The k examples of largest total per-example gradient norm, largest first. */
    public List<ExampleNorm> highest(int k) {
        return examples.stream().sorted(Comparator.comparingDouble(ExampleNorm::normTotal).reversed()).limit(k).toList();
    }

    /** The k examples of smallest total per-example gradient norm, smallest first. */
    public List<ExampleNorm> lowest(int k) {
        return examples.stream().sorted(Comparator.comparingDouble(ExampleNorm::normTotal)).limit(k).toList();
    }
}
