package gns4j.report;

/**
 * Draws a {@link LayerMatrix} as a layer × step heat map on a log colour scale, with a colour bar. Steps are grouped
 * into at most {@value #MAX_COLUMNS} columns (geometric mean per cell) so that long runs stay a light page.
 */
final class HeatMap {
    static final int MAX_COLUMNS = 160;
    private static final int LEFT = 62, RIGHT = LineChart.W - 74, TOP = 8;
    /** Viridis sampled at tenths: perceptually even, readable in grey print and by colour-blind readers. */
    private static final int[] STOPS = {0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e, 0x1f9e89, 0x35b779,
            0x6ece58, 0xb5de2b, 0xfde725};

    private HeatMap() {}

    static LineChart.Drawn draw(String id, int run, LayerMatrix m) {
        if (m.isEmpty()) return new LineChart.Drawn("", 0, 0);
        long first = m.steps()[0], last = m.steps()[m.steps().length - 1];
        long width = Math.max(1, (last - first + MAX_COLUMNS) / MAX_COLUMNS); // steps per column
        int cols = (int) ((last - first) / width) + 1, layers = m.layers().size();
        double[][] cell = new double[layers][cols];
        int hidden = 0;
        for (int l = 0; l < layers; l++) {
            double[] logSum = new double[cols];
            int[] count = new int[cols];
            for (int c = 0; c < m.steps().length; c++) {
                double v = m.values()[l][c];
                if (Double.isNaN(v)) continue;
                if (!(v > 0)) { // a noisy estimate below zero has no place on a log scale
                    hidden++;
                    continue;
                }
                int col = (int) ((m.steps()[c] - first) / width);
                logSum[col] += Math.log10(v);
                count[col]++;
            }
            for (int c = 0; c < cols; c++) cell[l][c] = count[c] > 0 ? logSum[c] / count[c] : Double.NaN;
        }
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        int points = 0;
        for (double[] row : cell) {
            for (double v : row) {
                if (Double.isNaN(v)) continue;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                points++;
            }
        }
        if (points == 0) return new LineChart.Drawn("", 0, hidden);
        if (hi - lo < 1e-9) {
            lo -= 0.5;
            hi += 0.5;
        }

        double rowH = Math.clamp(240.0 / layers, 4, 18), bottom = TOP + rowH * layers;
        int height = (int) Math.ceil(bottom) + 40;
        Scale xs = new Scale(first, first + (double) cols * width, false, LEFT, RIGHT);
        double colW = (xs.px(first + width) - xs.px(first));
        StringBuilder svg = new StringBuilder();
        svg.append("<svg data-chart=\"").append(id).append("\" data-points=\"").append(points)
                .append("\" viewBox=\"0 0 ").append(LineChart.W).append(' ').append(height)
                .append("\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><g class=\"cells\">");
        for (int l = 0; l < layers; l++) {
            for (int c = 0; c < cols; c++) {
                if (Double.isNaN(cell[l][c])) continue;
                long s0 = first + c * width, s1 = s0 + width - 1;
                String steps = width == 1 ? "step " + s0 : "steps " + s0 + "–" + s1;
                svg.append("<rect x=\"").append(Fmt.px(xs.px(s0))).append("\" y=\"").append(Fmt.px(TOP + l * rowH))
                        .append("\" width=\"").append(Fmt.px(colW + 0.3)).append("\" height=\"")
                        .append(Fmt.px(rowH + 0.3)).append("\" fill=\"").append(color((cell[l][c] - lo) / (hi - lo)))
                        .append("\" data-tip=\"").append(Fmt.esc(m.layers().get(l) + " · " + steps + " · GNS "
                                + Fmt.num(Math.pow(10, cell[l][c])))).append("\"/>");
            }
        }
        svg.append("</g><g class=\"axis\"><rect x=\"").append(LEFT).append("\" y=\"").append(TOP)
                .append("\" width=\"").append(RIGHT - LEFT).append("\" height=\"").append(Fmt.px(bottom - TOP))
                .append("\"/>");
        int every = (int) Math.ceil(11 / rowH); // label every row only when rows are tall enough for text
        for (int l = 0; l < layers; l += every) {
            svg.append("<text class=\"ty\" x=\"").append(LEFT - 5).append("\" y=\"")
                    .append(Fmt.px(TOP + (l + 0.5) * rowH + 4)).append("\">").append(Fmt.esc(m.layers().get(l)))
                    .append("</text>");
        }
        for (double t : xs.ticks()) {
            svg.append("<text class=\"tx\" x=\"").append(Fmt.px(xs.px(t))).append("\" y=\"")
                    .append(Fmt.px(bottom + 15)).append("\">").append(Fmt.num(t)).append("</text>");
        }
        svg.append("<text class=\"lx\" x=\"").append((LEFT + RIGHT) / 2).append("\" y=\"").append(Fmt.px(bottom + 33))
                .append("\">step</text></g>");
        colorBar(svg, "cb-" + id + "-" + run, lo, hi, bottom);
        return new LineChart.Drawn(svg.append("</svg>").toString(), points, hidden);
    }

    private static void colorBar(StringBuilder svg, String gradientId, double lo, double hi, double bottom) {
        int x = RIGHT + 14;
        svg.append("<defs><linearGradient id=\"").append(gradientId).append("\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
        for (int i = 0; i < STOPS.length; i++) {
            svg.append("<stop offset=\"").append(Fmt.num(i / (STOPS.length - 1.0))).append("\" stop-color=\"")
                    .append(hex(STOPS[i])).append("\"/>");
        }
        svg.append("</linearGradient></defs><rect x=\"").append(x).append("\" y=\"").append(TOP)
                .append("\" width=\"12\" height=\"").append(Fmt.px(bottom - TOP)).append("\" fill=\"url(#")
                .append(gradientId).append(")\"/><g class=\"axis\">");
        for (double t : new double[]{0, 0.5, 1}) {
            svg.append("<text class=\"tl\" x=\"").append(x + 16).append("\" y=\"")
                    .append(Fmt.px(bottom - t * (bottom - TOP) + 4)).append("\">")
                    .append(Fmt.num(Math.pow(10, lo + t * (hi - lo)))).append("</text>");
        }
        svg.append("</g>");
    }

    /** Colour at {@code t} in [0, 1], interpolated between the viridis stops. */
    static String color(double t) {
        double p = Math.clamp(t, 0, 1) * (STOPS.length - 1);
        int i = Math.min((int) p, STOPS.length - 2);
        double f = p - i;
        int a = STOPS[i], b = STOPS[i + 1], rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            int ca = (a >> shift) & 0xff, cb = (b >> shift) & 0xff;
            rgb |= (int) Math.round(ca + f * (cb - ca)) << shift;
        }
        return hex(rgb);
    }

    private static String hex(int rgb) { return String.format("#%06x", rgb); }
}
