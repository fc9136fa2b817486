package gns4j.train;

import gns4j.UserError;
import gns4j.backend.NormTracking;
import gns4j.checkpoint.TrainingState;
import gns4j.gns.Ema;
import gns4j.gns.GnsEstimator;
import gns4j.gns.GnsTracker;
import gns4j.model.GnsGrouping;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import gns4j.parallel.DistributedGnsStats;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The run's gradient noise scale: the tracker over the tensors with per-example norms (all, the norm layers, or
 * none), fed once per good step with the step's Σ_b|g_b|² and |G_B|² per tensor; and, data parallel, the DDP-style
 * two-batch estimate from the ranks' local gradients, smoothed alike.
 */
final class StepGns {
    private final NormTracking tracking;
    private final List<ParamTensor> tracked;
    private final GnsTracker tracker;
    private final Ema ddpGradSq, ddpTrace;

    StepGns(ParameterLayout layout, NormTracking tracking, double alpha) {
        this.tracking = tracking;
        this.tracked = tracking.tracked(layout.tensors);
        this.tracker = tracked.isEmpty() ? null : GnsGrouping.tracker(tracked, alpha);
        this.ddpGradSq = new Ema(alpha);
        this.ddpTrace = new Ema(alpha);
    }

    /** The tracked tensors' Σ_b|g_b|² of the step, or null when nothing is tracked. */
    double[] exampleSq(StepStats stats) { return tracker == null ? null : select(stats.sqSumPerTensor, tracked); }

    /** One good step of B examples; returns the GNS the batch schedule follows (LN or total), or null. */
    Double update(double[] exampleSq, int B, double[] gradSq, DistributedGnsStats.Sums ranks, TrainConfig.AdaptiveSource source) {
        if (ranks != null) {
            GnsEstimator.Estimate ddp = ranks.result(gradSq).twoBatchEstimate();
            if (ddp != null) {
                ddpGradSq.update(ddp.gradSq());
                ddpTrace.update(ddp.traceSigma());
            }
        }
        if (tracker == null) return null;
        tracker.update(exampleSq, B, select(gradSq, tracked));
        return source == TrainConfig.AdaptiveSource.TOTAL && tracking == NormTracking.ALL ? tracker.gnsTotal() : tracker.gnsLn();
    }

    /** The total GNS, defined only when every tensor is tracked. */
    Double total() { return tracker != null && tracking == NormTracking.ALL ? tracker.gnsTotal() : null; }

    Double ln() { return tracker != null ? tracker.gnsLn() : null; }

    Map<String, Double> byType() { return tracker != null ? tracker.gnsByType() : Map.of(); }

    Map<String, Double> byLayer() { return tracker != null && tracking == NormTracking.ALL ? tracker.gnsByLayer() : Map.of(); }

    /** The smoothed DDP-style GNS, null until defined. */
    Double ddp() { return ddpTrace.value() == null ? null : GnsEstimator.bSimple(ddpTrace.value(), ddpGradSq.value()); }

    GnsTracker.Snapshot snapshot() { return tracker != null ? tracker.snapshot() : null; }

    void restore(TrainingState s, String where) {
        if (tracker == null) return;
        if (s.gns() == null) throw new UserError("checkpoint " + where + " has no GNS state");
        try {
            tracker.restore(s.gns());
        } catch (IllegalArgumentException e) {
            throw new UserError("checkpoint " + where + ": " + e.getMessage(), e);
        }
    }

    /**
     * The examples of a step in batch order: where each window starts in train.bin and its per-example gradient
     * norms over all tensors (null unless per_example_norms=all) and over the norm layers (null when tracking is off).
     * The backend reports no per-example loss, so none is recorded.
     */
    List<Map<String, Object>> examples(long[] offsets, int B, StepStats stats) {
        List<Map<String, Object>> out = new ArrayList<>(B);
        for (int b = 0; b < B; b++) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("offset", offsets[b]);
            e.put("norm_total", tracking == NormTracking.ALL ? Math.sqrt(stats.exampleTotalSq[b]) : null);
            e.put("norm_ln", tracking != NormTracking.OFF ? Math.sqrt(stats.exampleLnSq[b]) : null);
            out.add(e);
        }
        return out;
    }

    /** Per-example norms of the step over all tensors, null unless all are tracked. */
    double[] normsTotal(StepStats stats) {
        return tracking == NormTracking.ALL ? StepStats.norms(stats.exampleTotalSq, stats.examples) : null;
    }

    /** Per-example norms of the step over the norm layers, null when nothing is tracked. */
    double[] normsLn(StepStats stats) {
        return tracking != NormTracking.OFF ? StepStats.norms(stats.exampleLnSq, stats.examples) : null;
    }

    private static double[] select(double[] perTensor, List<ParamTensor> tensors) {
        double[] out = new double[tensors.size()];
        for (int i = 0; i < out.length; i++) out[i] = perTensor[tensors.get(i).index()];
        return out;
    }
}
