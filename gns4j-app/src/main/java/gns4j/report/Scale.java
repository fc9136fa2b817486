package gns4j.report;

import java.util.ArrayList;
import java.util.List;

/** Maps data values on one axis to pixels, linearly or on log10, and picks readable tick values. */
record Scale(double lo, double hi, boolean log, double p0, double p1) {
    /**
     * Domain of the data, padded slightly on log axes; with {@code nice}, linear domains widen to round tick values
     * (good for values, while x axes in tokens or steps read better ending at the data).
     */
    static Scale of(double min, double max, boolean log, boolean fromZero, boolean nice, double p0, double p1) {
        if (log) {
            if (min == max) return new Scale(min / 2, max * 2, true, p0, p1);
            double pad = 0.03 * Math.log10(max / min);
            return new Scale(min / Math.pow(10, pad), max * Math.pow(10, pad), true, p0, p1);
        }
        if (fromZero && min > 0) min = 0;
        if (fromZero && max < 0) max = 0;
        if (max - min <= 1e-9 * Math.max(Math.abs(min), Math.abs(max))) { // constant but for rounding
            double d = min == 0 ? 1 : Math.abs(min) * 0.1;
            min -= d;
            max += d;
        }
        if (!nice) return new Scale(min, max, false, p0, p1);
        double step = niceStep((max - min) / 5);
        return new Scale(Math.floor(min / step) * step, Math.ceil(max / step) * step, false, p0, p1);
    }

    double px(double v) {
        double t = (f(v) - f(lo)) / (f(hi) - f(lo));
        return p0 + t * (p1 - p0);
    }

    private double f(double v) { return log ? Math.log10(v) : v; }

    List<Double> ticks() {
        if (!log) return linearTicks(lo, hi, 5);
        List<Double> t = new ArrayList<>();
        for (int e = (int) Math.floor(Math.log10(lo)); e <= (int) Math.ceil(Math.log10(hi)); e++) {
            for (int m : new int[]{1, 2, 5}) {
                double v = m * Math.pow(10, e);
                if (v >= lo && v <= hi) t.add(v);
            }
        }
        if (t.size() > 7) t.removeIf(v -> Math.abs(Math.log10(v) - Math.rint(Math.log10(v))) > 1e-9);
        while (t.size() > 7) { // very wide ranges: every other decade
            List<Double> half = new ArrayList<>();
            for (int i = 0; i < t.size(); i += 2) half.add(t.get(i));
            t = half;
        }
        return t.size() >= 2 ? t : linearTicks(lo, hi, 4); // less than a decade: ordinary ticks read better
    }

    private static List<Double> linearTicks(double lo, double hi, int target) {
        double step = niceStep((hi - lo) / target);
        List<Double> t = new ArrayList<>();
        for (long i = (long) Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) t.add(i * step);
        return t;
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / mag;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    }
}
