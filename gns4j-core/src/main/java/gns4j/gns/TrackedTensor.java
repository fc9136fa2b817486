package gns4j.gns;

import java.util.Objects;

/**
 * One parameter tensor as the GNS groups see it: which row of the per-tensor arrays it is, and the groups it belongs
 * to besides {@code "total"} and its own {@code "tensor/<name>"} (see {@link GnsTracker}).
 *
 * @param index the tensor's row in per-tensor arrays (and in per-example norm buffers {@code sq[index·B + b]}), ≥ 0
 * @param name  unique name, e.g. {@code "transformer.h.0.ln_1.weight"}: the group {@code "tensor/<name>"}
 * @param type  the kind of parameter, e.g. {@code "attn_qkv"} or {@code "norm"}: the group {@code "type/<type>"}
 * @param layer the layer, e.g. {@code "h.0"} or {@code "embed"}: the group {@code "layer/<layer>"}
 * @param norm  whether it is a normalisation layer's gain or bias (LayerNorm, RMSNorm): the group {@code "ln"}, whose
 *              GNS tracks the total one at a fraction of the cost (Gray et al. 2024)
 */
public record TrackedTensor(int index, String name, String type, String layer, boolean norm) {

    /**
     * Checks the arguments.
     *
     * @throws IllegalArgumentException on a negative index
     * @throws NullPointerException     on a null name, type or layer
     */
    public TrackedTensor {
        if (index < 0) throw new IllegalArgumentException("tensor index must be >= 0, got " + index);
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(layer, "layer");
    }
}
