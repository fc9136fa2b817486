package gns4j.report;

import com.google.gson.Gson;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Draws one x/y chart as SVG: axes with ticks, grid, legend and the lines of several runs, plus a JSON block of the
 * drawn points that the page script reads for hover read-outs (the SVG alone stays a complete, printable chart).
 */
final class LineChart {
    enum Axis { LINEAR, FROM_ZERO, LOG, AUTO_LOG }

    enum Look { LINE, MARKERS, STEP }

    /** One line; {@code run} is the run index that colours it and that the run toggles hide. */
    record Line(int run, String label, String color, Series series, Look look, boolean dashed) {}

    record Spec(String id, String xLabel, String yLabel, Axis x, Axis y, List<Line> lines) {}

    /** The SVG and tooltip data, how many points it draws and how many a log axis could not show. */
    record Drawn(String html, int points, int hidden) {}

    static final int W = 640, PLOT_H = 210, LEFT = 62, RIGHT = W - 14;
    private static final int MAX_POINTS = 1500;
    private static final Gson GSON = new Gson(); // HTML-safe by default: '<' becomes \u003c inside <script>

    private LineChart() {}

    static Drawn draw(Spec spec) {
        boolean xLog = useLog(spec.x(), spec.lines(), true), yLog = useLog(spec.y(), spec.lines(), false);
        List<Line> lines = new ArrayList<>();
        int points = 0, hidden = 0;
        for (Line l : spec.lines()) {
            Series s = l.series().positive(xLog, yLog);
            hidden += l.series().size() - s.size();
            s = s.decimate(MAX_POINTS);
            points += s.size();
            if (s.size() > 0) lines.add(new Line(l.run(), l.label(), l.color(), s, l.look(), l.dashed()));
        }
        if (points == 0) return new Drawn("", 0, hidden);

        StringBuilder legend = new StringBuilder();
        int rows = legend(lines, legend);
        int top = 12 + rows * 16, bottom = top + PLOT_H, height = bottom + 40;
        Scale xs = scale(lines, true, xLog, spec.x() == Axis.FROM_ZERO, false, LEFT, RIGHT);
        Scale ys = scale(lines, false, yLog, spec.y() == Axis.FROM_ZERO, true, bottom, top);

        StringBuilder svg = new StringBuilder();
        svg.append("<svg data-chart=\"").append(spec.id()).append("\" data-points=\"").append(points)
                .append("\" viewBox=\"0 0 ").append(W).append(' ').append(height)
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">");
        axes(svg, xs, ys, top, bottom, spec.xLabel(), spec.yLabel());
        List<Map<String, Object>> tips = new ArrayList<>();
        for (Line l : lines) tips.add(line(svg, l, xs, ys, bottom));
        svg.append("<g class=\"legend\">").append(legend).append("</g>");
        svg.append("<line class=\"hair\" x1=\"0\" x2=\"0\" y1=\"").append(top).append("\" y2=\"").append(bottom)
                .append("\"/><g class=\"dots\"></g></svg>");
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("x", spec.xLabel());
        data.put("box", List.of(LEFT, top, RIGHT, bottom));
        data.put("s", tips);
        svg.append("<script type=\"application/json\" class=\"tips\">").append(GSON.toJson(data)).append("</script>");
        return new Drawn(svg.toString(), points, hidden);
    }

    /** AUTO_LOG: log when the positive values span more than a decade (GNS grows by orders of magnitude). */
    private static boolean useLog(Axis axis, List<Line> lines, boolean x) {
        if (axis == Axis.LOG) return true;
        if (axis != Axis.AUTO_LOG) return false;
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (Line l : lines) {
            for (double v : x ? l.series().x() : l.series().y()) {
                if (v > 0) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        return hi / lo > 10;
    }

    private static Scale scale(List<Line> lines, boolean x, boolean log, boolean fromZero, boolean nice, double p0,
                               double p1) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Line l : lines) {
            for (double v : x ? l.series().x() : l.series().y()) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        return Scale.of(lo, hi, log, fromZero, nice, p0, p1);
    }

    private static void axes(StringBuilder svg, Scale xs, Scale ys, int top, int bottom, String xLabel,
                             String yLabel) {
        svg.append("<g class=\"gridlines\">");
        for (double t : xs.ticks()) {
            String x = Fmt.px(xs.px(t));
            svg.append("<line x1=\"").append(x).append("\" x2=\"").append(x).append("\" y1=\"").append(top)
                    .append("\" y2=\"").append(bottom).append("\"/>");
        }
        for (double t : ys.ticks()) {
            String y = Fmt.px(ys.px(t));
            svg.append("<line x1=\"").append(LEFT).append("\" x2=\"").append(RIGHT).append("\" y1=\"").append(y)
                    .append("\" y2=\"").append(y).append("\"/>");
        }
        svg.append("</g><g class=\"axis\"><rect x=\"").append(LEFT).append("\" y=\"").append(top)
                .append("\" width=\"").append(RIGHT - LEFT).append("\" height=\"").append(bottom - top)
                .append("\"/>");
        for (double t : xs.ticks()) {
            svg.append("<text class=\"tx\" x=\"").append(Fmt.px(xs.px(t))).append("\" y=\"").append(bottom + 15)
                    .append("\">").append(Fmt.num(t)).append("</text>");
        }
        for (double t : ys.ticks()) {
            svg.append("<text class=\"ty\" x=\"").append(LEFT - 5).append("\" y=\"").append(Fmt.px(ys.px(t) + 4))
                    .append("\">").append(Fmt.num(t)).append("</text>");
        }
        svg.append("<text class=\"lx\" x=\"").append((LEFT + RIGHT) / 2).append("\" y=\"").append(bottom + 33)
                .append("\">").append(Fmt.esc(xLabel)).append("</text>");
        svg.append("<text class=\"ly\" transform=\"translate(14,").append((top + bottom) / 2)
                .append(") rotate(-90)\">").append(Fmt.esc(yLabel)).append("</text></g>");
    }

    /** Draws one line and returns its tooltip data: pixel positions and formatted values. */
    private static Map<String, Object> line(StringBuilder svg, Line l, Scale xs, Scale ys, int bottom) {
        Series s = l.series();
        int n = s.size();
        double[] px = new double[n], py = new double[n];
        List<String> xt = new ArrayList<>(n), yt = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            px[i] = Math.round(xs.px(s.x()[i]) * 10) / 10.0;
            py[i] = Math.round(ys.px(s.y()[i]) * 10) / 10.0;
            xt.add(Fmt.num(s.x()[i]));
            yt.add(Fmt.num(s.y()[i]));
        }
        StringBuilder d = new StringBuilder();
        if (l.look() == Look.STEP) {
            // bins of equal width on screen: each spans half-way to its neighbours' centres
            for (int i = 0; i < n; i++) {
                double left = i > 0 ? (px[i - 1] + px[i]) / 2 : n > 1 ? px[0] - (px[1] - px[0]) / 2 : px[0] - 5;
                double right = i < n - 1 ? (px[i] + px[i + 1]) / 2
                        : n > 1 ? px[i] + (px[i] - px[i - 1]) / 2 : px[0] + 5;
                if (i == 0) d.append('M').append(Fmt.px(left)).append(',').append(bottom);
                d.append('V').append(Fmt.px(py[i])).append('H').append(Fmt.px(right));
            }
            d.append('V').append(bottom);
        } else {
            for (int i = 0; i < n; i++) {
                d.append(i == 0 ? 'M' : 'L').append(Fmt.px(px[i])).append(',').append(Fmt.px(py[i]));
            }
        }
        svg.append("<g class=\"series\" data-run=\"").append(l.run()).append("\"><path d=\"").append(d)
                .append("\" stroke=\"").append(l.color()).append('"');
        if (l.dashed()) svg.append(" stroke-dasharray=\"5 3\"");
        if (l.look() == Look.MARKERS) svg.append(" stroke-width=\"1\"");
        svg.append("/>");
        if (l.look() == Look.MARKERS || (n == 1 && l.look() == Look.LINE)) {
            for (int i = 0; i < n; i++) {
                svg.append("<circle cx=\"").append(Fmt.px(px[i])).append("\" cy=\"").append(Fmt.px(py[i]))
                        .append("\" r=\"2.5\" fill=\"").append(l.color()).append("\"/>");
            }
        }
        svg.append("</g>");
        Map<String, Object> tip = new LinkedHashMap<>();
        tip.put("r", l.run());
        tip.put("l", l.label());
        tip.put("c", l.color());
        tip.put("px", px);
        tip.put("py", py);
        tip.put("xs", xt);
        tip.put("ys", yt);
        return tip;
    }

    /** Lays the legend out in rows above the plot; returns the number of rows. */
    private static int legend(List<Line> lines, StringBuilder out) {
        int x = LEFT, row = 0;
        for (Line l : lines) {
            int width = 30 + (int) Math.ceil(l.label().length() * 6.3) + 14;
            if (x > LEFT && x + width > RIGHT) {
                x = LEFT;
                row++;
            }
            int y = 12 + row * 16;
            out.append("<g class=\"lg\" data-run=\"").append(l.run()).append("\"><line x1=\"").append(x)
                    .append("\" x2=\"").append(x + 22).append("\" y1=\"").append(y - 4).append("\" y2=\"")
                    .append(y - 4).append("\" stroke=\"").append(l.color()).append('"')
                    .append(l.dashed() ? " stroke-dasharray=\"5 3\"" : "").append("/>");
            if (l.look() == Look.MARKERS) {
                out.append("<circle cx=\"").append(x + 11).append("\" cy=\"").append(y - 4)
                        .append("\" r=\"2.5\" fill=\"").append(l.color()).append("\"/>");
            }
            out.append("<text x=\"").append(x + 28).append("\" y=\"").append(y).append("\">")
                    .append(Fmt.esc(l.label())).append("</text></g>");
            x += width;
        }
        return lines.isEmpty() ? 0 : row + 1;
    }
}
