package gns4j.model;

import gns4j.gns.GnsTracker;
import gns4j.gns.TrackedTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a model's tensors fall into the GNS groups of {@link GnsTracker}: the type is the tensor's
 * {@link ParamKind.Group}, the layer {@code "h.<i>"} for transformer block i (GPT-2's tensors
 * {@code transformer.h.<i>.*}, Llama's {@code model.layers.<i>.*}), {@code "embed"} for the embedding tables and
 * {@code "head"} for the other tensors outside the blocks (final norm, LM head).
 */
public final class GnsGrouping {
    /** The per-type groups in {@link ParamKind.Group} order, which metrics and checkpoints keep. */
    public static final List<String> TYPES = Arrays.stream(ParamKind.Group.values()).map(ParamKind.Group::key).toList();

    private GnsGrouping() {}

    /** The tensors as the GNS code takes them, each at its own {@link ParamTensor#index()}. */
    public static List<TrackedTensor> tracked(List<ParamTensor> tensors) {
        return tensors.stream().map(t -> tracked(t, t.index())).toList();
    }

    /**
     * A tracker of these tensors, all of a model's or a subset (e.g. the norm layers): they are numbered 0..n-1 in
     * list order, so row i of the arrays it takes belongs to {@code tensors.get(i)}.
     */
    public static GnsTracker tracker(List<ParamTensor> tensors, double alpha) {
        List<TrackedTensor> renumbered = new ArrayList<>(tensors.size());
        for (ParamTensor t : tensors) renumbered.add(tracked(t, renumbered.size()));
        return new GnsTracker(renumbered, TYPES, alpha);
    }

    private static TrackedTensor tracked(ParamTensor t, int index) {
        return new TrackedTensor(index, t.name(), t.kind().group.key(), layer(t), t.kind().isNorm());
    }

    private static String layer(ParamTensor t) {
        if (t.layer() >= 0) return "h." + t.layer();
        return t.kind().group == ParamKind.Group.EMBEDDING ? "embed" : "head";
    }
}
