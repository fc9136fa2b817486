package gns4j.experiment;

import gns4j.gns.Quantiles;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The paper's finding tested on one run: does the LayerNorm-only GNS track the total GNS? Over the steps where both
 * smoothed estimates are defined and positive:
 * <ul>
 *   <li>the Pearson correlation of their logarithms (scale-free, so a constant ratio gives 1). Both grow through
 *       training, so this is high for any two growing series;</li>
 *   <li>the correlation of their changes: of Δ log GNS between consecutive samples {@link #STRIDE} steps apart, the
 *       trend removed — what a controller that follows LN-GNS relies on;</li>
 *   <li>the ratio gns_ln / gns_total: its median, its 5th–95th percentile range, and its median over the first and
 *       the last tenth of the steps (where it drifts).</li>
 * </ul>
 *
 * @param n            steps used
 * @param pearsonLog   correlation of log gns_ln with log gns_total, NaN with fewer than 3 steps or no spread
 * @param pearsonDelta correlation of their changes, NaN with fewer than 3 changes
 */
public record LnVsTotal(int n, double pearsonLog, double pearsonDelta, double medianRatio, double ratioP05,
                        double ratioP95, double ratioEarly, double ratioLate) {
    /** Steps between the samples whose changes are correlated: long enough that the EMA's step noise averages out. */
    static final int STRIDE = 25;

    public static LnVsTotal of(RunCurve run) {
        List<double[]> pairs = new ArrayList<>();
        for (RunCurve.Point p : run.points())
            if (p.gnsLn() != null && p.gnsTotal() != null && p.gnsLn() > 0 && p.gnsTotal() > 0)
                pairs.add(new double[]{p.gnsTotal(), p.gnsLn()});
        double[] total = pairs.stream().mapToDouble(a -> a[0]).toArray();
        double[] ln = pairs.stream().mapToDouble(a -> a[1]).toArray();
        return of(total, ln);
    }

    /** From paired positive values in step order. */
    public static LnVsTotal of(double[] total, double[] ln) {
        int n = total.length;
        double[] ratio = new double[n], lt = new double[n], ll = new double[n];
        for (int i = 0; i < n; i++) {
            ratio[i] = ln[i] / total[i];
            lt[i] = Math.log(total[i]);
            ll[i] = Math.log(ln[i]);
        }
        int stride = Math.max(1, Math.min(STRIDE, n / 20));
        int m = Math.max(0, (n - 1) / stride);
        double[] dt = new double[m], dl = new double[m];
        for (int i = 0; i < m; i++) {
            dt[i] = lt[(i + 1) * stride] - lt[i * stride];
            dl[i] = ll[(i + 1) * stride] - ll[i * stride];
        }
        int tenth = Math.max(1, n / 10);
        return new LnVsTotal(n, pearson(lt, ll), pearson(dt, dl), median(ratio), quantile(ratio, 0.05), quantile(ratio, 0.95),
                n == 0 ? Double.NaN : median(Arrays.copyOfRange(ratio, 0, tenth)),
                n == 0 ? Double.NaN : median(Arrays.copyOfRange(ratio, n - tenth, n)));
    }

    static double pearson(double[] x, double[] y) {
        int n = x.length;
        if (n < 3) return Double.NaN;
        double mx = Arrays.stream(x).average().orElseThrow(), my = Arrays.stream(y).average().orElseThrow();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Double.NaN;
    }

    static double median(double[] v) { return quantile(v, 0.5); }

    /** The q-quantile, interpolated between order statistics; NaN for no values. */
    static double quantile(double[] v, double q) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        return Quantiles.ofSorted(s, q);
    }
}
