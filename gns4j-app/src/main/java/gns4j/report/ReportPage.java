package gns4j.report;

import gns4j.report.LineChart.Axis;
import gns4j.report.LineChart.Line;
import gns4j.report.LineChart.Look;
import gns4j.train.MetricsLine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/** Lays out the whole report page for a list of runs: controls, notes, summary, charts, configuration. */
final class ReportPage {
    /** Okabe–Ito colours (distinct for colour-blind readers), yellow darkened to read on white. */
    static final String[] COLORS = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#444444",
            "#a6761d"};

    private final List<Run> runs;
    private final List<String> names;
    /** Per run its top-K examples, null where it logged none. */
    private final List<TopExamples> tops;
    /** Rows per table of the top-K examples. */
    static final int TOP_K = 10;
    private final StringBuilder out = new StringBuilder(1 << 16);
    private int sections; // opened so far; each closes the previous one

    private ReportPage(List<Run> runs) {
        this.runs = runs;
        this.names = uniqueNames(runs);
        this.tops = runs.stream().map(r -> TopExamples.of(r, TOP_K)).toList();
    }

    static String html(List<Run> runs, Instant generated) { return new ReportPage(runs).render(generated); }

    private String render(Instant generated) {
        out.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>gns4j report: ").append(Fmt.esc(String.join(", ", names))).append("</title><style>")
                .append(resource("report.css")).append("</style></head><body>");
        out.append("<header><h1>gns4j training report</h1><p class=\"meta\">").append(runs.size())
                .append(runs.size() == 1 ? " run" : " runs").append(" · generated ")
                .append(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC)
                        .format(generated)).append("</p><div class=\"controls\">");
        for (int i = 0; i < runs.size(); i++) {
            out.append("<label title=\"").append(Fmt.esc(runs.get(i).dir().toAbsolutePath().normalize().toString()))
                    .append("\"><input type=\"checkbox\" autocomplete=\"off\" checked data-toggle=\"").append(i)
                    .append("\">").append(swatch(i)).append(Fmt.esc(names.get(i))).append("</label>");
        }
        out.append("</div></header><ul id=\"errors\" hidden></ul><div id=\"tip\" hidden></div>");
        notes();
        summary();
        charts();
        config();
        out.append("<script>").append(resource("report.js")).append("</script></body></html>\n");
        return out.toString();
    }

    private void notes() {
        List<String> items = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            List<String> notes = new ArrayList<>(runs.get(i).notes());
            if (tops.get(i) != null && tops.get(i).note() != null) notes.add(tops.get(i).note());
            for (String n : notes) {
                items.add("<li data-run=\"" + i + "\">" + swatch(i) + "<b>" + Fmt.esc(names.get(i)) + "</b>: "
                        + Fmt.esc(n) + "</li>");
            }
        }
        if (items.isEmpty()) return;
        out.append("<section class=\"notes\"><h2>Notes</h2><p>What could not be read or is missing; "
                + "the charts show what exists.</p><ul>").append(String.join("", items)).append("</ul></section>");
    }

    /** Runs whose token counts differ by more than this share of the largest do not compare at their ends. */
    static final double TOKEN_TOLERANCE = 0.05;

    /**
     * "the runs saw different numbers of tokens (a 410k, b 259k): ..." when the overlaid runs' last token counts differ
     * by more than {@link #TOKEN_TOLERANCE} of the largest, so that their final losses do not compare; else null.
     */
    static String tokenDifference(List<Run> runs) {
        List<String> names = uniqueNames(runs), counts = new ArrayList<>();
        double least = Double.POSITIVE_INFINITY, most = 0;
        for (int i = 0; i < runs.size(); i++) {
            List<MetricsLine> steps = runs.get(i).steps();
            double tokens = steps.isEmpty() ? Double.NaN : MetricsLine.orNaN(steps.getLast().tokens());
            if (!Double.isFinite(tokens)) continue;
            counts.add(names.get(i) + " " + Fmt.num(tokens));
            least = Math.min(least, tokens);
            most = Math.max(most, tokens);
        }
        if (counts.size() < 2 || most - least <= TOKEN_TOLERANCE * most) return null;
        return "the runs saw different numbers of tokens (" + String.join(", ", counts) + "): compare their losses at"
                + " equal tokens on the charts' token axis, not at their ends, or give them one max_tokens";
    }

    private void summary() {
        String tokenDifference = tokenDifference(runs);
        out.append("<section><h2>Summary</h2>");
        if (tokenDifference != null)
            out.append("<p class=\"caution\"><b>Not comparable at their ends:</b> ").append(Fmt.esc(tokenDifference)).append(".</p>");
        out.append("<table class=\"summary\"><thead><tr><th>run</th><th>status<br><small>partial: no summary.json</small></th>")
                .append("<th>steps</th><th>tokens</th><th>train loss<br><small>mean of last 10</small></th>")
                .append("<th>best val loss</th><th>elapsed</th><th>tok/s<br><small>overall</small></th>")
                .append("<th>GNS<br><small>total / LN</small></th></tr></thead><tbody>");
        for (int i = 0; i < runs.size(); i++) {
            Run r = runs.get(i);
            MetricsLine last = r.steps().isEmpty() ? null : r.steps().getLast();
            double tokens = last == null ? Double.NaN : MetricsLine.orNaN(last.tokens());
            double elapsed = last == null ? Double.NaN : MetricsLine.orNaN(last.elapsedS());
            double[] val = Extract.vsTokens(r, Metric.VAL_LOSS).y();
            double[] loss = Extract.vsTokens(r, Metric.LOSS).y();
            double tail = 0;
            for (int k = Math.max(0, loss.length - 10); k < loss.length; k++) {
                tail += loss[k] / Math.min(10, loss.length);
            }
            out.append("<tr data-run=\"").append(i).append("\"><td>").append(swatch(i)).append(Fmt.esc(names.get(i)))
                    .append("</td><td>").append(r.finished() ? "finished" : "partial")
                    .append("</td><td>").append(last == null ? "0" : Long.toString(last.step()))
                    .append("</td><td>").append(Fmt.num(tokens))
                    .append("</td><td>").append(Fmt.num(loss.length == 0 ? Double.NaN : tail))
                    .append("</td><td>").append(Fmt.num(Arrays.stream(val).min().orElse(Double.NaN)))
                    .append("</td><td>").append(Fmt.duration(elapsed))
                    .append("</td><td>").append(Fmt.num(elapsed > 0 ? tokens / elapsed : Double.NaN))
                    .append("</td><td>").append(Fmt.num(Extract.last(r, Metric.GNS_TOTAL))).append(" / ")
                    .append(Fmt.num(Extract.last(r, Metric.GNS_LN))).append("</td></tr>");
        }
        out.append("</tbody></table></section>");
    }

    private void charts() {
        double maxElapsed = runs.stream().flatMap(r -> r.steps().stream()).mapToDouble(r -> MetricsLine.orNaN(r.elapsedS()))
                .filter(Double::isFinite).max().orElse(0);
        double timeUnit = maxElapsed < 120 ? 1 : maxElapsed < 7200 ? 60 : 3600;
        String timeLabel = "elapsed (" + (timeUnit == 1 ? "s" : timeUnit == 60 ? "min" : "h") + ")";

        section("Loss");
        chart("Train and validation loss vs tokens", -1, "loss", "tokens", "loss", Axis.FROM_ZERO, Axis.LINEAR,
                perRun(r -> List.of(line(r, Metric.LOSS, Look.LINE, false),
                        line(r, Metric.VAL_LOSS, Look.MARKERS, true))));
        chart("Loss vs wall-clock time", -1, "loss_time", timeLabel, "loss", Axis.FROM_ZERO, Axis.LINEAR,
                perRun(r -> List.of(timeLine(r, Metric.LOSS, Look.LINE, false, timeUnit),
                        timeLine(r, Metric.VAL_LOSS, Look.MARKERS, true, timeUnit))));
        section("Schedules");
        chart("Learning rate vs tokens", -1, "lr", "tokens", "learning rate", Axis.FROM_ZERO, Axis.FROM_ZERO,
                perRun(r -> List.of(line(r, Metric.LR, Look.LINE, false))));
        chart("Batch size vs tokens", -1, "batch", "tokens", "sequences per step", Axis.FROM_ZERO, Axis.FROM_ZERO,
                perRun(r -> List.of(line(r, Metric.BATCH_SIZE, Look.LINE, false))));
        section("Gradient noise scale");
        chart("Total GNS vs LayerNorm GNS", -1, "gns", "tokens", "GNS (sequences)", Axis.FROM_ZERO, Axis.AUTO_LOG,
                perRun(r -> List.of(line(r, Metric.GNS_TOTAL, Look.LINE, false),
                        line(r, Metric.GNS_LN, Look.LINE, true))));
        chart("LayerNorm GNS / total GNS", -1, "gns_ratio", "tokens", "ratio", Axis.FROM_ZERO, Axis.LINEAR,
                perRun(r -> List.of(line(r, Metric.GNS_RATIO, Look.LINE, false))));
        chart("Gradient norm (before clipping)", -1, "grad_norm", "tokens", "‖g‖", Axis.FROM_ZERO, Axis.AUTO_LOG,
                perRun(r -> List.of(line(r, Metric.GRAD_NORM, Look.LINE, false))));
        for (int i = 0; i < runs.size(); i++) {
            List<Line> lines = new ArrayList<>();
            List<Series> types = Extract.gnsByType(runs.get(i));
            for (int t = 0; t < types.size(); t++) {
                lines.add(new Line(i, types.get(t).label(), COLORS[t % COLORS.length], types.get(t), Look.LINE,
                        t >= COLORS.length));
            }
            chart("GNS per parameter type", i, "gns_type", "tokens", "GNS", Axis.FROM_ZERO, Axis.AUTO_LOG, lines);
        }
        for (int i = 0; i < runs.size(); i++) {
            figure("GNS per layer (colour: log scale)", i, HeatMap.draw("gns_layer", i,
                    Extract.gnsByLayer(runs.get(i))));
        }
        section("Per-example gradient norms");
        histogram("Per-example gradient norm, all parameters", "pe_norm_total", MetricsLine::peNormTotal);
        histogram("Per-example gradient norm, normalization layers only", "pe_norm_ln", MetricsLine::peNormLn);
        topExamples();
        section("Throughput");
        chart("Training throughput", -1, "throughput", "tokens", "tokens/s", Axis.FROM_ZERO, Axis.FROM_ZERO,
                perRun(r -> List.of(line(r, Metric.TOK_PER_S, Look.LINE, false))));
        out.append("</div></section>");
    }

    /** Whole-run distribution (solid) against the last tenth of training (dashed), per run, on shared bins. */
    private void histogram(String title, String id, Function<MetricsLine, double[]> which) {
        List<double[]> samples = new ArrayList<>();
        List<Integer> owners = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            int steps = Extract.peNormSteps(runs.get(i), which);
            if (steps == 0) continue;
            int tail = Math.max(1, steps / 10);
            samples.add(Extract.peNorms(runs.get(i), which, 0));
            samples.add(Extract.peNorms(runs.get(i), which, tail));
            owners.addAll(List.of(i, i));
            labels.add(label(i, "all " + steps + " steps"));
            labels.add(label(i, "last " + tail + (tail == 1 ? " step" : " steps")));
        }
        Histogram h = Histogram.of(samples, 40);
        List<Line> lines = new ArrayList<>();
        for (int k = 0; k < samples.size(); k++) {
            lines.add(new Line(owners.get(k), labels.get(k), COLORS[owners.get(k) % COLORS.length],
                    h.series(k, labels.get(k)), Look.STEP, k % 2 == 1));
        }
        chart(title, -1, id, "per-example gradient L2 norm" + (h.log() ? " (log bins)" : ""), "fraction of examples",
                h.log() ? Axis.LOG : Axis.LINEAR, Axis.FROM_ZERO, lines);
    }

    /** Per run, tables of the highest- and lowest-norm examples of its pe_examples, with their text when known. */
    private void topExamples() {
        if (tops.stream().allMatch(Objects::isNull)) {
            out.append("<figure class=\"topk\"><figcaption>Highest- and lowest-norm examples</figcaption>")
                    .append("<p class=\"nodata\">No per-example records (pe_examples) in ")
                    .append(runs.size() == 1 ? "this run" : "these runs")
                    .append("; the trainer logs them every pe_log_interval steps.</p></figure>");
            return;
        }
        for (int i = 0; i < runs.size(); i++) {
            TopExamples t = tops.get(i);
            if (t == null) continue;
            out.append("<figure class=\"topk\" data-run=\"").append(i).append("\"><figcaption>");
            if (runs.size() > 1) out.append(swatch(i)).append(Fmt.esc(names.get(i))).append(": ");
            out.append("Highest- and lowest-norm examples <small>(ranked by the ")
                    .append(t.rankedBy().equals("total") ? "total" : "LayerNorm").append(" per-example gradient norm among ")
                    .append(t.examples()).append(" logged examples")
                    .append(t.snippets() ? "; text: block_size tokens of train.bin from the offset" : "; no text: see the notes")
                    .append(")</small></figcaption>");
            topTable("highest", "Highest norm", t.highest(), t.snippets());
            topTable("lowest", "Lowest norm", t.lowest(), t.snippets());
            out.append("</figure>");
        }
    }

    private void topTable(String kind, String caption, List<TopExamples.Row> rows, boolean snippets) {
        out.append("<table class=\"topk-table\" data-topk=\"").append(kind).append("\"><caption>").append(caption)
                .append("</caption><thead><tr><th>#</th><th>step</th><th>offset</th><th>norm (total)</th>")
                .append("<th>norm (LN)</th>");
        if (snippets) out.append("<th>text</th>");
        out.append("</tr></thead><tbody>");
        for (int r = 0; r < rows.size(); r++) {
            PeExample e = rows.get(r).example();
            out.append("<tr><td>").append(r + 1).append("</td><td>").append(e.step()).append("</td><td>")
                    .append(e.offset()).append("</td><td>").append(Fmt.num(e.normTotal())).append("</td><td>")
                    .append(Fmt.num(e.normLn())).append("</td>");
            if (snippets) out.append("<td class=\"snippet\">").append(Fmt.esc(rows.get(r).snippet())).append("</td>");
            out.append("</tr>");
        }
        out.append("</tbody></table>");
    }

    private List<Line> perRun(Function<Integer, List<Line>> linesOf) {
        List<Line> lines = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) lines.addAll(linesOf.apply(i));
        return lines;
    }

    private Line line(int run, Metric m, Look look, boolean dashed) {
        Series s = Extract.vsTokens(runs.get(run), m);
        return new Line(run, label(run, m.label), COLORS[run % COLORS.length], s, look, dashed);
    }

    private Line timeLine(int run, Metric m, Look look, boolean dashed, double unit) {
        Series s = Extract.vsElapsed(runs.get(run), m).scaleX(1 / unit);
        return new Line(run, label(run, m.label), COLORS[run % COLORS.length], s, look, dashed);
    }

    private void chart(String title, int run, String id, String xLabel, String yLabel, Axis x, Axis y,
                       List<Line> lines) {
        figure(title, run, LineChart.draw(new LineChart.Spec(id, xLabel, yLabel, x, y, lines)));
    }

    private void section(String title) {
        if (sections++ > 0) out.append("</div></section>");
        out.append("<section><h2>").append(Fmt.esc(title)).append("</h2><div class=\"charts\">");
    }

    /** A chart in its figure; {@code run} >= 0 makes it one run's panel, hidden with that run. */
    private void figure(String title, int run, LineChart.Drawn d) {
        out.append("<figure class=\"chart\"");
        if (run >= 0) out.append(" data-run=\"").append(run).append('"');
        out.append("><figcaption>");
        if (run >= 0) out.append(swatch(run)).append(Fmt.esc(names.get(run))).append(": ");
        out.append(Fmt.esc(title));
        if (d.hidden() > 0) {
            out.append(" <small>(").append(d.hidden()).append(" values ≤ 0 not shown on the log scale)</small>");
        }
        out.append("</figcaption>");
        if (d.points() > 0) out.append(d.html());
        else out.append("<p class=\"nodata\">No data recorded for this chart.</p>");
        out.append("</figure>");
    }

    private void config() {
        Set<String> keys = new LinkedHashSet<>();
        runs.forEach(r -> keys.addAll(r.config().keySet()));
        if (keys.isEmpty()) return;
        out.append("<section><h2>Configuration</h2>");
        if (runs.size() > 1) out.append("<p>Rows in bold differ between runs.</p>");
        out.append("<table class=\"config\"><thead><tr><th>key</th>");
        for (int i = 0; i < runs.size(); i++) {
            out.append("<th data-run=\"").append(i).append("\">").append(swatch(i)).append(Fmt.esc(names.get(i)))
                    .append("</th>");
        }
        out.append("</tr></thead><tbody>");
        for (String k : keys) {
            boolean differs = runs.stream().map(r -> r.config().get(k)).distinct().count() > 1;
            out.append(differs ? "<tr class=\"diff\">" : "<tr>").append("<td>").append(Fmt.esc(k)).append("</td>");
            for (int i = 0; i < runs.size(); i++) {
                out.append("<td data-run=\"").append(i).append("\">")
                        .append(Fmt.esc(runs.get(i).config().getOrDefault(k, "–"))).append("</td>");
            }
            out.append("</tr>");
        }
        out.append("</tbody></table></section>");
    }

    private String label(int run, String what) { return runs.size() == 1 ? what : names.get(run) + " · " + what; }

    private static String swatch(int run) {
        return "<span class=\"sw\" style=\"background:" + COLORS[run % COLORS.length] + "\"></span>";
    }

    /** Folder names, made unique with their parent folders when two runs share a name. */
    private static List<String> uniqueNames(List<Run> runs) {
        List<String> names = new ArrayList<>(runs.stream().map(Run::name).toList());
        for (int i = 0; i < names.size(); i++) {
            if (names.indexOf(names.get(i)) != names.lastIndexOf(names.get(i))) {
                String n = names.get(i);
                for (int j = 0; j < names.size(); j++) {
                    if (names.get(j).equals(n)) names.set(j, runs.get(j).dir().toAbsolutePath().normalize().toString());
                }
            }
        }
        return names;
    }

    private static String resource(String name) {
        try (InputStream in = ReportPage.class.getResourceAsStream(name)) {
            return new String(Objects.requireNonNull(in, name).readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
