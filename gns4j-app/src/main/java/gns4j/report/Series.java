package gns4j.report;

/** The points (x[i], y[i]) of one line, in record order. */
public record Series(String label, double[] x, double[] y) {
    public int size() { return x.length; }

    Series withLabel(String newLabel) { return new Series(newLabel, x, y); }

    Series scaleX(double factor) {
        double[] sx = new double[x.length];
        for (int i = 0; i < sx.length; i++) sx[i] = x[i] * factor;
        return new Series(label, sx, y);
    }

    /** Only the points with x and y strictly positive (what a log axis can show). */
    Series positive(boolean xLog, boolean yLog) {
        int n = 0;
        double[] px = new double[x.length], py = new double[y.length];
        for (int i = 0; i < x.length; i++) {
            if ((xLog && !(x[i] > 0)) || (yLog && !(y[i] > 0))) continue;
            px[n] = x[i];
            py[n++] = y[i];
        }
        return new Series(label, java.util.Arrays.copyOf(px, n), java.util.Arrays.copyOf(py, n));
    }

    /**
     * At most {@code max} points: consecutive points averaged in equal-count buckets, so that a long run stays a
     * light page while its shape (and every value a tooltip shows, as a local mean) is kept.
     */
    Series decimate(int max) {
        if (x.length <= max) return this;
        double[] dx = new double[max], dy = new double[max];
        for (int b = 0; b < max; b++) {
            int from = (int) ((long) b * x.length / max), to = (int) ((long) (b + 1) * x.length / max);
            for (int i = from; i < to; i++) {
                dx[b] += x[i];
                dy[b] += y[i];
            }
            dx[b] /= to - from;
            dy[b] /= to - from;
        }
        return new Series(label, dx, dy);
    }
}
