package gns4j.experiment;

import gns4j.CpuInfo;
import gns4j.data.TokenDataset;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;
import gns4j.experiment.ScheduleResults.ArmSummary;
import gns4j.experiment.ScheduleResults.LnRow;
import gns4j.experiment.ScheduleResults.RunRow;
import gns4j.train.BatchSettings;
import gns4j.train.OptimizerSettings;
import gns4j.train.RunSettings;
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

/** The written form of {@link ScheduleResults}: results.md, results.csv, curves.csv and gns_ln_vs_total.csv. */
final class ScheduleTables {
    private final ScheduleResults results;

    ScheduleTables(ScheduleResults results) { this.results = results; }

    static String header(ScheduleExperimentConfig cfg, Map<String, TrainConfig> configs) {
        TrainConfig first = configs.values().iterator().next();
        var meta = TokenDataset.readMeta(cfg.dataDir());
        ModelConfig model = first.model().modelConfig(meta == null ? 0 : meta.vocabSize());
        ParameterLayout layout = new ParameterLayout(model);
        long embedding = layout.wte.size() + (layout.wpe == null ? 0 : layout.wpe.size()); // Llama: no position table
        long nonEmbedding = layout.totalSize - embedding;
        StringBuilder sb = new StringBuilder();
        sb.append("- date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        RunSettings run = first.run();
        OptimizerSettings opt = first.optimizer();
        sb.append("- analysed on: ").append(machine()).append("; runs on device ")
                .append(run.device().name().toLowerCase(Locale.ROOT)).append('\n');
        sb.append(String.format(Locale.ROOT, "- data: %s (%s tokenizer, vocabulary %d)%n", cfg.dataDir(),
                meta == null ? "?" : meta.tokenizer(), model.vocabSize()));
        sb.append(String.format(Locale.ROOT, "- model: %d layers, %d heads, n_embd %d, block %d: %,d parameters, %,d without the embeddings%n",
                model.nLayer(), model.nHead(), model.nEmbd(), model.blockSize(), layout.totalSize, nonEmbedding));
        sb.append(String.format(Locale.ROOT, "- budget: %,d tokens per run (%.1f per non-embedding parameter, %.1f per parameter); LR %s, peak %.3g, floor %.3g, warmup %,d tokens, horizon %,d tokens%n",
                run.maxTokens(), (double) run.maxTokens() / nonEmbedding, (double) run.maxTokens() / layout.totalSize,
                opt.lrDecay().name().toLowerCase(Locale.ROOT), opt.learningRate(), opt.minLr(), opt.warmupTokens(),
                first.lrSchedule().decayTokens()));
        sb.append("- seeds: ").append(cfg.seeds()).append('\n');
        sb.append(String.format(Locale.ROOT, "- validation: the same %d windows of %d tokens spread over all of val.bin for every run, every %s%n",
                run.evalSequences(), first.model().blockSize(), run.evalIntervalTokens() > 0
                        ? String.format(Locale.ROOT, "%,d tokens", run.evalIntervalTokens()) : run.evalInterval() + " steps"));
        sb.append("- arms:\n");
        for (var e : configs.entrySet()) {
            TrainConfig c = e.getValue();
            BatchSettings b = c.batch();
            String desc = switch (b.batchSchedule()) {
                case FIXED -> "fixed batch " + b.batchSize();
                case LINEAR_RAMP -> String.format(Locale.ROOT, "linear ramp %d -> %d sequences over %,d tokens",
                        b.batchSizeStart(), b.batchSize(), b.rampTokens());
                case ADAPTIVE -> String.format(Locale.ROOT, "adaptive: %s x %s GNS, in [%d, %d], start %d, every >= %d steps%s",
                        fmtG(b.adaptiveK()), b.adaptiveSource().name().toLowerCase(Locale.ROOT), b.minResolved(), b.batchSize(),
                        b.batchSizeStart(), b.adaptiveInterval(), b.adaptiveAllowDecrease() ? ", may decrease" : ", non-decreasing");
            };
            double lrExponent = c.optimizer().lrBatchExponent();
            sb.append(String.format(Locale.ROOT, "  - `%s`: %s, peak LR %.3g%s; micro-batch %s; per-example norms %s%n",
                    e.getKey(), desc, c.optimizer().learningRate(),
                    lrExponent > 0 ? " x (batch / " + b.first() + ")^" + fmtG(lrExponent) : "",
                    b.autoMicroBatch() ? "= batch" : Integer.toString(b.microBatchSize()),
                    c.gns().perExampleNorms().name().toLowerCase(Locale.ROOT)));
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
        String cpu = CpuInfo.model();
        return String.format(Locale.ROOT, "%s, %d cores available%s, %s %s, Java %s", host,
                Runtime.getRuntime().availableProcessors(), cpu.isEmpty() ? "" : " (" + cpu + ")",
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
    }

    /** The tables as Markdown. */
    public String markdown() {
        StringBuilder sb = new StringBuilder("# Batch-size schedules against the best fixed batch\n\n");
        sb.append(results.header()).append('\n');
        if (results.throughput() != null)
            sb.append("## What a bigger batch buys on this machine\n\nTraining throughput of this model and step, micro-batch = batch "
                    + "(median of the timed steps of a short run):\n\n").append(results.throughput().markdown()).append('\n');
        sb.append("## Time to L*, the best fixed batch's validation loss\n\n");
        sb.append(results.bestFixed() == null ? "No fixed-batch arm has finished every seed yet.\n\n" : String.format(Locale.ROOT,
                "L* = %.4f, the mean final validation loss of `%s`, the lowest of every fixed-batch arm that finished every seed. "
                        + "Time to L* is interpolated between evaluations and sums the steps' own durations (validation passes "
                        + "excluded). Saving = 1 - T(L*) / T(L*) of the fastest fixed-batch run of the same seed (named per row).%n%n",
                results.target(), results.bestFixed()));
        sb.append("| run | final val loss | steps | tokens | train time (s) | final batch | batch changes | tokens to L* | time to L* (s) | fastest fixed run | token saving | time saving | seed's best fixed loss | time saving to it |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
        for (RunRow r : results.runs()) {
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
        for (ArmSummary a : results.arms())
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.4f ± %s | %.1f | %d | %s | %s | %s / %s |%n", a.arm(), a.seeds(),
                    a.meanFinalValLoss(), num(a.stdFinalValLoss(), "%.4f"), a.meanTrainSeconds(), a.reached(),
                    pct(a.meanTimeSaving()), Double.isNaN(a.minTimeSaving()) ? "n/a" : pct(a.minTimeSaving()),
                    pct(a.meanSeedSaving()), pct(a.minSeedSaving())));
        sb.append('\n').append(results.verdict()).append("\n\n");
        sb.append(sweepCost()).append('\n');
        sb.append(lossLadder()).append('\n');

        sb.append("## LayerNorm-only vs total GNS through training\n\n");
        sb.append("Per run, over the steps where both smoothed estimates are defined and positive: Pearson r of log GNS_LN with "
                + "log GNS_total (high for any two growing series), r of their changes (Δ log over " + LnVsTotal.STRIDE
                + " steps: the trend removed, what a controller relies on), and the ratio GNS_LN / GNS_total: median, "
                + "5th-95th percentile, median over the first and the last tenth of the steps. Every step's pair is in "
                + "gns_ln_vs_total.csv.\n\n");
        sb.append("| run | steps | r (log) | r (changes) | median ratio | ratio 5-95% | ratio, first tenth | ratio, last tenth |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (LnRow l : results.lnVsTotal()) {
            LnVsTotal t = l.stats();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s-%s | %s | %s |%n", l.run(), t.n(), num(t.pearsonLog(), "%.3f"),
                    num(t.pearsonDelta(), "%.3f"), num(t.medianRatio(), "%.3f"), num(t.ratioP05(), "%.2f"), num(t.ratioP95(), "%.2f"),
                    num(t.ratioEarly(), "%.3f"), num(t.ratioLate(), "%.3f")));
        }
        double[] rs = results.lnVsTotal().stream().mapToDouble(l -> l.stats().pearsonLog()).filter(Double::isFinite).toArray();
        double[] ds = results.lnVsTotal().stream().mapToDouble(l -> l.stats().pearsonDelta()).filter(Double::isFinite).toArray();
        if (rs.length > 0 && ds.length > 0)
            sb.append(String.format(Locale.ROOT, "%nOver %d runs: r (log) from %.3f to %.3f; r (changes) from %.3f to %.3f.%n",
                    rs.length, ScheduleResults.min(rs), ScheduleResults.max(rs), ScheduleResults.min(ds), ScheduleResults.max(ds)));
        sb.append('\n');
        sb.append(estimatorsMarkdown());
        return sb.toString();
    }

    /** Loss levels above L* at which {@link #lossLadder} compares the results.arms(). */
    static final double[] LADDER = {0.50, 0.30, 0.20, 0.10, 0.05, 0.02, 0.0};

    /**
     * Where along the run a schedule gains or loses: for losses L* + d, the training time of each schedule run to
     * reach it against the fastest fixed run of the same seed (mean saving over the seeds where both reach it).
     */
    private String lossLadder() {
        if (results.bestFixed() == null) return "";
        List<String> schedules = results.arms().stream().map(ArmSummary::arm).filter(a -> !a.startsWith(ScheduleExperimentConfig.FIXED)).toList();
        if (schedules.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("Time to higher losses: mean saving against the fastest fixed run of the same seed"
                + " (seeds where both reach it / seeds run).\n\n| loss |");
        for (String a : schedules) sb.append(' ').append(a).append(" |");
        sb.append("\n|---:|").append("---:|".repeat(schedules.size())).append('\n');
        for (double d : LADDER) {
            double level = results.target() + d;
            sb.append(String.format(Locale.ROOT, "| L* + %.2f = %.3f |", d, level));
            for (String a : schedules) {
                List<Double> savings = new ArrayList<>();
                long seeds = results.runs().stream().filter(r -> r.arm().equals(a)).count();
                for (RunRow r : results.runs()) {
                    if (!r.arm().equals(a)) continue;
                    TimeToTarget.Reach mine = TimeToTarget.reach(r.curve(), level);
                    Double fixed = results.runs().stream().filter(f -> f.seed() == r.seed() && f.arm().startsWith(ScheduleExperimentConfig.FIXED))
                            .map(f -> TimeToTarget.reach(f.curve(), level)).filter(java.util.Objects::nonNull)
                            .map(TimeToTarget.Reach::seconds).min(Double::compare).orElse(null);
                    if (mine != null && fixed != null) savings.add(TimeToTarget.savingPercent(mine.seconds(), fixed));
                }
                sb.append(String.format(Locale.ROOT, " %s (%d/%d) |",
                        pct(ScheduleResults.mean(savings.stream().mapToDouble(Double::doubleValue).toArray())), savings.size(), seeds));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** What finding the best fixed batch cost: the sweep's training time per seed, beside one run of each schedule. */
    private String sweepCost() {
        List<ArmSummary> sweep = results.arms().stream().filter(a -> a.arm().matches(ScheduleExperimentConfig.FIXED + "\\d+")).toList();
        if (sweep.isEmpty()) return "";
        double sweepSeconds = sweep.stream().mapToDouble(ArmSummary::meanTrainSeconds).sum();
        List<ArmSummary> lr = results.arms().stream().filter(a -> a.arm().startsWith(ScheduleExperimentConfig.FIXED) && !sweep.contains(a)).toList();
        double tuning = sweepSeconds + lr.stream().mapToDouble(ArmSummary::meanTrainSeconds).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "Finding the best fixed batch: the sweep of %d batch sizes takes "
                + "%.1f s of training per seed%s; one run of each schedule:", sweep.size(), sweepSeconds,
                lr.isEmpty() ? "" : String.format(Locale.ROOT, " (%.1f s with the %d LR arms)", tuning, lr.size())));
        for (ArmSummary a : results.arms())
            if (!a.arm().startsWith(ScheduleExperimentConfig.FIXED))
                sb.append(String.format(Locale.ROOT, " %s %.1f s (%.1f%% of the sweep),", a.arm(), a.meanTrainSeconds(),
                        100 * a.meanTrainSeconds() / sweepSeconds));
        return sb.substring(0, sb.length() - 1) + ".\n";
    }

    private String estimatorsMarkdown() {
        StringBuilder sb = new StringBuilder("## Estimator quality at equal compute\n\n");
        if (results.estimators() == null) return sb.append("Not measured (estimators.batches is 0, or their arm's run was reused without estimators.json).\n").toString();
        EstimatorComparison.Result e = results.estimators();
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
        for (RunRow r : results.runs())
            sb.append(String.format(Locale.ROOT, "%s,%d,%s,%d,%d,%.3f,%.3f,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s%n", r.arm(), r.seed(),
                    csvNum(r.finalValLoss()), r.steps(), r.tokens(), r.trainSeconds(), r.elapsedSeconds(), r.finalBatch(),
                    r.batchChanges(), csvNum(results.target()), r.reach() != null,
                    r.reach() == null ? "" : csvNum(r.reach().tokens()), r.reach() == null ? "" : csvNum(r.reach().seconds()),
                    r.fastestFixed() == null ? "" : r.fastestFixed(), csvNum(r.tokenSaving()), csvNum(r.timeSaving()),
                    csvNum(r.seedTarget()), csvNum(r.seedSaving())));
        return sb.toString();
    }

    /** curves.csv: every evaluation of every finished run, from which every number of results.md can be recomputed. */
    public String curvesCsv() {
        StringBuilder sb = new StringBuilder("arm,seed,step,tokens,train_s,batch_size,micro_batch,lr,val_loss,gns_total,gns_ln\n");
        for (RunRow r : results.runs())
            for (RunCurve.Point p : r.curve().valPoints())
                sb.append(String.format(Locale.ROOT, "%s,%d,%d,%d,%.4f,%d,%d,%s,%s,%s,%s%n", r.arm(), r.seed(), p.step(), p.tokens(),
                        p.trainSeconds(), p.batchSize(), p.microBatch(), csvNum(p.lr()), csvNum(p.valLoss()),
                        p.gnsTotal() == null ? "" : csvNum(p.gnsTotal()), p.gnsLn() == null ? "" : csvNum(p.gnsLn())));
        return sb.toString();
    }

    /** gns_ln_vs_total.csv: every step of every finished run with both estimates (empty where undefined). */
    public String lnVsTotalCsv() {
        StringBuilder sb = new StringBuilder("run,arm,seed,step,tokens,gns_total,gns_ln\n");
        for (RunRow r : results.runs())
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

    static String pct(double v) { return Double.isNaN(v) || Double.isInfinite(v) ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", v); }

    private static String num(double v, String fmt) { return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "n/a"; }

    private static String fmtG(double v) {
        if (Double.isInfinite(v)) return v > 0 ? "+inf" : "-inf";
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String csvNum(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : ""; }

}
