package gns4j.experiment;

import gns4j.UserError;
import gns4j.data.TokenDataset;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;
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
import java.util.Locale;
import java.util.Map;

/**
 * The comparison of a finished schedule experiment, read back from the run folders: per run the final validation
 * loss, its size, and the steps, tokens and training time to reach the baseline arm's final validation loss of the
 * same seed ({@link TimeToTarget}); the LayerNorm-only vs total GNS ({@link LnVsTotal}); the estimator comparison.
 */
public record ScheduleResults(String header, List<RunRow> runs, List<ArmSummary> arms, String verdict,
                              List<LnRow> lnVsTotal, EstimatorComparison.Result estimators, String baseline) {

    /** One run. reach is null when the run never reached the target; savings are NaN then. */
    public record RunRow(String arm, long seed, double finalValLoss, int steps, long tokens, double trainSeconds,
                         double elapsedSeconds, int finalBatch, int batchChanges, double target,
                         TimeToTarget.Reach reach, double stepSaving, double tokenSaving, double timeSaving) {
        public String run() { return arm + "-seed" + seed; }
    }

    /** Per arm over its seeds: mean final val loss, mean/min time saving, seeds that reached the target. */
    public record ArmSummary(String arm, double meanFinalValLoss, double meanTimeSaving, double minTimeSaving,
                             double meanTokenSaving, int reached, int seeds) {}

    public record LnRow(String run, LnVsTotal stats) {}

    /** Reads every run of {@code cfg} and compares them. */
    public static ScheduleResults analyse(ScheduleExperimentConfig cfg, Map<String, TrainConfig> configs,
                                          EstimatorComparison.Result estimators) {
        List<RunRow> rows = new ArrayList<>();
        List<LnRow> ln = new ArrayList<>();
        for (long seed : cfg.seeds()) {
            RunCurve base = curve(cfg, cfg.baseline(), seed);
            List<RunCurve.Point> baseVal = base.valPoints();
            if (baseVal.isEmpty())
                throw new UserError("baseline run " + cfg.runDir(cfg.baseline(), seed) + " has no validation loss (eval_interval 0 or no val.bin?)");
            double target = baseVal.getLast().valLoss();
            TimeToTarget.Reach baseReach = TimeToTarget.reach(base, target);
            for (String arm : cfg.arms().keySet()) {
                RunCurve c = arm.equals(cfg.baseline()) ? base : curve(cfg, arm, seed);
                List<RunCurve.Point> val = c.valPoints();
                RunCurve.Point last = c.last();
                TimeToTarget.Reach r = TimeToTarget.reach(c, target);
                rows.add(new RunRow(arm, seed, val.isEmpty() ? Double.NaN : val.getLast().valLoss(), last.step(),
                        last.tokens(), last.trainSeconds(), last.elapsedSeconds(), last.batchSize(), c.batchChanges(),
                        target, r,
                        TimeToTarget.savingPercent(r == null ? null : r.steps(), baseReach.steps()),
                        TimeToTarget.savingPercent(r == null ? null : r.tokens(), baseReach.tokens()),
                        TimeToTarget.savingPercent(r == null ? null : r.seconds(), baseReach.seconds())));
                ln.add(new LnRow(arm + "-seed" + seed, LnVsTotal.of(c)));
            }
        }
        List<ArmSummary> arms = new ArrayList<>();
        for (String arm : cfg.arms().keySet()) {
            List<RunRow> mine = rows.stream().filter(r -> r.arm().equals(arm)).toList();
            int reached = (int) mine.stream().filter(r -> r.reach() != null).count();
            double minSaving = reached < mine.size() ? Double.NaN
                    : mine.stream().mapToDouble(RunRow::timeSaving).min().orElse(Double.NaN);
            arms.add(new ArmSummary(arm, mean(mine.stream().mapToDouble(RunRow::finalValLoss).toArray()),
                    mean(mine.stream().filter(r -> r.reach() != null).mapToDouble(RunRow::timeSaving).toArray()),
                    minSaving, mean(mine.stream().filter(r -> r.reach() != null).mapToDouble(RunRow::tokenSaving).toArray()),
                    reached, mine.size()));
        }
        return new ScheduleResults(header(cfg, configs), rows, arms, verdict(arms, cfg.baseline()), ln, estimators,
                cfg.baseline());
    }

    /** The best non-baseline arm by its worst seed, and whether it saves at least 15 % wall-clock in every seed. */
    static String verdict(List<ArmSummary> arms, String baseline) {
        ArmSummary best = null;
        for (ArmSummary a : arms) {
            if (a.arm().equals(baseline)) continue;
            double key = Double.isNaN(a.minTimeSaving()) ? Double.NEGATIVE_INFINITY : a.minTimeSaving();
            double bestKey = best == null ? Double.NaN : Double.isNaN(best.minTimeSaving()) ? Double.NEGATIVE_INFINITY : best.minTimeSaving();
            if (best == null || key > bestKey) best = a;
        }
        if (best == null) return "no arm besides the baseline";
        if (best.reached() < best.seeds())
            return String.format(Locale.ROOT, "No arm reached the %s arm's final validation loss in every seed (best: %s, %d of %d seeds): target of >= 15%% less wall-clock time NOT met.",
                    baseline, best.arm(), best.reached(), best.seeds());
        return String.format(Locale.ROOT, "Best arm: %s, %.1f%% less training time than %s to its final validation loss in its worst seed (mean %.1f%%): target of >= 15%% in all seeds %s.",
                best.arm(), best.minTimeSaving(), baseline, best.meanTimeSaving(), best.minTimeSaving() >= 15 ? "MET" : "NOT met");
    }

    private static RunCurve curve(ScheduleExperimentConfig cfg, String arm, long seed) {
        Path m = cfg.runDir(arm, seed).resolve("metrics.jsonl");
        if (!Files.exists(m)) throw new UserError("missing " + m);
        RunCurve c = RunCurve.read(m);
        if (c.points().isEmpty()) throw new UserError(m + " has no steps");
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
        sb.append("- machine: ").append(machine()).append("; device ").append(first.device().name().toLowerCase(Locale.ROOT)).append('\n');
        sb.append(String.format(Locale.ROOT, "- data: %s (%s tokenizer, vocabulary %d)%n", cfg.dataDir(),
                meta == null ? "?" : meta.tokenizer(), model.vocabSize()));
        sb.append(String.format(Locale.ROOT, "- model: %d layers, %d heads, n_embd %d, block %d: %,d parameters, %,d without the embeddings%n",
                model.nLayer(), model.nHead(), model.nEmbd(), model.blockSize(), layout.totalSize, nonEmbedding));
        sb.append(String.format(Locale.ROOT, "- budget: %,d tokens per run (%.1f per non-embedding parameter, %.1f per parameter); LR %s, peak %.3g, floor %.3g, warmup %,d tokens, horizon %,d tokens%n",
                first.maxTokens(), (double) first.maxTokens() / nonEmbedding, (double) first.maxTokens() / layout.totalSize,
                first.lrDecay().name().toLowerCase(Locale.ROOT), first.learningRate(), first.minLr(), first.warmupTokens(),
                first.lrSchedule().decayTokens()));
        sb.append("- seeds: ").append(cfg.seeds()).append('\n');
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
            sb.append(String.format(Locale.ROOT, "  - `%s`: %s; micro-batch %d; per-example norms %s; eval every %d steps%s%n",
                    e.getKey(), desc, c.microBatchSize(), c.perExampleNorms().name().toLowerCase(Locale.ROOT), c.evalInterval(),
                    e.getKey().equals(cfg.baseline()) ? " (baseline)" : ""));
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

    /** The three tables as Markdown. */
    public String markdown() {
        StringBuilder sb = new StringBuilder("# Batch-size schedules: time to the baseline's validation loss\n\n");
        sb.append(header).append('\n');
        sb.append("## Time to the `").append(baseline).append("` arm's final validation loss\n\n");
        sb.append("Target: the final validation loss of the `").append(baseline).append("` run with the same seed. "
                + "Steps, tokens and training time to reach it are interpolated linearly between the two evaluations "
                + "around the first crossing; training time sums the steps' own durations (no validation passes). "
                + "Saving = 1 - value / the baseline run's own value to the same target.\n\n");
        sb.append("| run | final val loss | steps | tokens | train time (s) | final batch | batch changes | target | steps to target | tokens to target | time to target (s) | step saving | token saving | time saving |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (RunRow r : runs) {
            String notReached = "not reached";
            sb.append(String.format(Locale.ROOT, "| %s | %.4f | %d | %,d | %.1f | %d | %d | %.4f | %s | %s | %s | %s | %s | %s |%n",
                    r.run(), r.finalValLoss(), r.steps(), r.tokens(), r.trainSeconds(), r.finalBatch(), r.batchChanges(), r.target(),
                    r.reach() == null ? notReached : String.format(Locale.ROOT, "%.1f", r.reach().steps()),
                    r.reach() == null ? notReached : String.format(Locale.ROOT, "%,.0f", r.reach().tokens()),
                    r.reach() == null ? notReached : String.format(Locale.ROOT, "%.1f", r.reach().seconds()),
                    pct(r.stepSaving()), pct(r.tokenSaving()), pct(r.timeSaving())));
        }
        sb.append("\n| arm | seeds reaching the target | mean final val loss | mean time saving | worst-seed time saving | mean token saving |\n");
        sb.append("|---|---:|---:|---:|---:|---:|\n");
        for (ArmSummary a : arms)
            sb.append(String.format(Locale.ROOT, "| %s | %d/%d | %.4f | %s | %s | %s |%n", a.arm(), a.reached(), a.seeds(),
                    a.meanFinalValLoss(), pct(a.meanTimeSaving()), a.reached() < a.seeds() ? "not reached in every seed" : pct(a.minTimeSaving()),
                    pct(a.meanTokenSaving())));
        sb.append('\n').append(verdict).append("\n\n");

        sb.append("## LayerNorm-only vs total GNS through training\n\n");
        sb.append("Per run, over the steps where both smoothed estimates are defined and positive: Pearson correlation of "
                + "log GNS_LN with log GNS_total, and the median of GNS_LN / GNS_total. Every step's pair is in "
                + "gns_ln_vs_total.csv.\n\n");
        sb.append("| run | steps | Pearson r (log) | median LN / total |\n|---|---:|---:|---:|\n");
        for (LnRow l : lnVsTotal)
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s |%n", l.run(), l.stats().n(), num(l.stats().pearsonLog(), "%.3f"),
                    num(l.stats().medianRatio(), "%.3f")));
        double[] rs = lnVsTotal.stream().mapToDouble(l -> l.stats().pearsonLog()).filter(Double::isFinite).toArray();
        double[] ratios = lnVsTotal.stream().mapToDouble(l -> l.stats().medianRatio()).filter(Double::isFinite).toArray();
        if (rs.length > 0)
            sb.append(String.format(Locale.ROOT, "%nOver %d runs: Pearson r from %.3f to %.3f; median ratio from %.3f to %.3f.%n",
                    rs.length, min(rs), max(rs), min(ratios), max(ratios)));
        sb.append('\n');

        sb.append("## Estimator quality at equal compute\n\n");
        if (estimators == null) {
            sb.append("Not measured (estimators.batches is 0, or the baseline's first run was reused without estimators.json).\n");
        } else {
            EstimatorComparison.Result e = estimators;
            sb.append(String.format(Locale.ROOT, "Model state: the `%s` arm's first seed at the end of training. The same %d batches of B = %d "
                            + "random sequences (micro-batches of b = %d, %d tokens each, %.1f s) feed all three estimators of B_simple "
                            + "(all parameters, in sequences); the weights do not change in between.%n%n",
                    baseline, e.batches(), e.batchSize(), e.microBatch(), e.blockSize(), e.seconds()));
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
        }
        return sb.toString();
    }

    /** results.csv: one row per run. */
    public String csv() {
        StringBuilder sb = new StringBuilder("arm,seed,final_val_loss,steps,tokens,train_s,elapsed_s,final_batch,batch_changes,"
                + "target_val_loss,reached,steps_to_target,tokens_to_target,train_s_to_target,step_saving_pct,token_saving_pct,time_saving_pct\n");
        for (RunRow r : runs)
            sb.append(String.format(Locale.ROOT, "%s,%d,%s,%d,%d,%.3f,%.3f,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s%n", r.arm(), r.seed(),
                    csvNum(r.finalValLoss()), r.steps(), r.tokens(), r.trainSeconds(), r.elapsedSeconds(), r.finalBatch(),
                    r.batchChanges(), csvNum(r.target()), r.reach() != null,
                    r.reach() == null ? "" : csvNum(r.reach().steps()), r.reach() == null ? "" : csvNum(r.reach().tokens()),
                    r.reach() == null ? "" : csvNum(r.reach().seconds()), csvNum(r.stepSaving()), csvNum(r.tokenSaving()),
                    csvNum(r.timeSaving())));
        return sb.toString();
    }

    /** Writes results.md, results.csv and gns_ln_vs_total.csv into {@code out}. */
    public void write(Path out) {
        try {
            Files.writeString(out.resolve("results.md"), markdown());
            Files.writeString(out.resolve("results.csv"), csv());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** gns_ln_vs_total.csv from the run folders: run, arm, seed, step, tokens, gns_total, gns_ln (empty when undefined). */
    public static void writeLnVsTotalCsv(ScheduleExperimentConfig cfg, Path file) {
        StringBuilder sb = new StringBuilder("run,arm,seed,step,tokens,gns_total,gns_ln\n");
        for (String arm : cfg.arms().keySet())
            for (long seed : cfg.seeds())
                for (RunCurve.Point p : curve(cfg, arm, seed).points())
                    sb.append(arm).append("-seed").append(seed).append(',').append(arm).append(',').append(seed).append(',')
                            .append(p.step()).append(',').append(p.tokens()).append(',')
                            .append(p.gnsTotal() == null ? "" : p.gnsTotal()).append(',')
                            .append(p.gnsLn() == null ? "" : p.gnsLn()).append('\n');
        try {
            Files.writeString(file, sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String pct(double v) { return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", v); }

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

    private static double min(double[] v) { double m = Double.POSITIVE_INFINITY; for (double x : v) m = Math.min(m, x); return m; }

    private static double max(double[] v) { double m = Double.NEGATIVE_INFINITY; for (double x : v) m = Math.max(m, x); return m; }
}
