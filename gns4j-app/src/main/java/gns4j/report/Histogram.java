package gns4j.report;

import java.util.List;

/**
 * Histograms of several samples over shared bins, as the fraction of each sample per bin (so runs with different
 * batch sizes compare). Bins are log-spaced when the values span more than a decade, as per-example gradient norms
 * early in training do.
 */
public record Histogram(double[] edges, boolean log, List<double[]> fractions) {
    public static Histogram of(List<double[]> samples, int bins) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double[] s : samples) {
            for (double v : s) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (lo > hi) return new Histogram(new double[0], false, List.of());
        boolean log = lo > 0 && hi / lo > 10;
        double a = log ? Math.log10(lo) : lo, b = log ? Math.log10(hi) : hi;
        if (a == b) { // one distinct value: centre it in a bin of modest width
            double half = log ? 0.1 : (a == 0 ? 0.5 : Math.abs(a) * 0.05);
            a -= half;
            b += half;
        }
        double[] edges = new double[bins + 1];
        for (int i = 0; i <= bins; i++) {
            double t = a + (b - a) * i / bins;
            edges[i] = log ? Math.pow(10, t) : t;
        }
        double lo0 = a, width = (b - a) / bins;
        List<double[]> fractions = samples.stream().map(s -> {
            double[] f = new double[bins];
            for (double v : s) {
                double t = log ? Math.log10(v) : v;
                f[Math.clamp((long) Math.floor((t - lo0) / width), 0, bins - 1)] += 1.0 / s.length;
            }
            return f;
        }).toList();
        return new Histogram(edges, log, fractions);
    }

    public int bins() { return Math.max(0, edges.length - 1); }

    /** Bin centre on the binning's own scale (geometric for log bins). */
    public double center(int bin) {
        return log ? Math.sqrt(edges[bin] * edges[bin + 1]) : (edges[bin] + edges[bin + 1]) / 2;
    }

    /** Sample {@code i} as a series of (bin centre, fraction). */
    public Series series(int i, String label) {
        double[] x = new double[bins()];
        for (int b = 0; b < x.length; b++) x[b] = center(b);
        return new Series(label, x, fractions.get(i).clone());
    }
}
