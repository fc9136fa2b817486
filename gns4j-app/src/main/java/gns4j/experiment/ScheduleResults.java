package gns4j.experiment;

import gns4j.UserError;
import gns4j.train.RunDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The comparison of a schedule experiment, read back from its finished run folders.
 *
 * <p>The target L* is the lowest mean (over seeds) final validation loss of any fixed-batch arm (the sweep and the LR
 * arms) that finished every seed: the strongest fixed baseline. For every run: the training time to reach L*
 * ({@link TimeToTarget}: interpolated between evaluations, validation passes excluded). Saving of a run =
 * 1 − T(L*) / the fastest fixed-batch run of the same seed to L*. Also the cost of finding the best fixed batch (the
 * sweep's summed training time) beside one run of each schedule, the throughput curve, LayerNorm-only vs total GNS
 * ({@link LnVsTotal}) and the estimator comparison.
 */
public record ScheduleResults(String header, ThroughputCurve throughput, List<RunRow> runs, List<ArmSummary> arms,
                              String bestFixed, double target, String verdict, List<LnRow> lnVsTotal,
                              EstimatorComparison.Result estimators) {

    /**
     * One finished run. reach is null when the run never reached L*; savings are NaN then, and when no fixed run of
     * the seed reached L*. seedSaving: the same against the seed's own best fixed final loss (always reached by that
     * fixed run, so defined for every run that reaches it).
     */
    public record RunRow(String arm, long seed, double finalValLoss, int steps, long tokens, double trainSeconds,
                         double elapsedSeconds, int finalBatch, int batchChanges, TimeToTarget.Reach reach,
                         String fastestFixed, double tokenSaving, double timeSaving, double seedTarget,
                         double seedSaving, RunCurve curve) {
        public String run() { return arm + "-seed" + seed; }
    }

    /** Per arm over its finished seeds. */
    public record ArmSummary(String arm, int seeds, double meanFinalValLoss, double stdFinalValLoss, double meanTrainSeconds,
                             int reached, double meanTimeSaving, double minTimeSaving, double meanSeedSaving,
                             double minSeedSaving) {}

    public record LnRow(String run, LnVsTotal stats) {}

    /** The best fixed batch of the sweep at the base LR (lowest mean final val loss), or null until every seed is done. */
    static Integer bestFixedBatch(ScheduleExperimentConfig cfg) {
        Integer best = null;
        double bestLoss = Double.POSITIVE_INFINITY;
        for (int b : cfg.fixedBatches()) {
            double sum = 0;
            for (long seed : cfg.seeds()) {
                RunCurve c = finishedCurve(cfg, ScheduleExperimentConfig.fixedArm(b), seed);
                if (c == null || c.valPoints().isEmpty()) return null;
                sum += c.valPoints().getLast().valLoss();
            }
            if (sum / cfg.seeds().size() < bestLoss) {
                bestLoss = sum / cfg.seeds().size();
                best = b;
            }
        }
        return best;
    }

    /** Reads every finished run of {@code cfg} and compares them; arms without finished runs are left out. */
    public static ScheduleResults analyse(ScheduleExperimentConfig cfg, ThroughputCurve throughput,
                                          EstimatorComparison.Result estimators) {
        Map<String, Map<String, String>> armMap = new LinkedHashMap<>(cfg.plannedArms());
        Integer best = bestFixedBatch(cfg);
        if (best != null) armMap.putAll(cfg.lrArms(best));
        Map<String, Map<Long, RunCurve>> curves = new LinkedHashMap<>();
        for (String arm : armMap.keySet())
            for (long seed : cfg.seeds()) {
                RunCurve c = finishedCurve(cfg, arm, seed);
                if (c != null) curves.computeIfAbsent(arm, a -> new LinkedHashMap<>()).put(seed, c);
            }
        // L*: the best fixed arm that finished every seed.
        String bestArm = null;
        double target = Double.NaN;
        for (var e : curves.entrySet()) {
            if (!e.getKey().startsWith(ScheduleExperimentConfig.FIXED) || e.getValue().size() < cfg.seeds().size()) continue;
            double m = mean(e.getValue().values().stream().mapToDouble(ScheduleResults::finalVal).toArray());
            if (bestArm == null || m < target) {
                bestArm = e.getKey();
                target = m;
            }
        }
        List<RunRow> rows = new ArrayList<>();
        for (long seed : cfg.seeds()) {
            // The fastest fixed run of this seed to L*.
            FixedReach fastest = bestArm == null ? null : fastestFixed(curves, seed, target);
            TimeToTarget.Reach fastestReach = fastest == null ? null : fastest.reach();
            // The seed's own target: its best fixed final loss, and the fastest fixed run to it.
            double seedTarget = curves.entrySet().stream().filter(e -> e.getKey().startsWith(ScheduleExperimentConfig.FIXED))
                    .map(e -> e.getValue().get(seed)).filter(java.util.Objects::nonNull).mapToDouble(ScheduleResults::finalVal)
                    .min().orElse(Double.NaN);
            FixedReach seedFastest = fastestFixed(curves, seed, seedTarget);
            Double seedBase = seedFastest == null ? null : seedFastest.reach().seconds();
            for (var e : curves.entrySet()) {
                RunCurve c = e.getValue().get(seed);
                if (c == null) continue;
                TimeToTarget.Reach r = bestArm == null ? null : TimeToTarget.reach(c, target);
                TimeToTarget.Reach own = Double.isNaN(seedTarget) ? null : TimeToTarget.reach(c, seedTarget);
                RunCurve.Point last = c.last();
                Double baseTokens = fastestReach == null ? null : fastestReach.tokens();
                Double baseSeconds = fastestReach == null ? null : fastestReach.seconds();
                rows.add(new RunRow(e.getKey(), seed, finalVal(c), last.step(), last.tokens(), last.trainSeconds(),
                        last.elapsedSeconds(), last.batchSize(), c.batchChanges(), r, fastest == null ? null : fastest.arm(),
                        TimeToTarget.savingPercent(r == null ? null : r.tokens(), baseTokens),
                        TimeToTarget.savingPercent(r == null ? null : r.seconds(), baseSeconds), seedTarget,
                        TimeToTarget.savingPercent(own == null ? null : own.seconds(), seedBase), c));
            }
        }
        List<ArmSummary> arms = new ArrayList<>();
        for (String arm : curves.keySet()) {
            List<RunRow> mine = rows.stream().filter(r -> r.arm().equals(arm)).toList();
            double[] finals = mine.stream().mapToDouble(RunRow::finalValLoss).toArray();
            int reached = (int) mine.stream().filter(r -> r.reach() != null).count();
            arms.add(new ArmSummary(arm, mine.size(), mean(finals), std(finals),
                    mean(mine.stream().mapToDouble(RunRow::trainSeconds).toArray()), reached,
                    mean(mine.stream().filter(r -> r.reach() != null).mapToDouble(RunRow::timeSaving).toArray()),
                    reached < cfg.seeds().size() ? Double.NaN : mine.stream().mapToDouble(RunRow::timeSaving).min().orElse(Double.NaN),
                    mean(mine.stream().mapToDouble(RunRow::seedSaving).filter(Double::isFinite).toArray()),
                    mine.size() < cfg.seeds().size() ? Double.NaN : mine.stream().mapToDouble(RunRow::seedSaving)
                            .map(v -> Double.isNaN(v) ? Double.NEGATIVE_INFINITY : v).min().orElse(Double.NaN)));
        }
        List<LnRow> ln = rows.stream().map(r -> new LnRow(r.run(), LnVsTotal.of(r.curve()))).toList();
        return new ScheduleResults(ScheduleTables.header(cfg, cfg.trainConfigs(armMap, null, List.of())), throughput, rows, arms, bestArm,
                target, verdict(cfg, arms, bestArm), ln, estimators);
    }

    /** A fixed arm and when its run reached a target. */
    private record FixedReach(String arm, TimeToTarget.Reach reach) {}

    /** The fixed run of {@code seed} that reached {@code target} soonest (training seconds), or null when none did. */
    private static FixedReach fastestFixed(Map<String, Map<Long, RunCurve>> curves, long seed, double target) {
        FixedReach best = null;
        for (var e : curves.entrySet()) {
            RunCurve c = e.getValue().get(seed);
            if (!e.getKey().startsWith(ScheduleExperimentConfig.FIXED) || c == null) continue;
            TimeToTarget.Reach r = TimeToTarget.reach(c, target);
            if (r != null && (best == null || r.seconds() < best.reach().seconds())) best = new FixedReach(e.getKey(), r);
        }
        return best;
    }

    private static double finalVal(RunCurve c) {
        List<RunCurve.Point> v = c.valPoints();
        return v.isEmpty() ? Double.NaN : v.getLast().valLoss();
    }

    /**
     * The schedule arm with the best worst-seed saving against the fastest fixed run, whether it saves >= 15 % in
     * every seed, and the same against each seed's own best fixed loss (defined even where no fixed run reached L*).
     */
    static String verdict(ScheduleExperimentConfig cfg, List<ArmSummary> arms, String bestFixed) {
        if (bestFixed == null) return "No fixed-batch arm has finished every seed yet: no target, no comparison.";
        ArmSummary best = arms.stream().filter(a -> !a.arm().startsWith(ScheduleExperimentConfig.FIXED))
                .min(BEST_FIRST).orElse(null);
        if (best == null) return "No schedule arm has finished yet.";
        if (best.seeds() < cfg.seeds().size())
            return String.format(Locale.ROOT, "Incomplete: the best schedule arm so far, %s, finished %d of %d seeds.",
                    best.arm(), best.seeds(), cfg.seeds().size());
        String perSeed = String.format(Locale.ROOT, " Against each seed's own best fixed final loss: %s saves %s in its worst seed"
                + " (mean %s).", best.arm(), ScheduleTables.pct(best.minSeedSaving()), ScheduleTables.pct(best.meanSeedSaving()));
        if (Double.isNaN(best.minTimeSaving()))
            return String.format(Locale.ROOT, "%s reached L* (the mean final validation loss of %s) in %d of %d seeds; in the others it or"
                    + " every fixed run stayed above L*, so the saving is not defined in every seed: target of >= 15%% less wall-clock"
                    + " time than the fastest fixed batch NOT shown.", best.arm(), bestFixed, best.reached(), best.seeds()) + perSeed;
        return String.format(Locale.ROOT, "Best schedule arm: %s, %.1f%% less training time to L* than the fastest fixed-batch run"
                        + " of the same seed, in its worst seed (mean %.1f%%): target of >= 15%% in every seed %s.",
                best.arm(), best.minTimeSaving(), best.meanTimeSaving(), best.minTimeSaving() >= 15 ? "MET" : "NOT met") + perSeed;
    }

    /** Most seeds reaching L* first, then the best worst-seed saving, then the lowest mean final loss. */
    private static final java.util.Comparator<ArmSummary> BEST_FIRST = java.util.Comparator
            .comparingInt((ArmSummary a) -> -a.reached())
            .thenComparingDouble(a -> Double.isNaN(a.minTimeSaving()) ? Double.POSITIVE_INFINITY : -a.minTimeSaving())
            .thenComparingDouble(ArmSummary::meanFinalValLoss);

    /** A run's curve when it finished (summary.json), else null. */
    static RunCurve finishedCurve(ScheduleExperimentConfig cfg, String arm, long seed) {
        RunDir dir = new RunDir(cfg.runDir(arm, seed));
        if (!dir.finished()) return null;
        RunCurve c = RunCurve.read(dir.metrics());
        if (c.points().isEmpty()) throw new UserError(dir.metrics() + " has no steps");
        return c;
    }

    /** The tables as Markdown ({@link ScheduleTables}). */
    public String markdown() { return new ScheduleTables(this).markdown(); }

    /** Writes results.md, results.csv, curves.csv and gns_ln_vs_total.csv into {@code out}. */
    public void write(Path out) { new ScheduleTables(this).write(out); }

    static double mean(double[] v) {
        if (v.length == 0) return Double.NaN;
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    static double std(double[] v) {
        if (v.length < 2) return Double.NaN;
        double m = mean(v), s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / (v.length - 1));
    }

    static double min(double[] v) { double m = Double.POSITIVE_INFINITY; for (double x : v) m = Math.min(m, x); return m; }

    static double max(double[] v) { double m = Double.NEGATIVE_INFINITY; for (double x : v) m = Math.max(m, x); return m; }
}
