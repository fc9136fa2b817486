package gns4j.experiment;

import gns4j.UserError;
import gns4j.data.TokenDataset;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;
import gns4j.train.RunDir;
import gns4j.train.TrainConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
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
            String fastest = null;
            TimeToTarget.Reach fastestReach = null;
            for (var e : curves.entrySet()) {
                RunCurve c = e.getValue().get(seed);
                if (!e.getKey().startsWith(ScheduleExperimentConfig.FIXED) || c == null || bestArm == null) continue;
                TimeToTarget.Reach r = TimeToTarget.reach(c, target);
                if (r != null && (fastestReach == null || r.seconds() < fastestReach.seconds())) {
                    fastest = e.getKey();
                    fastestReach = r;
                }
            }
            // The seed's own target: its best fixed final loss, and the fastest fixed run to it.
            double seedTarget = curves.entrySet().stream().filter(e -> e.getKey().startsWith(ScheduleExperimentConfig.FIXED))
                    .map(e -> e.getValue().get(seed)).filter(java.util.Objects::nonNull).mapToDouble(ScheduleResults::finalVal)
                    .min().orElse(Double.NaN);
            Double seedBase = null;
            for (var e : curves.entrySet()) {
                RunCurve c = e.getValue().get(seed);
                if (!e.getKey().startsWith(ScheduleExperimentConfig.FIXED) || c == null) continue;
                TimeToTarget.Reach r = TimeToTarget.reach(c, seedTarget);
                if (r != null && (seedBase == null || r.seconds() < seedBase)) seedBase = r.seconds();
            }
            for (var e : curves.entrySet()) {
                RunCurve c = e.getValue().get(seed);
                if (c == null) continue;
                TimeToTarget.Reach r = bestArm == null ? null : TimeToTarget.reach(c, target);
                TimeToTarget.Reach own = Double.isNaN(seedTarget) ? null : TimeToTarget.reach(c, seedTarget);
                RunCurve.Point last = c.last();
                Double baseTokens = fastestReach == null ? null : fastestReach.tokens();
                Double baseSeconds = fastestReach == null ? null : fastestReach.seconds();
                rows.add(new RunRow(e.getKey(), seed, finalVal(c), last.step(), last.tokens(), last.trainSeconds(),
                        last.elapsedSeconds(), last.batchSize(), c.batchChanges(), r, fastest,
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
        return new ScheduleResults(header(cfg, cfg.trainConfigs(armMap, null, List.of())), throughput, rows, arms, bestArm,
                target, verdict(cfg, arms, bestArm), ln, estimators);
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
                + " (mean %s).", best.arm(), pct(best.minSeedSaving()), pct(best.meanSeedSaving()));
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

    private static String header(ScheduleExperimentConfig cfg, Map<String, TrainConfig> configs) {
        TrainConfig first = configs.values().iterator().next();
        var meta = TokenDataset.readMeta(cfg.dataDir());
        ModelConfig model = first.modelConfig(meta == null ? 0 : meta.vocabSize());
        ParameterLayout layout = new ParameterLayout(model);
        long embedding = layout.wte.size() + layout.wpe.size();
        long nonEmbedding = layout.totalSize - embedding;
        StringBuilder sb = new StringBuilder();
        sb.append("- date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        sb.append("- analysed on: ").append(machine()).append("; runs on device ").append(first.device().name().toLowerCase(Locale.ROOT)).append('\n');
        sb.append(String.format(Locale.ROOT, "- data: %s (%s tokenizer, vocabulary %d)%n", cfg.dataDir(),
                meta == null ? "?" : meta.tokenizer(), model.vocabSize()));
        sb.append(String.format(Locale.ROOT, "- model: %d layers, %d heads, n_embd %d, block %d: %,d parameters, %,d without the embeddings%n",
                model.nLayer(), model.nHead(), model.nEmbd(), model.blockSize(), layout.totalSize, nonEmbedding));
        sb.append(String.format(Locale.ROOT, "- budget: %,d tokens per run (%.1f per non-embedding parameter, %.1f per parameter); LR %s, peak %.3g, floor %.3g, warmup %,d tokens, horizon %,d tokens%n",
                first.maxTokens(), (double) first.maxTokens() / nonEmbedding, (double) first.maxTokens() / layout.totalSize,
                first.lrDecay().name().toLowerCase(Locale.ROOT), first.learningRate(), first.minLr(), first.warmupTokens(),
                first.lrSchedule().decayTokens()));
        sb.append("- seeds: ").append(cfg.seeds()).append('\n');
        sb.append(String.format(Locale.ROOT, "- validation: the same %d windows of %d tokens spread over all of val.bin for every run, every %s%n",
                first.evalSequences(), first.blockSize(), first.evalIntervalTokens() > 0
                        ? String.format(Locale.ROOT, "%,d tokens", first.evalIntervalTokens()) : first.evalInterval() + " steps"));
        sb.append("- arms:\n");
        for (var e : configs.entrySet()) {
            TrainConfig c = e.getValue();
            String desc = switch (c.batchSchedule()) {
                case FIXED -> "fixed batch " + c.batchSize();
                case LINEAR_RAMP -> String.format(Locale.ROOT, "linear ramp %d -> %d sequences over %,d tokens", c.batchSizeStart(), c.batchSize(), c.rampTokens());
                case ADAPTIVE -> String.format(Locale.ROOT, "adaptive: %s x %s GNS, in [%d, %d], start %d, every >= %d steps%s",
                        fmtG(c.adaptiveK()), c.adaptiveSource().name().toLowerCase(Locale.ROOT), c.batchSizeMinResolved(), c.batchSize(),
                        c.batchSizeStart(), c.adaptiveInterval(), c.adaptiveAllowDecrease() ? ", may decrease" : ", non-decreasing");
            };
            sb.append(String.format(Locale.ROOT, "  - `%s`: %s, peak LR %.3g; micro-batch %s; per-example norms %s%n",
                    e.getKey(), desc, c.learningRate(), c.autoMicroBatch() ? "= batch" : Integer.toString(c.microBatchSize()),
                    c.perExampleNorms().name().toLowerCase(Locale.ROOT)));
        }
        return sb.toString();
    }

    static String machine() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        String cpu = "";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("");
        } catch (IOException | RuntimeException e) {
            // not Linux: leave it out
        }
        return String.format(Locale.ROOT, "%s, %d cores available%s, %s %s, Java %s", host,
                Runtime.getRuntime().availableProcessors(), cpu.isEmpty() ? "" : " (" + cpu + ")",
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
    }

    /** The tables as Markdown. */
    public String markdown() {
        StringBuilder sb = new StringBuilder("# Batch-size schedules against the best fixed batch\n\n");
        sb.append(header).append('\n');
        if (throughput != null)
            sb.append("## What a bigger batch buys on this machine\n\nTraining throughput of this model and step, micro-batch = batch "
                    + "(median of the timed steps of a short run):\n\n").append(throughput.markdown()).append('\n');
        sb.append("## Time to L*, the best fixed batch's validation loss\n\n");
        sb.append(bestFixed == null ? "No fixed-batch arm has finished every seed yet.\n\n" : String.format(Locale.ROOT,
                "L* = %.4f, the mean final validation loss of `%s`, the lowest of every fixed-batch arm that finished every seed. "
                        + "Time to L* is interpolated between evaluations and sums the steps' own durations (validation passes "
                        + "excluded). Saving = 1 - T(L*) / T(L*) of the fastest fixed-batch run of the same seed (named per row).%n%n",
                target, bestFixed));
        sb.append("| run | final val loss | steps | tokens | train time (s) | final batch | batch changes | tokens to L* | time to L* (s) | fastest fixed run | token saving | time saving | seed's best fixed loss | time saving to it |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
        for (RunRow r : runs) {
            String no = "not reached";
            sb.append(String.format(Locale.ROOT, "| %s | %.4f | %d | %,d | %.1f | %d | %d | %s | %s | %s | %s | %s | %.4f | %s |%n",
                    r.run(), r.finalValLoss(), r.steps(), r.tokens(), r.trainSeconds(), r.finalBatch(), r.batchChanges(),
                    r.reach() == null ? no : String.format(Locale.ROOT, "%,.0f", r.reach().tokens()),
                    r.reach() == null ? no : String.format(Locale.ROOT, "%.1f", r.reach().seconds()),
                    r.fastestFixed() == null ? "none reached L*" : r.fastestFixed(), pct(r.tokenSaving()), pct(r.timeSaving()),
                    r.seedTarget(), pct(r.seedSaving())));
        }
        sb.append("\n| arm | seeds | final val loss (mean ± std over seeds) | mean train time (s) | seeds reaching L* | mean time saving | worst-seed time saving | mean / worst saving to the seed's best fixed loss |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (ArmSummary a : arms)
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.4f ± %s | %.1f | %d | %s | %s | %s / %s |%n", a.arm(), a.seeds(),
                    a.meanFinalValLoss(), num(a.stdFinalValLoss(), "%.4f"), a.meanTrainSeconds(), a.reached(),
                    pct(a.meanTimeSaving()), Double.isNaN(a.minTimeSaving()) ? "n/a" : pct(a.minTimeSaving()),
                    pct(a.meanSeedSaving()), pct(a.minSeedSaving())));
        sb.append('\n').append(verdict).append("\n\n");
        sb.append(sweepCost()).append('\n');
        sb.append(lossLadder()).append('\n');

        sb.append("## LayerNorm-only vs total GNS through training\n\n");
        sb.append("Per run, over the steps where both smoothed estimates are defined and positive: Pearson r of log GNS_LN with "
                + "log GNS_total (high for any two growing series), r of their changes (Δ log over " + LnVsTotal.STRIDE
                + " steps: the trend removed, what a controller relies on), and the ratio GNS_LN / GNS_total: median, "
                + "5th-95th percentile, median over the first and the last tenth of the steps. Every step's pair is in "
                + "gns_ln_vs_total.csv.\n\n");
        sb.append("| run | steps | r (log) | r (changes) | median ratio | ratio 5-95% | ratio, first tenth | ratio, last tenth |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (LnRow l : lnVsTotal) {
            LnVsTotal t = l.stats();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s-%s | %s | %s |%n", l.run(), t.n(), num(t.pearsonLog(), "%.3f"),
                    num(t.pearsonDelta(), "%.3f"), num(t.medianRatio(), "%.3f"), num(t.ratioP05(), "%.2f"), num(t.ratioP95(), "%.2f"),
                    num(t.ratioEarly(), "%.3f"), num(t.ratioLate(), "%.3f")));
        }
        double[] rs = lnVsTotal.stream().mapToDouble(l -> l.stats().pearsonLog()).filter(Double::isFinite).toArray();
        double[] ds = lnVsTotal.stream().mapToDouble(l -> l.stats().pearsonDelta()).filter(Double::isFinite).toArray();
        if (rs.length > 0 && ds.length > 0)
            sb.append(String.format(Locale.ROOT, "%nOver %d runs: r (log) from %.3f to %.3f; r (changes) from %.3f to %.3f.%n",
                    rs.length, min(rs), max(rs), min(ds), max(ds)));
        sb.append('\n');
        sb.append(estimatorsMarkdown());
        return sb.toString();
    }

    /** Loss levels above L* at which {@link #lossLadder} compares the arms. */
    static final double[] LADDER = {0.50, 0.30, 0.20, 0.10, 0.05, 0.02, 0.0};

    /**
     * Where along the run a schedule gains or loses: for losses L* + d, the training time of each schedule run to
     * reach it against the fastest fixed run of the same seed (mean saving over the seeds where both reach it).
     */
    private String lossLadder() {
        if (bestFixed == null) return "";
        List<String> schedules = arms.stream().map(ArmSummary::arm).filter(a -> !a.startsWith(ScheduleExperimentConfig.FIXED)).toList();
        if (schedules.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("Time to higher losses: mean saving against the fastest fixed run of the same seed"
                + " (seeds where both reach it / seeds run).\n\n| loss |");
        for (String a : schedules) sb.append(' ').append(a).append(" |");
        sb.append("\n|---:|").append("---:|".repeat(schedules.size())).append('\n');
        for (double d : LADDER) {
            double level = target + d;
            sb.append(String.format(Locale.ROOT, "| L* + %.2f = %.3f |", d, level));
            for (String a : schedules) {
                List<Double> savings = new ArrayList<>();
                long seeds = runs.stream().filter(r -> r.arm().equals(a)).count();
                for (RunRow r : runs) {
                    if (!r.arm().equals(a)) continue;
                    TimeToTarget.Reach mine = TimeToTarget.reach(r.curve(), level);
                    Double fixed = runs.stream().filter(f -> f.seed() == r.seed() && f.arm().startsWith(ScheduleExperimentConfig.FIXED))
                            .map(f -> TimeToTarget.reach(f.curve(), level)).filter(java.util.Objects::nonNull)
                            .map(TimeToTarget.Reach::seconds).min(Double::compare).orElse(null);
                    if (mine != null && fixed != null) savings.add(TimeToTarget.savingPercent(mine.seconds(), fixed));
                }
                sb.append(String.format(Locale.ROOT, " %s (%d/%d) |",
                        pct(mean(savings.stream().mapToDouble(Double::doubleValue).toArray())), savings.size(), seeds));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** What finding the best fixed batch cost: the sweep's training time per seed, beside one run of each schedule. */
    private String sweepCost() {
        List<ArmSummary> sweep = arms.stream().filter(a -> a.arm().matches(ScheduleExperimentConfig.FIXED + "\\d+")).toList();
        if (sweep.isEmpty()) return "";
        double sweepSeconds = sweep.stream().mapToDouble(ArmSummary::meanTrainSeconds).sum();
        List<ArmSummary> lr = arms.stream().filter(a -> a.arm().startsWith(ScheduleExperimentConfig.FIXED) && !sweep.contains(a)).toList();
        double tuning = sweepSeconds + lr.stream().mapToDouble(ArmSummary::meanTrainSeconds).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "Finding the best fixed batch: the sweep of %d batch sizes takes "
                + "%.1f s of training per seed%s; one run of each schedule:", sweep.size(), sweepSeconds,
                lr.isEmpty() ? "" : String.format(Locale.ROOT, " (%.1f s with the %d LR arms)", tuning, lr.size())));
        for (ArmSummary a : arms)
            if (!a.arm().startsWith(ScheduleExperimentConfig.FIXED))
                sb.append(String.format(Locale.ROOT, " %s %.1f s (%.1f%% of the sweep),", a.arm(), a.meanTrainSeconds(),
                        100 * a.meanTrainSeconds() / sweepSeconds));
        return sb.substring(0, sb.length() - 1) + ".\n";
    }

    private String estimatorsMarkdown() {
        StringBuilder sb = new StringBuilder("## Estimator quality at equal compute\n\n");
        if (estimators == null) return sb.append("Not measured (estimators.batches is 0, or their arm's run was reused without estimators.json).\n").toString();
        EstimatorComparison.Result e = estimators;
        sb.append(String.format(Locale.ROOT, "Model state: a fixed-batch arm's first seed at the end of training. The same %d batches of B = %d "
                        + "random sequences (micro-batches of b = %d, %d tokens each, %.1f s) feed all three estimators of B_simple "
                        + "(all parameters, in sequences); the weights do not change in between.%n%n",
                e.batches(), e.batchSize(), e.microBatch(), e.blockSize(), e.seconds()));
        for (EstimatorComparison.Row r : e.rows())
            sb.append("- **").append(r.estimator().label).append("**: ").append(r.estimator().uses).append('\n');
        sb.append(String.format(Locale.ROOT, "%nEstimate: ratio of the means of the per-sample tr(Σ) and |G|² estimates over all samples, "
                        + "with a 90%% BCa bootstrap interval over samples. Spread: the same ratio in %d disjoint groups of consecutive "
                        + "batches (each a repeat at 1/%d of the compute); std and variance across the groups.%n%n",
                e.rows().getFirst().groups(), e.rows().getFirst().groups()));
        sb.append("| estimator | samples | B_simple | 90% interval | interval width / estimate | group mean | group std | group variance |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (EstimatorComparison.Row r : e.rows()) {
            var g = r.all();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | [%s, %s] | %s | %s | %s | %s |%n", r.estimator().label, r.samples(),
                    g.gns() == null ? "undefined" : fmtG(g.gns()), fmtG(g.low()), fmtG(g.high()), num(g.relativeWidth(), "%.3f"),
                    num(r.groupMean(), "%.4g"), num(r.groupStd(), "%.4g"), num(r.groupVariance(), "%.4g")));
        }
        return sb.toString();
    }

    /** results.csv: one row per finished run. */
    public String csv() {
        StringBuilder sb = new StringBuilder("arm,seed,final_val_loss,steps,tokens,train_s,elapsed_s,final_batch,batch_changes,"
                + "target_val_loss,reached,tokens_to_target,train_s_to_target,fastest_fixed,token_saving_pct,time_saving_pct,"
                + "seed_target_val_loss,seed_time_saving_pct\n");
        for (RunRow r : runs)
            sb.append(String.format(Locale.ROOT, "%s,%d,%s,%d,%d,%.3f,%.3f,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s%n", r.arm(), r.seed(),
                    csvNum(r.finalValLoss()), r.steps(), r.tokens(), r.trainSeconds(), r.elapsedSeconds(), r.finalBatch(),
                    r.batchChanges(), csvNum(target), r.reach() != null,
                    r.reach() == null ? "" : csvNum(r.reach().tokens()), r.reach() == null ? "" : csvNum(r.reach().seconds()),
                    r.fastestFixed() == null ? "" : r.fastestFixed(), csvNum(r.tokenSaving()), csvNum(r.timeSaving()),
                    csvNum(r.seedTarget()), csvNum(r.seedSaving())));
        return sb.toString();
    }

    /** curves.csv: every evaluation of every finished run, from which every number of results.md can be recomputed. */
    public String curvesCsv() {
        StringBuilder sb = new StringBuilder("arm,seed,step,tokens,train_s,batch_size,micro_batch,lr,val_loss,gns_total,gns_ln\n");
        for (RunRow r : runs)
            for (RunCurve.Point p : r.curve().valPoints())
                sb.append(String.format(Locale.ROOT, "%s,%d,%d,%d,%.4f,%d,%d,%s,%s,%s,%s%n", r.arm(), r.seed(), p.step(), p.tokens(),
                        p.trainSeconds(), p.batchSize(), p.microBatch(), csvNum(p.lr()), csvNum(p.valLoss()),
                        p.gnsTotal() == null ? "" : csvNum(p.gnsTotal()), p.gnsLn() == null ? "" : csvNum(p.gnsLn())));
        return sb.toString();
    }

    /** gns_ln_vs_total.csv: every step of every finished run with both estimates (empty where undefined). */
    public String lnVsTotalCsv() {
        StringBuilder sb = new StringBuilder("run,arm,seed,step,tokens,gns_total,gns_ln\n");
        for (RunRow r : runs)
            for (RunCurve.Point p : r.curve().points())
                sb.append(r.run()).append(',').append(r.arm()).append(',').append(r.seed()).append(',').append(p.step()).append(',')
                        .append(p.tokens()).append(',').append(p.gnsTotal() == null ? "" : p.gnsTotal()).append(',')
                        .append(p.gnsLn() == null ? "" : p.gnsLn()).append('\n');
        return sb.toString();
    }

    /** Writes results.md, results.csv, curves.csv and gns_ln_vs_total.csv into {@code out}. */
    public void write(Path out) {
        try {
            Files.writeString(out.resolve("results.md"), markdown());
            Files.writeString(out.resolve("results.csv"), csv());
            Files.writeString(out.resolve("curves.csv"), curvesCsv());
            Files.writeString(out.resolve("gns_ln_vs_total.csv"), lnVsTotalCsv());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String pct(double v) { return Double.isNaN(v) || Double.isInfinite(v) ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", v); }

    private static String num(double v, String fmt) { return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "n/a"; }

    private static String fmtG(double v) {
        if (Double.isInfinite(v)) return v > 0 ? "+inf" : "-inf";
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String csvNum(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : ""; }

    private static double mean(double[] v) {
        if (v.length == 0) return Double.NaN;
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    private static double std(double[] v) {
        if (v.length < 2) return Double.NaN;
        double m = mean(v), s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / (v.length - 1));
    }

    private static double min(double[] v) { double m = Double.POSITIVE_INFINITY; for (double x : v) m = Math.min(m, x); return m; }

    private static double max(double[] v) { double m = Double.NEGATIVE_INFINITY; for (double x : v) m = Math.max(m, x); return m; }
}
