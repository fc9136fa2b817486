package gns4j.report;

import java.util.List;

/**
 * Per-layer GNS of one run: {@code values[layer][column]} at {@code steps[column]}, NaN where a layer had no value.
 * Layers run from the input to the output: embed, h.0, h.1, ..., head.
 */
public record LayerMatrix(List<String> layers, long[] steps, double[][] values) {
    public boolean isEmpty() { return layers.isEmpty() || steps.length == 0; }
}
