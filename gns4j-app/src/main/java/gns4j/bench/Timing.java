package gns4j.bench;

import java.util.Arrays;

/** Median and spread of repeated throughput measurements (warm-up runs excluded by the caller). */
record Timing(double median, double min, double max, int reps) {
    static Timing of(double[] rates) {
        double[] s = rates.clone();
        Arrays.sort(s);
        int n = s.length;
        double median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        return new Timing(median, s[0], s[n - 1], n);
    }

    String spread() { return String.format("±%.0f%%", 50 * (max - min) / median); }
}
