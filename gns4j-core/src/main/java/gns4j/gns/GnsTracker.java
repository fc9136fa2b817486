package gns4j.gns;

import gns4j.gns.GnsEstimator.Estimate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gradient noise scale of every parameter group, smoothed over optimizer steps.
 *
 * <p>Call {@link #update} once per optimizer step, after all gradient-accumulation micro-batches and before
 * clipping, with per-tensor squared norms (row {@code t} of each array belongs to the tensor whose
 * {@link TrackedTensor#index()} is {@code t}). For each group the tracker sums its tensors' inputs, forms the two
 * {@link GnsEstimator} estimates, and smooths each with its own {@link Ema}; the group's GNS is
 * {@code ema(tr Σ) / ema(|G|²)} (a ratio of smoothed numerators, never the average of noisy ratios), and is
 * absent (null, or missing from a map) before the first update or while {@code ema(|G|²) ≤ 0}.
 *
 * <p>Groups and their ids (the id names the group in {@link #ema(String)} and in {@link Snapshot}s):
 * <ul>
 *   <li>{@code "total"}: all tensors;</li>
 *   <li>{@code "ln"}: all normalisation-layer tensors ({@link TrackedTensor#norm()}: LayerNorm or RMSNorm γ, and β
 *       where present), the paper's LN-GNS;</li>
 *   <li>{@code "type/<type>"}: one per {@link TrackedTensor#type()} that has tensors ("embedding", "attn_qkv", ...),
 *       in the order of the constructor's {@code types};</li>
 *   <li>{@code "layer/<layer>"}: one per {@link TrackedTensor#layer()}, in the order of their first tensors (in
 *       gns4j: {@code "embed"} for the embedding tables, {@code "h.<i>"} for transformer block i, {@code "head"} for
 *       the other tensors outside the blocks);</li>
 *   <li>{@code "tensor/<name>"}: one per tensor, by {@link TrackedTensor#name()}.</li>
 * </ul>
 * With a tied head the token embedding is one tensor; its per-example norms must then be those of the summed
 * gradient of both uses.
 *
 * <p>Not thread-safe.
 */
public final class GnsTracker {

    /** Id of the group of all tensors. */
    public static final String TOTAL = "total";
    /** Id of the group of all normalisation-layer tensors. */
    public static final String LN = "ln";
    private static final String TYPE = "type/", LAYER = "layer/", TENSOR = "tensor/";

    private final int numTensors;
    private final double alpha;
    private final List<String> ids;
    private final Map<String, Integer> position = new LinkedHashMap<>();
    private final int[][] members;
    private final Ema[] gradSq;
    private final Ema[] traceSigma;
    private Estimate rawTotal;
    private Estimate rawLn;

    /**
     * A tracker of the given tensors.
     *
     * @param tensors non-empty, with {@code tensors.get(i).index() == i} and unique names
     * @param types   every {@link TrackedTensor#type()} of the tensors, in the order the per-type groups take (a
     *                type without tensors gets no group), e.g. {@code List.of("embedding", "attn", "mlp", "norm")}
     * @param alpha   EMA weight of the past, in [0, 1)
     * @throws IllegalArgumentException on an empty list, a tensor out of place, a duplicate name or type, a type
     *                                  not in {@code types}, or an α outside [0, 1)
     */
    public GnsTracker(List<TrackedTensor> tensors, List<String> types, double alpha) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("no parameter tensors to track");
        if (new HashSet<>(types).size() != types.size()) throw new IllegalArgumentException("duplicate type in " + types);
        for (int i = 0; i < tensors.size(); i++) {
            TrackedTensor t = tensors.get(i);
            if (t.index() != i)
                throw new IllegalArgumentException("tensor " + t.name() + " has index " + t.index()
                        + " but sits at position " + i);
            if (!types.contains(t.type()))
                throw new IllegalArgumentException("tensor " + t.name() + " has type " + t.type()
                        + ", which is not among the types " + types);
        }
        this.numTensors = tensors.size();
        this.alpha = alpha;

        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        groups.put(TOTAL, new ArrayList<>());
        groups.put(LN, new ArrayList<>());
        for (String type : types)
            for (TrackedTensor t : tensors)
                if (t.type().equals(type)) groups.computeIfAbsent(TYPE + type, k -> new ArrayList<>()).add(t.index());
        for (TrackedTensor t : tensors) {
            groups.get(TOTAL).add(t.index());
            if (t.norm()) groups.get(LN).add(t.index());
            groups.computeIfAbsent(LAYER + t.layer(), k -> new ArrayList<>()).add(t.index());
        }
        for (TrackedTensor t : tensors)
            if (groups.put(TENSOR + t.name(), List.of(t.index())) != null)
                throw new IllegalArgumentException("duplicate tensor name " + t.name());

        ids = List.copyOf(groups.keySet());
        members = new int[ids.size()][];
        gradSq = new Ema[ids.size()];
        traceSigma = new Ema[ids.size()];
        for (int g = 0; g < ids.size(); g++) {
            position.put(ids.get(g), g);
            members[g] = groups.get(ids.get(g)).stream().mapToInt(Integer::intValue).toArray();
            gradSq[g] = new Ema(alpha);
            traceSigma[g] = new Ema(alpha);
        }
    }

    /**
     * Folds in one optimizer step.
     *
     * @param perExampleSqSum per tensor t: Σ_b |g_{b,t}|² over all B examples of the step (all micro-batches),
     *                        where g_b is the gradient of example b's mean token loss
     * @param batchSize       B, the number of examples in the step; 1 is accepted but skipped
     * @param batchGradSq     per tensor t: |G_{B,t}|², G_B = (1/B) Σ_b g_b the accumulated mean gradient
     * @return whether the step was used (false for B = 1, where the estimators are undefined)
     * @throws IllegalArgumentException on arrays of the wrong length, B &lt; 1, or a negative, NaN or infinite
     *                                  entry; the tracker is then left unchanged
     */
    public boolean update(double[] perExampleSqSum, int batchSize, double[] batchGradSq) {
        checkNorms("perExampleSqSum", perExampleSqSum);
        checkNorms("batchGradSq", batchGradSq);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (batchSize == 1) return false;
        Estimate[] est = new Estimate[ids.size()];
        for (int g = 0; g < est.length; g++) {
            double s = 0, gb = 0;
            for (int t : members[g]) {
                s += perExampleSqSum[t];
                gb += batchGradSq[t];
            }
            est[g] = GnsEstimator.estimate(s / batchSize, gb, batchSize);
        }
        for (int g = 0; g < est.length; g++) {
            gradSq[g].update(est[g].gradSq());
            traceSigma[g].update(est[g].traceSigma());
        }
        rawTotal = est[position.get(TOTAL)];
        rawLn = est[position.get(LN)];
        return true;
    }

    private void checkNorms(String what, double[] a) {
        if (a == null || a.length != numTensors)
            throw new IllegalArgumentException(what + " must have one entry per tensor (" + numTensors + "), got "
                    + (a == null ? "null" : a.length));
        for (int t = 0; t < a.length; t++)
            GnsEstimator.checkSquaredNorm(what + "[" + t + "]", a[t]);
    }

    /** {@return the smoothed GNS of all parameters, or null while undefined} */
    public Double gnsTotal() {
        return gns(TOTAL);
    }

    /** {@return the smoothed GNS of the normalisation-layer parameters (the paper's LN-GNS), or null while undefined} */
    public Double gnsLn() {
        return gns(LN);
    }

    /**
     * {@return the smoothed GNS per type group, keyed by {@link TrackedTensor#type()}; groups without a value are
     * absent}
     */
    public Map<String, Double> gnsByType() {
        return gnsByPrefix(TYPE);
    }

    /** {@return the smoothed GNS per layer, keyed by {@link TrackedTensor#layer()}; layers without a value are absent} */
    public Map<String, Double> gnsByLayer() {
        return gnsByPrefix(LAYER);
    }

    /** {@return the smoothed GNS per tensor, keyed by tensor name; tensors without a value are absent} */
    public Map<String, Double> gnsByTensor() {
        return gnsByPrefix(TENSOR);
    }

    /**
     * The smoothed (bias-corrected EMA) |G|² and tr(Σ) of a group; {@code bSimple()} of the result is the group's
     * GNS.
     *
     * @param groupId one of {@link #groupIds()}
     * @return the smoothed estimates, null before the first update
     * @throws IllegalArgumentException for an unknown id
     */
    public Estimate ema(String groupId) {
        Integer g = position.get(groupId);
        if (g == null) throw new IllegalArgumentException("unknown GNS group " + groupId);
        Double gs = gradSq[g].value();
        return gs == null ? null : new Estimate(gs, traceSigma[g].value());
    }

    /**
     * {@return {@link #ema(String)} of {@code "total"}: the smoothed |G|² and tr(Σ) of all parameters} Null before the
     * first update.
     */
    public Estimate emaTotal() {
        return ema(TOTAL);
    }

    /** {@return the unsmoothed estimates of all parameters from the last used step, null before any} */
    public Estimate rawTotal() {
        return rawTotal;
    }

    /** {@return the unsmoothed estimates of the normalisation-layer parameters from the last used step, null before any} */
    public Estimate rawLn() {
        return rawLn;
    }

    /** {@return all group ids, in the order described in the class comment} */
    public List<String> groupIds() {
        return ids;
    }

    private Double gns(String id) {
        Estimate e = ema(id);
        return e == null ? null : e.bSimple();
    }

    private Map<String, Double> gnsByPrefix(String prefix) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String id : ids) {
            if (!id.startsWith(prefix)) continue;
            Double v = gns(id);
            if (v != null) out.put(id.substring(prefix.length()), v);
        }
        return Collections.unmodifiableMap(out);
    }

    /** {@return the EMA state of every group, for checkpoints} Unsmoothed last-step estimates are not part of it. */
    public Snapshot snapshot() {
        List<Ema.State> g = new ArrayList<>(), s = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            g.add(gradSq[i].state());
            s.add(traceSigma[i].state());
        }
        return new Snapshot(alpha, ids, g, s);
    }

    /**
     * Continues from a saved state; {@link #rawTotal()} and {@link #rawLn()} are null until the next update.
     *
     * @param snap a {@link #snapshot()} of a tracker of the same groups and α
     * @throws IllegalArgumentException if the snapshot was taken with another α or another set of groups
     */
    public void restore(Snapshot snap) {
        if (snap.alpha() != alpha || !snap.groupIds().equals(ids))
            throw new IllegalArgumentException("GNS snapshot does not match this tracker (alpha " + snap.alpha()
                    + " vs " + alpha + ", " + snap.groupIds().size() + " vs " + ids.size() + " groups)");
        for (int i = 0; i < ids.size(); i++) {
            gradSq[i].restore(snap.gradSq().get(i));
            traceSigma[i].restore(snap.traceSigma().get(i));
        }
        rawTotal = null;
        rawLn = null;
    }

    /**
     * Saved EMA state: per group id, the |G|² and tr(Σ) averages. A plain record, serialisable as JSON.
     *
     * @param alpha      the tracker's α
     * @param groupIds   its {@link #groupIds()}
     * @param gradSq     per group, the state of the |G|² average
     * @param traceSigma per group, the state of the tr(Σ) average
     */
    public record Snapshot(double alpha, List<String> groupIds, List<Ema.State> gradSq, List<Ema.State> traceSigma) {
        /** Copies the lists. @throws IllegalArgumentException unless there is one state of each per group */
        public Snapshot {
            groupIds = List.copyOf(groupIds);
            gradSq = List.copyOf(gradSq);
            traceSigma = List.copyOf(traceSigma);
            if (gradSq.size() != groupIds.size() || traceSigma.size() != groupIds.size())
                throw new IllegalArgumentException("GNS snapshot needs one state per group");
        }
    }
}
