package gns4j.gns;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link GnsMeasurement}s of every parameter group at once — all tensors ({@code "total"}), the normalisation
 * layers ({@code "ln"}), each type ({@code "type/<key>"}), each layer ({@code "layer/<name>"}) and each tensor
 * ({@code "tensor/<name>"}), with the same ids as {@link GnsTracker}. Feed it one batch at a time with the same
 * per-tensor arrays the tracker takes; unlike the tracker it keeps every batch, unsmoothed, so that it can put an
 * interval on the result. Not thread-safe.
 */
public final class GroupedGnsMeasurement {
    // A tracker with α = 0 keeps exactly the last step: its "EMA" of a group is that batch's own estimate, so the
    // grouping rules live in one place.
    private final GnsTracker lastBatch;
    private final Map<String, GnsMeasurement> groups = new LinkedHashMap<>();

    /**
     * Measurements of the groups of {@code tensors}.
     *
     * @param tensors non-empty, {@code tensors.get(i).index() == i}, as {@link GnsTracker} takes them
     * @param types   every type of the tensors, in the order of the per-type groups, as {@link GnsTracker} takes them
     */
    public GroupedGnsMeasurement(List<TrackedTensor> tensors, List<String> types) {
        lastBatch = new GnsTracker(tensors, types, 0.0);
        for (String id : lastBatch.groupIds()) groups.put(id, new GnsMeasurement());
    }

    /**
     * Adds one batch.
     *
     * @param perExampleSqSum per tensor t: Σ_b |g_{b,t}|² over the B examples (all micro-batches of the batch)
     * @param batchSize       B ≥ 2
     * @param batchGradSq     per tensor t: |G_{B,t}|², G_B = (1/B) Σ_b g_b
     * @throws IllegalArgumentException on B &lt; 2, arrays of the wrong length or bad entries (nothing is added)
     */
    public void add(double[] perExampleSqSum, int batchSize, double[] batchGradSq) {
        if (batchSize < 2) throw new IllegalArgumentException("batch size must be >= 2 to measure GNS, got " + batchSize);
        lastBatch.update(perExampleSqSum, batchSize, batchGradSq);
        for (Map.Entry<String, GnsMeasurement> e : groups.entrySet())
            e.getValue().add(batchSize, lastBatch.ema(e.getKey()));
    }

    /** {@return all group ids, in {@link GnsTracker#groupIds()} order} */
    public List<String> groupIds() { return lastBatch.groupIds(); }

    /**
     * The measurement of one group, e.g. {@code group("ln")}.
     *
     * @param id one of {@link #groupIds()}
     * @return the group's batches so far
     * @throws IllegalArgumentException for an unknown id
     */
    public GnsMeasurement group(String id) {
        GnsMeasurement m = groups.get(id);
        if (m == null) throw new IllegalArgumentException("unknown GNS group " + id);
        return m;
    }

    /** {@return every group's measurement by id, in {@link #groupIds()} order} */
    public Map<String, GnsMeasurement> byId() { return Collections.unmodifiableMap(groups); }

    /** {@return the number of batches added so far} */
    public int batches() { return groups.get(GnsTracker.TOTAL).batches(); }

    /**
     * Every group's result, with the same bootstrap resamples for all groups.
     *
     * @param confidence nominal coverage in (0, 1)
     * @param method     bootstrap (BCa) or jackknife over batches
     * @param seed       seed of the bootstrap resampling (unused by the jackknife)
     * @return per group id, in {@link #groupIds()} order, its {@link GnsMeasurement#result(double, IntervalMethod, long)}
     * @throws IllegalArgumentException with fewer than 2 batches or a confidence outside (0, 1)
     */
    public Map<String, GnsResult> results(double confidence, IntervalMethod method, long seed) {
        Map<String, GnsResult> out = new LinkedHashMap<>();
        for (Map.Entry<String, GnsMeasurement> e : groups.entrySet())
            out.put(e.getKey(), e.getValue().result(confidence, method, seed));
        return out;
    }
}
