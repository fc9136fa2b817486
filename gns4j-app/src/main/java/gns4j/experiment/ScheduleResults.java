package gns4j.experiment;

import gns4j.UserError;
import gns4j.data.TokenDataset;
import gns4j.model.ParameterLayout;
import gns4j.schedule.DataParallelProjection;
import gns4j.train.RunDir;
import gns4j.train.TrainConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The comparison of a schedule experiment, read back from its finished run folders.
 *
 * <p>The target L* is the lowest mean (over seeds) final validation loss of any fixed-batch arm (the sweep and the LR
 * arms) that finished every seed: the strongest fixed baseline. Each run's way to L*, and to each rung L* + d of the
 * loss ladder ({@link #LADDER}), is counted in several {@link Currency currencies}: optimizer steps, tokens, measured
 * training seconds (validation passes excluded, {@link TimeToTarget}) and, projected from the throughput curve, the
 * seconds the run's own batch sequence would take on N data-parallel GPUs ({@link DataParallelProjection}). The saving
 * of a run in a currency is 1 − cost / the cost of the fixed-batch run of the same seed that is cheapest in that
 * currency; a schedule arm's mean and worst saving are over its seeds.
 */
public record ScheduleResults(String header, ThroughputCurve throughput, List<Long> seeds, List<RunRow> runs, String bestFixed, double target,
                              List<Currency> currencies, List<Level> levels, String verdict, List<LnRow> lnVsTotal,
                              EstimatorComparison.Result estimators, Projection projection) {

    /** Loss levels above L* of the ladder: where along the run a schedule gains or loses (0 is L* itself). */
    static final double[] LADDER = {0.50, 0.30, 0.20, 0.10, 0.05, 0.02, 0.0};

    /** GPU counts every experiment projects to; the command line may add others. */
    public static final List<Integer> DEFAULT_GPUS = List.of(1, 8, 64);

    /**
     * The default all-reduce bus bandwidth of the projection, bytes/s: 200 GB/s, the mean of the two values that the
     * 2-GPU runs of docs/multi-gpu.md (2x H100 80GB HBM3, NCCL 2.28.3, 2026-11-25, `bench gpu --gpus 2`, all-reduce
     * after backward) imply: 2-GPU step time minus 1-GPU step time for the fp32 gradient of 111,086,592 parameters
     * (160 GB/s without and 245 GB/s with per-example norms).
     */
    public static final double DEFAULT_BUS_BYTES_PER_S = 200e9;

    /** What the projection was asked for: the GPU counts and the bus bandwidth. */
    public record ProjectionSettings(List<Integer> gpus, double busBytesPerS) {
        public ProjectionSettings {
            gpus = gpus.stream().distinct().sorted().toList();
            for (int n : gpus) if (n < 1) throw new UserError("--project-gpus takes GPU counts >= 1, got " + n);
            if (!(busBytesPerS > 0) || Double.isInfinite(busBytesPerS))
                throw new UserError("--bus-gbps must be a finite number > 0, got " + busBytesPerS / 1e9);
        }

        public static ProjectionSettings defaults() { return new ProjectionSettings(DEFAULT_GPUS, DEFAULT_BUS_BYTES_PER_S); }
    }

    /**
     * The projection used, with its inputs, or none when there is no throughput curve. fromRuns: whether its curve is
     * the fixed runs' own rates ({@link #curve}) rather than the short-run measurement.
     */
    public record Projection(DataParallelProjection model, ProjectionSettings settings, long parameters, boolean fromRuns) {}

    /**
     * The throughput curve the projection and the goodput arms use: the rate the sweep's fixed runs at the base LR
     * trained at (their tokens over their training seconds, mean over the finished seeds) once every batch of the sweep
     * has a finished run, since whole runs measure the rate of training itself; until then the short-run
     * measurement {@code measured} (null when there is none).
     */
    static ThroughputCurve curve(ScheduleExperimentConfig cfg, ThroughputCurve measured) {
        List<ThroughputCurve.Point> points = new ArrayList<>();
        for (int b : cfg.fixedBatches().stream().sorted().toList()) {
            List<Double> rates = new ArrayList<>();
            for (long seed : cfg.seeds()) {
                RunCurve c = finishedCurve(cfg, ScheduleExperimentConfig.fixedArm(b), seed);
                if (c != null) rates.add(c.last().tokens() / c.last().trainSeconds());
            }
            if (rates.isEmpty()) return measured;
            points.add(new ThroughputCurve.Point(b, b, mean(rates.stream().mapToDouble(Double::doubleValue).toArray())));
        }
        return new ThroughputCurve(points);
    }

    /** One finished run; batches[i] is the batch of step i (0-based); device: what it trained on ("" if unrecorded). */
    public record RunRow(String arm, long seed, double finalValLoss, int steps, long tokens, double trainSeconds,
                         double elapsedSeconds, int finalBatch, int batchChanges, RunCurve curve, int[] batches, String device) {
        public String run() { return arm + "-seed" + seed; }

        /** The tok/s the run trained at: its tokens over its training seconds. */
        public double trainedTokPerS() { return tokens / trainSeconds; }

        public boolean fixed() { return arm.startsWith(ScheduleExperimentConfig.FIXED); }
    }

    /** How a run's way to a loss is counted. gpus: the projection's N (PROJECTED only). */
    public record Currency(Kind kind, int gpus) {
        public enum Kind { STEPS, TOKENS, SECONDS, PROJECTED }

        /** The column heading: what is counted, projected ones labelled as such. */
        public String label() {
            return switch (kind) {
                case STEPS -> "steps";
                case TOKENS -> "tokens";
                case SECONDS -> "train time (s, measured)";
                case PROJECTED -> gpus + (gpus == 1 ? " GPU" : " GPUs") + " (s, projection)";
            };
        }

        /** A short name for CSV files. */
        public String key() { return kind == Kind.PROJECTED ? "projected_s_" + gpus + "gpu" : kind.name().toLowerCase(Locale.ROOT); }
    }

    /** A run's arrival at a level: the interpolated reach and its cost in each currency; reach null when never. */
    public record Arrival(RunRow run, TimeToTarget.Reach reach, double[] costs) {}

    /** One rung: its loss and every run's arrival there. */
    public record Level(double delta, double loss, List<Arrival> arrivals) {
        public String name() { return delta == 0 ? "L*" : String.format(Locale.ROOT, "L* + %.2f", delta); }
    }

    /** A saving against the cheapest fixed run of the same seed in one currency; NaN (and fixed null) when undefined. */
    public record Saving(String fixed, double fixedCost, double percent) {}

    /** A schedule arm's savings in one currency at one level: per seed (config order), mean and worst over seeds. */
    public record ArmSaving(String arm, double[] perSeed, double mean, double worst, int defined) {}

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
                                          EstimatorComparison.Result estimators, ProjectionSettings settings) {
        Map<String, Map<String, String>> armMap = new LinkedHashMap<>(cfg.plannedArms());
        Integer best = bestFixedBatch(cfg);
        if (best != null) armMap.putAll(cfg.lrArms(best));
        Map<String, TrainConfig> configs = cfg.trainConfigs(armMap, null, List.of());
        List<RunRow> rows = new ArrayList<>();
        for (long seed : cfg.seeds())
            for (String arm : armMap.keySet()) {
                RunCurve c = finishedCurve(cfg, arm, seed);
                if (c != null) rows.add(row(arm, seed, c, new RunDir(cfg.runDir(arm, seed)).trainedOn()));
            }
        // L*: the best fixed arm that finished every seed.
        String bestArm = null;
        double target = Double.NaN;
        for (String arm : armMap.keySet()) {
            if (!arm.startsWith(ScheduleExperimentConfig.FIXED)) continue;
            double[] finals = rows.stream().filter(r -> r.arm().equals(arm)).mapToDouble(RunRow::finalValLoss).toArray();
            if (finals.length < cfg.seeds().size()) continue;
            if (bestArm == null || mean(finals) < target) {
                bestArm = arm;
                target = mean(finals);
            }
        }
        ThroughputCurve used = curve(cfg, throughput);
        Projection projection = used == null ? null : projectionFor(cfg, configs.values().iterator().next(), used, used != throughput, settings);
        List<Currency> currencies = new ArrayList<>(List.of(new Currency(Currency.Kind.STEPS, 0),
                new Currency(Currency.Kind.TOKENS, 0), new Currency(Currency.Kind.SECONDS, 0)));
        if (projection != null) for (int n : settings.gpus()) currencies.add(new Currency(Currency.Kind.PROJECTED, n));
        List<Level> levels = new ArrayList<>();
        if (bestArm != null)
            for (double d : LADDER) {
                double loss = target + d;
                List<Arrival> arrivals = new ArrayList<>();
                for (RunRow r : rows) {
                    TimeToTarget.Reach reach = TimeToTarget.reach(r.curve(), loss);
                    double[] costs = new double[currencies.size()];
                    for (int i = 0; i < costs.length; i++) costs[i] = reach == null ? Double.NaN : cost(currencies.get(i), r, reach, projection);
                    arrivals.add(new Arrival(r, reach, costs));
                }
                levels.add(new Level(d, loss, arrivals));
            }
        List<LnRow> ln = rows.stream().map(r -> new LnRow(r.run(), LnVsTotal.of(r.curve()))).toList();
        ScheduleResults partial = new ScheduleResults(ScheduleHeader.of(cfg, configs), throughput, cfg.seeds(), List.copyOf(rows), bestArm,
                target, List.copyOf(currencies), List.copyOf(levels), "", ln, estimators, projection);
        return partial.withVerdict(verdict(partial));
    }

    private ScheduleResults withVerdict(String v) {
        return new ScheduleResults(header, throughput, seeds, runs, bestFixed, target, currencies, levels, v, lnVsTotal, estimators, projection);
    }

    private static RunRow row(String arm, long seed, RunCurve c, String device) {
        RunCurve.Point last = c.last();
        // metrics.jsonl has a line per step; should one be missing, its step takes the batch of the next line.
        int[] batches = new int[last.step()];
        int from = 0;
        for (RunCurve.Point p : c.points()) {
            Arrays.fill(batches, from, p.step(), p.batchSize());
            from = p.step();
        }
        return new RunRow(arm, seed, finalVal(c), last.step(), last.tokens(), last.trainSeconds(), last.elapsedSeconds(),
                last.batchSize(), c.batchChanges(), c, batches, device);
    }

    private static double cost(Currency c, RunRow r, TimeToTarget.Reach reach, Projection p) {
        return switch (c.kind()) {
            case STEPS -> reach.steps();
            case TOKENS -> reach.tokens();
            case SECONDS -> reach.seconds();
            case PROJECTED -> p.model().runSeconds(r.batches(), reach.steps(), c.gpus());
        };
    }

    /** The projection of this experiment's model: its gradient bytes, its embeddings' share, the config's overlap. */
    static Projection projectionFor(ScheduleExperimentConfig cfg, TrainConfig first, ThroughputCurve curve, boolean fromRuns,
                                    ProjectionSettings s) {
        var meta = TokenDataset.readMeta(cfg.dataDir());
        ParameterLayout layout = new ParameterLayout(first.model().modelConfig(meta == null ? 0 : meta.vocabSize()));
        long embeddings = layout.wte.size() + (layout.wpe == null ? 0 : layout.wpe.size());
        DataParallelProjection model = new DataParallelProjection(curve.asThroughput(), first.model().blockSize(),
                4L * layout.totalSize, 4L * embeddings, s.busBytesPerS(), first.dataParallel().gradOverlap());
        return new Projection(model, s, layout.totalSize, fromRuns);
    }

    /**
     * The saving of {@code a}'s run at level {@code lv} in currency {@code c} against the fixed run of the same seed
     * that is cheapest there.
     */
    public Saving saving(Level lv, Arrival a, int c) {
        Arrival cheapest = null;
        for (Arrival f : lv.arrivals())
            if (f.run().fixed() && f.run().seed() == a.run().seed() && f.reach() != null
                    && (cheapest == null || f.costs()[c] < cheapest.costs()[c])) cheapest = f;
        if (cheapest == null) return new Saving(null, Double.NaN, Double.NaN);
        return new Saving(cheapest.run().arm(), cheapest.costs()[c], TimeToTarget.savingPercent(
                a.reach() == null ? null : a.costs()[c], cheapest.costs()[c]));
    }

    /** The schedule arms (not fixed-...), in run order. */
    public List<String> scheduleArms() {
        return runs.stream().filter(r -> !r.fixed()).map(RunRow::arm).distinct().toList();
    }

    /** Every arm, in run order. */
    public List<String> allArms() { return runs.stream().map(RunRow::arm).distinct().toList(); }

    /** {@code arm}'s savings at {@code lv} in currency {@code c}: per seed of the config, mean over defined, worst. */
    public ArmSaving armSaving(String arm, Level lv, int c) {
        double[] per = new double[seeds.size()];
        Arrays.fill(per, Double.NaN);
        for (Arrival a : lv.arrivals())
            if (a.run().arm().equals(arm)) per[seeds.indexOf(a.run().seed())] = saving(lv, a, c).percent();
        double[] defined = Arrays.stream(per).filter(Double::isFinite).toArray();
        // The worst is only known when every seed has a defined saving.
        return new ArmSaving(arm, per, mean(defined), defined.length == per.length ? min(defined) : Double.NaN, defined.length);
    }

    /** The level L* itself, or null when there is no target. */
    public Level atTarget() { return levels.isEmpty() ? null : levels.getLast(); }

    /** The index of the measured-seconds currency. */
    static int secondsIndex(List<Currency> currencies) {
        for (int i = 0; i < currencies.size(); i++) if (currencies.get(i).kind() == Currency.Kind.SECONDS) return i;
        throw new IllegalStateException("no seconds currency");
    }

    private static double finalVal(RunCurve c) {
        List<RunCurve.Point> v = c.valPoints();
        return v.isEmpty() ? Double.NaN : v.getLast().valLoss();
    }

    /**
     * The schedule arm with the best worst-seed saving in measured training time to L*, whether it saves >= 15 % in
     * every seed, and its savings in steps, tokens and the projections.
     */
    static String verdict(ScheduleResults r) {
        if (r.bestFixed() == null) return "No fixed-batch arm has finished every seed yet: no target, no comparison.";
        Level lv = r.atTarget();
        int t = secondsIndex(r.currencies());
        List<Long> seeds = r.seeds();
        ArmSaving best = null;
        for (String arm : r.scheduleArms()) {
            ArmSaving s = r.armSaving(arm, lv, t);
            if (best == null || BEST_FIRST.compare(s, best) < 0) best = s;
        }
        if (best == null) return "No schedule arm has finished yet.";
        String arm = best.arm();
        long runs = r.runs().stream().filter(x -> x.arm().equals(arm)).count();
        if (runs < seeds.size())
            return String.format(Locale.ROOT, "Incomplete: the best schedule arm so far, %s, finished %d of %d seeds.", arm, runs, seeds.size());
        if (best.defined() == 0)
            return String.format(Locale.ROOT, "No schedule arm has a saving to L* (the mean final validation loss of %s) in any seed: in"
                    + " each, the schedule run or every fixed run stayed above L*. Target of >= 15%% less training time than the fastest"
                    + " fixed run NOT shown.", r.bestFixed());
        StringBuilder sb = new StringBuilder();
        if (Double.isNaN(best.worst()))
            sb.append(String.format(Locale.ROOT, "%s has a time saving to L* (the mean final validation loss of %s) in %d of %d seeds; in the"
                    + " others it or every fixed run stayed above L*: target of >= 15%% less training time than the fastest fixed"
                    + " run NOT shown.", arm, r.bestFixed(), best.defined(), seeds.size()));
        else
            sb.append(String.format(Locale.ROOT, "Best schedule arm: %s, %s less training time to L* than the fastest fixed-batch run"
                            + " of the same seed in its worst seed (mean %s): target of >= 15%% in every seed %s.", arm,
                    ScheduleTables.pct(best.worst()), ScheduleTables.pct(best.mean()), best.worst() >= 15 ? "MET" : "NOT met"));
        sb.append(" Its savings in the other currencies (mean / worst seed):");
        for (int c = 0; c < r.currencies().size(); c++) {
            if (c == t) continue;
            ArmSaving s = r.armSaving(arm, lv, c);
            sb.append(String.format(Locale.ROOT, " %s %s / %s;", r.currencies().get(c).label(), ScheduleTables.pct(s.mean()),
                    ScheduleTables.pct(s.worst())));
        }
        return sb.substring(0, sb.length() - 1) + ".";
    }

    /** Most seeds with a saving first, then the best worst-seed saving, then the best mean. */
    private static final java.util.Comparator<ArmSaving> BEST_FIRST = java.util.Comparator
            .comparingInt((ArmSaving a) -> -a.defined())
            .thenComparingDouble(a -> Double.isNaN(a.worst()) ? Double.POSITIVE_INFINITY : -a.worst())
            .thenComparingDouble(a -> Double.isNaN(a.mean()) ? Double.POSITIVE_INFINITY : -a.mean());

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

    /** Writes results.md, results.csv, savings.csv, curves.csv and gns_ln_vs_total.csv into {@code out}. */
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
