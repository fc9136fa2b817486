package gns4j.experiment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The paper's finding tested on one run: does the LayerNorm-only GNS track the total GNS? Over the steps where both
 * smoothed estimates are defined and positive: the Pearson correlation of their logarithms (scale-free, so a
 * constant ratio gives 1) and the median of gns_ln / gns_total.
 *
 * @param n           steps used
 * @param pearsonLog  correlation of log gns_ln with log gns_total, NaN with fewer than 3 steps or no spread
 * @param medianRatio median of gns_ln / gns_total, NaN when n = 0
 */
public record LnVsTotal(int n, double pearsonLog, double medianRatio) {

    public static LnVsTotal of(RunCurve run) {
        List<double[]> pairs = new ArrayList<>();
        for (RunCurve.Point p : run.points())
            if (p.gnsLn() != null && p.gnsTotal() != null && p.gnsLn() > 0 && p.gnsTotal() > 0)
                pairs.add(new double[]{p.gnsTotal(), p.gnsLn()});
        double[] total = pairs.stream().mapToDouble(a -> a[0]).toArray();
        double[] ln = pairs.stream().mapToDouble(a -> a[1]).toArray();
        return of(total, ln);
    }

    /** From paired positive values. */
    public static LnVsTotal of(double[] total, double[] ln) {
        int n = total.length;
        double[] ratio = new double[n], lt = new double[n], ll = new double[n];
        for (int i = 0; i < n; i++) {
            ratio[i] = ln[i] / total[i];
            lt[i] = Math.log(total[i]);
            ll[i] = Math.log(ln[i]);
        }
        return new LnVsTotal(n, pearson(lt, ll), median(ratio));
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

    static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : 0.5 * (s[m - 1] + s[m]);
    }
}
