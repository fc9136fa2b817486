package gns4j.bench;

import com.google.gson.JsonObject;

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

    /** {"median": .., "min": .., "max": .., "reps": ..}, rates rounded to 0.1. */
    JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("median", Math.round(median * 10) / 10.0);
        o.addProperty("min", Math.round(min * 10) / 10.0);
        o.addProperty("max", Math.round(max * 10) / 10.0);
        o.addProperty("reps", reps);
        return o;
    }

    String spread() { return String.format("±%.0f%%", 50 * (max - min) / median); }
}
