package gns4j.experiment;

import java.util.List;

/**
 * When a run first reaches a target validation loss. The validation loss is known only on evaluation steps; between
 * two of them the curve is taken as linear, and the crossing's position between them (a fraction f of the way) is
 * applied to the step count, the tokens and the training time alike (all three grow monotonically with the step).
 */
public final class TimeToTarget {
    private TimeToTarget() {}

    /** Where the target was first reached, interpolated; steps may be fractional. */
    public record Reach(double steps, double tokens, double seconds) {}

    /** One evaluation: its step, tokens, training seconds and validation loss. */
    public record Eval(double step, double tokens, double seconds, double valLoss) {
        static Eval of(RunCurve.Point p) { return new Eval(p.step(), p.tokens(), p.trainSeconds(), p.valLoss()); }
    }

    /** The first crossing of {@code target} in a run's validation points, or null if never reached. */
    public static Reach reach(RunCurve run, double target) {
        return reach(run.valPoints().stream().map(Eval::of).toList(), target);
    }

    /**
     * The first crossing of {@code target}: the first evaluation i with loss &le; target, interpolated linearly from
     * evaluation i−1 (or evaluation 0 itself when it is already there); null when no evaluation reaches it.
     */
    public static Reach reach(List<Eval> evals, double target) {
        for (int i = 0; i < evals.size(); i++) {
            Eval e = evals.get(i);
            if (!(e.valLoss() <= target)) continue;
            if (i == 0) return new Reach(e.step(), e.tokens(), e.seconds());
            Eval p = evals.get(i - 1);
            double f = (p.valLoss() - target) / (p.valLoss() - e.valLoss()); // p above target, e at or below: 0 < f <= 1
            return new Reach(lerp(p.step(), e.step(), f), lerp(p.tokens(), e.tokens(), f), lerp(p.seconds(), e.seconds(), f));
        }
        return null;
    }

    /** Saving in % of {@code value} against {@code baseline}: 100·(1 − value/baseline); NaN if either is missing. */
    public static double savingPercent(Double value, Double baseline) {
        if (value == null || baseline == null || !(baseline > 0)) return Double.NaN;
        return 100 * (1 - value / baseline);
    }

    private static double lerp(double a, double b, double f) { return a + f * (b - a); }
}
