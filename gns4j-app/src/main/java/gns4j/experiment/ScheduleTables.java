package gns4j.experiment;

import gns4j.experiment.ScheduleResults.LnRow;
import gns4j.experiment.ScheduleResults.RunRow;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The written form of {@link ScheduleResults}: results.md, results.csv, curves.csv and gns_ln_vs_total.csv. */
final class ScheduleTables {
    private final ScheduleResults results;

    ScheduleTables(ScheduleResults results) { this.results = results; }

    /** The tables as Markdown. */
    public String markdown() {
        StringBuilder sb = new StringBuilder("# Batch-size schedules against the best fixed batch\n\n");
        sb.append(results.header()).append('\n');
        if (results.throughput() != null)
            sb.append("## What a bigger batch buys on this machine\n\nTraining throughput of this model and step, micro-batch = batch "
                    + "(median of a short run's steps, repeated until two rounds agree within 5 %), and beside it the rate the "
                    + "fixed-batch runs at the base LR trained at (tokens / training seconds):\n\n")
                    .append(results.throughput().markdown(trainedAt())).append('\n')
                    .append(results.projection() != null && results.projection().fromRuns()
                            ? "The projection and the goodput arms use the runs' rates (every batch of the sweep has finished runs).\n\n"
                            : "The projection and the goodput arms use the short-run curve (the sweep has not finished every batch yet).\n\n");
        sb.append(runsTable()).append('\n');
        ScheduleResults.Level lv = results.atTarget();
        if (lv == null) return sb.append("No fixed-batch arm has finished every seed yet: no target L*, no comparison.\n\n")
                .append(lnMarkdown()).append(estimatorsMarkdown()).toString();
        sb.append("## To L*, the best fixed batch's validation loss, in every currency\n\n");
        sb.append(String.format(Locale.ROOT, "L* = %.4f, the mean final validation loss of `%s`, the lowest of every fixed-batch arm that "
                + "finished every seed. A run's arrival at a loss is interpolated between evaluations; it is counted in optimizer "
                + "steps, tokens, measured training seconds (the steps' own durations, validation passes excluded) and%s.%n%n",
                results.target(), results.bestFixed(), results.projection() == null ? " nothing else (no throughput curve, no projection)"
                        : ", as a projection, the seconds the run's own batch sequence would take on N data-parallel GPUs (" + projectionInputs() + ")"));
        sb.append("Mean cost to L* over the seeds (seeds that reached it / seeds run, where not all did):\n\n");
        sb.append(costTable(lv)).append('\n');
        sb.append("Saving to L* against the fixed-batch run of the same seed that is cheapest **in that currency** (named), "
                + "saving = 1 - cost / that run's cost:\n\n");
        sb.append(perSeedSavings(lv)).append('\n');
        sb.append(results.verdict()).append("\n\n");
        sb.append(sweepCost()).append('\n');
        sb.append(lossLadder()).append('\n');
        return sb.append(lnMarkdown()).append(estimatorsMarkdown()).toString();
    }

    /** Per batch of the sweep: the tok/s each finished fixed run at the base LR trained at. */
    private Map<Integer, double[]> trainedAt() {
        Map<Integer, double[]> m = new java.util.HashMap<>();
        for (RunRow r : results.runs())
            if (r.arm().matches(ScheduleExperimentConfig.FIXED + "\\d+"))
                m.merge(r.finalBatch(), new double[]{r.trainedTokPerS()}, (x, y) -> java.util.stream.DoubleStream.concat(
                        java.util.Arrays.stream(x), java.util.Arrays.stream(y)).toArray());
        return m;
    }

    /** What the projection assumed, in one clause. */
    private String projectionInputs() {
        ScheduleResults.Projection p = results.projection();
        var m = p.model();
        return String.format(Locale.ROOT, "ring all-reduce of %,d fp32 gradients (%.1f MB) at a bus bandwidth of %.0f GB/s%s, %s; "
                        + "per-GPU compute from the throughput curve above; docs/schedule.md gives the model and what it leaves out",
                p.parameters(), m.gradientBytes() / 1e6, m.busBytesPerS() / 1e9,
                m.busBytesPerS() == ScheduleResults.DEFAULT_BUS_BYTES_PER_S ? " (default, from the 2-GPU runs of docs/multi-gpu.md)" : "",
                m.overlap() ? String.format(Locale.ROOT, "overlapped with backward except the embeddings' %.1f MB", m.exposedBytes() / 1e6)
                        : "after backward (grad_overlap=false)");
    }

    /** One line per run: what it did, whatever the target. */
    private String runsTable() {
        StringBuilder sb = new StringBuilder("## Runs\n\n| run | final val loss | steps | tokens | train time (s) | trained at (tok/s) | final batch | batch changes |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (RunRow r : byArm())
            sb.append(String.format(Locale.ROOT, "| %s | %.4f | %,d | %,d | %.1f | %,.0f | %d | %d |%n", r.run(), r.finalValLoss(),
                    r.steps(), r.tokens(), r.trainSeconds(), r.trainedTokPerS(), r.finalBatch(), r.batchChanges()));
        sb.append('\n').append(devices()).append('\n');
        sb.append("| arm | seeds | final val loss (mean ± std over seeds) |\n|---|---:|---:|\n");
        for (String arm : results.allArms()) {
            double[] finals = results.runs().stream().filter(r -> r.arm().equals(arm)).mapToDouble(RunRow::finalValLoss).toArray();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.4f ± %s |%n", arm, finals.length, ScheduleResults.mean(finals),
                    num(ScheduleResults.std(finals), "%.4f")));
        }
        return sb.toString();
    }

    /**
     * Which device the runs trained on, from their summary.json: measured seconds compare across runs only on one
     * device; the projections time every run on one curve.
     */
    private static final String NOT_RECORDED = "not recorded (summary.json from before it named the device)";

    private String devices() {
        Map<String, List<String>> by = new TreeMap<>();
        for (RunRow r : byArm()) by.computeIfAbsent(r.device().isEmpty() ? NOT_RECORDED : r.device(), d -> new ArrayList<>()).add(r.run());
        if (by.size() == 1)
            return by.containsKey(NOT_RECORDED) ? "The runs' summary.json files do not name their device (made before summaries did).\n"
                    : "Every run trained on " + by.keySet().iterator().next() + ".\n";
        StringBuilder sb = new StringBuilder("The runs trained on " + by.size() + " devices (measured train seconds compare "
                + "only within one; the projections time every run on the same curve):\n");
        by.forEach((d, runs) -> sb.append("- ").append(d).append(": ").append(runs.size()).append(" runs")
                .append(runs.size() <= 12 ? " (" + String.join(", ", runs) + ")" : "").append('\n'));
        return sb.toString();
    }

    /** The runs arm by arm (arms in run order), seeds in order within an arm. */
    private List<RunRow> byArm() {
        List<RunRow> out = new ArrayList<>();
        for (String arm : results.allArms()) results.runs().stream().filter(r -> r.arm().equals(arm)).forEach(out::add);
        return out;
    }

    /** The head of a table with the {@code first} columns, then one right-aligned column per currency. */
    private StringBuilder currencyHeader(String... first) {
        StringBuilder sb = new StringBuilder("|");
        for (String f : first) sb.append(' ').append(f).append(" |");
        for (ScheduleResults.Currency c : results.currencies()) sb.append(' ').append(c.label()).append(" |");
        return sb.append("\n|").append("---|".repeat(first.length)).append("---:|".repeat(results.currencies().size())).append('\n');
    }

    /** Rows: every arm; columns: the currencies; cells: the mean cost to the level over the seeds that reached it. */
    private String costTable(ScheduleResults.Level lv) {
        StringBuilder sb = currencyHeader("arm");
        List<String> never = new ArrayList<>();
        for (String arm : results.allArms()) {
            List<ScheduleResults.Arrival> mine = lv.arrivals().stream().filter(a -> a.run().arm().equals(arm)).toList();
            List<ScheduleResults.Arrival> reached = mine.stream().filter(a -> a.reach() != null).toList();
            if (reached.isEmpty()) {
                never.add(arm);
                continue;
            }
            sb.append("| ").append(arm).append(" |");
            for (int c = 0; c < results.currencies().size(); c++) {
                int ci = c;
                double m = ScheduleResults.mean(reached.stream().mapToDouble(a -> a.costs()[ci]).toArray());
                sb.append(' ').append(cost(results.currencies().get(c), m))
                        .append(reached.size() < mine.size() ? " (" + reached.size() + "/" + mine.size() + ")" : "").append(" |");
            }
            sb.append('\n');
        }
        if (never.size() == results.allArms().size()) return "No run reached it.\n";
        return never.isEmpty() ? sb.toString() : sb.append("\nNot reached by any run of: ").append(String.join(", ", never)).append(".\n").toString();
    }

    private static String cost(ScheduleResults.Currency c, double v) {
        return switch (c.kind()) {
            case STEPS, TOKENS -> String.format(Locale.ROOT, "%,.0f", v);
            case SECONDS, PROJECTED -> String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.1f", v);
        };
    }

    /** Rows: schedule arm and seed, then the arm's mean and worst; columns: the currencies. */
    private String perSeedSavings(ScheduleResults.Level lv) {
        StringBuilder sb = currencyHeader("arm", "seed");
        List<String> none = new ArrayList<>();
        for (String arm : results.scheduleArms()) {
            if (!anySaving(arm, lv)) {
                none.add(arm);
                continue;
            }
            for (ScheduleResults.Arrival a : lv.arrivals()) {
                if (!a.run().arm().equals(arm)) continue;
                sb.append("| ").append(arm).append(" | ").append(a.run().seed()).append(" |");
                for (int c = 0; c < results.currencies().size(); c++) {
                    ScheduleResults.Saving s = results.saving(lv, a, c);
                    sb.append(' ').append(s.fixed() == null ? "no fixed run reached it" : a.reach() == null ? "not reached"
                            : pct(s.percent()) + " (" + s.fixed().substring(ScheduleExperimentConfig.FIXED.length()) + ")").append(" |");
                }
                sb.append('\n');
            }
            sb.append("| ").append(arm).append(" | **mean / worst** |");
            for (int c = 0; c < results.currencies().size(); c++) sb.append(' ').append(meanWorst(results.armSaving(arm, lv, c))).append(" |");
            sb.append('\n');
        }
        String left = none.isEmpty() ? "" : "No saving is defined (the run, or every fixed run of its seed, stayed above it in every seed) for: "
                + String.join(", ", none) + ".\n";
        return none.size() == results.scheduleArms().size() ? left : sb.append(left.isEmpty() ? "" : "\n" + left).toString();
    }

    /** Whether {@code arm} has a defined saving at {@code lv} in some seed (every currency is defined alike). */
    private boolean anySaving(String arm, ScheduleResults.Level lv) {
        return results.armSaving(arm, lv, 0).defined() > 0;
    }

    /** "+8.3% / +5.1%", with "(k/N seeds)" where the saving is defined in only some seeds. */
    private String meanWorst(ScheduleResults.ArmSaving s) {
        if (s.defined() == 0) return "n/a";
        String cell = pct(s.mean()) + " / " + (Double.isNaN(s.worst()) ? "-" : pct(s.worst()));
        return s.defined() < s.perSeed().length ? cell + " (" + s.defined() + "/" + s.perSeed().length + " seeds)" : cell;
    }

    /**
     * Where along the run a schedule gains or loses: at each rung L* + d, each schedule arm's mean / worst saving in
     * every currency against the cheapest fixed run of the same seed in that currency. Per seed in savings.csv.
     */
    private String lossLadder() {
        List<String> schedules = results.scheduleArms();
        if (schedules.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("## The loss ladder\n\nSaving at higher losses, mean / worst over seeds, against the fixed run "
                + "of the same seed cheapest in each currency (every seed's value in savings.csv):\n\n").append(currencyHeader("loss", "arm"));
        int rows = 0;
        for (ScheduleResults.Level lv : results.levels())
            for (String arm : schedules) {
                if (!anySaving(arm, lv)) continue;
                rows++;
                sb.append(String.format(Locale.ROOT, "| %s = %.3f | %s |", lv.name(), lv.loss(), arm));
                for (int c = 0; c < results.currencies().size(); c++) sb.append(' ').append(meanWorst(results.armSaving(arm, lv, c))).append(" |");
                sb.append('\n');
            }
        if (rows == 0) return "## The loss ladder\n\nNo schedule arm has a defined saving at any rung (L* + 0.5 down to L*).\n";
        return sb.append("\nA rung is left out for an arm where no seed has a saving there (the run, or every fixed run of its seed, stayed above it).\n").toString();
    }

    /** What finding the best fixed batch cost: the sweep's training time per seed, beside one run of each schedule. */
    private String sweepCost() {
        List<String> sweep = results.allArms().stream().filter(a -> a.matches(ScheduleExperimentConfig.FIXED + "\\d+")).toList();
        if (sweep.isEmpty()) return "";
        double sweepSeconds = sweep.stream().mapToDouble(this::meanTrainSeconds).sum();
        List<String> lr = results.allArms().stream().filter(a -> a.startsWith(ScheduleExperimentConfig.FIXED) && !sweep.contains(a)).toList();
        double tuning = sweepSeconds + lr.stream().mapToDouble(this::meanTrainSeconds).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "Finding the best fixed batch: the sweep of %d batch sizes takes "
                + "%.1f s of training per seed%s; one run of each schedule:", sweep.size(), sweepSeconds,
                lr.isEmpty() ? "" : String.format(Locale.ROOT, " (%.1f s with the %d LR arms)", tuning, lr.size())));
        for (String a : results.scheduleArms())
            sb.append(String.format(Locale.ROOT, " %s %.1f s (%.1f%% of the sweep),", a, meanTrainSeconds(a), 100 * meanTrainSeconds(a) / sweepSeconds));
        return sb.substring(0, sb.length() - 1) + ".\n";
    }

    private double meanTrainSeconds(String arm) {
        return ScheduleResults.mean(results.runs().stream().filter(r -> r.arm().equals(arm)).mapToDouble(RunRow::trainSeconds).toArray());
    }

    private String lnMarkdown() {
        StringBuilder sb = new StringBuilder("## LayerNorm-only vs total GNS through training\n\n");
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
        return sb.append('\n').toString();
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

    /** results.csv: one row per finished run, with its cost to L* and its saving in every currency. */
    public String csv() {
        StringBuilder sb = new StringBuilder("arm,seed,final_val_loss,steps,tokens,train_s,elapsed_s,train_tok_per_s,final_batch,"
                + "batch_changes,target_val_loss,reached");
        for (ScheduleResults.Currency c : results.currencies()) sb.append(',').append(c.key()).append("_to_target");
        for (ScheduleResults.Currency c : results.currencies()) sb.append(',').append(c.key()).append("_saving_pct");
        sb.append('\n');
        ScheduleResults.Level lv = results.atTarget();
        for (RunRow r : byArm()) {
            sb.append(String.format(Locale.ROOT, "%s,%d,%s,%d,%d,%.3f,%.3f,%.0f,%d,%d,%s", r.arm(), r.seed(), csvNum(r.finalValLoss()),
                    r.steps(), r.tokens(), r.trainSeconds(), r.elapsedSeconds(), r.trainedTokPerS(), r.finalBatch(), r.batchChanges(),
                    csvNum(results.target())));
            ScheduleResults.Arrival a = lv == null ? null : lv.arrivals().stream().filter(x -> x.run() == r).findFirst().orElseThrow();
            sb.append(',').append(a != null && a.reach() != null);
            for (int c = 0; c < results.currencies().size(); c++) sb.append(',').append(a == null ? "" : csvNum(a.costs()[c]));
            for (int c = 0; c < results.currencies().size(); c++) sb.append(',').append(a == null ? "" : csvNum(results.saving(lv, a, c).percent()));
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * savings.csv: every run at every rung of the ladder (L* included) in every currency: its cost, the cheapest fixed
     * run of its seed there and the saving against it (empty where undefined).
     */
    public String savingsCsv() {
        StringBuilder sb = new StringBuilder("level,level_loss,currency,projection,arm,seed,reached,cost,cheapest_fixed,cheapest_fixed_cost,saving_pct\n");
        for (ScheduleResults.Level lv : results.levels())
            for (int c = 0; c < results.currencies().size(); c++) {
                ScheduleResults.Currency cur = results.currencies().get(c);
                for (ScheduleResults.Arrival a : lv.arrivals()) {
                    ScheduleResults.Saving s = results.saving(lv, a, c);
                    sb.append(String.format(Locale.ROOT, "%s,%s,%s,%b,%s,%d,%b,%s,%s,%s,%s%n", lv.name(), csvNum(lv.loss()), cur.key(),
                            cur.kind() == ScheduleResults.Currency.Kind.PROJECTED, a.run().arm(), a.run().seed(), a.reach() != null,
                            csvNum(a.costs()[c]), s.fixed() == null ? "" : s.fixed(), csvNum(s.fixedCost()), csvNum(s.percent())));
                }
            }
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

    /** Writes results.md, results.csv, savings.csv, curves.csv and gns_ln_vs_total.csv into {@code out}. */
    public void write(Path out) {
        try {
            Files.writeString(out.resolve("results.md"), markdown());
            Files.writeString(out.resolve("results.csv"), csv());
            Files.writeString(out.resolve("savings.csv"), savingsCsv());
            Files.writeString(out.resolve("curves.csv"), curvesCsv());
            Files.writeString(out.resolve("gns_ln_vs_total.csv"), lnVsTotalCsv());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String pct(double v) { return Double.isNaN(v) || Double.isInfinite(v) ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", v); }

    private static String num(double v, String fmt) { return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "n/a"; }

    static String fmtG(double v) {
        if (Double.isInfinite(v)) return v > 0 ? "+inf" : "-inf";
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String csvNum(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : ""; }

}
