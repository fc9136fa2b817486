package gns4j.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training throughput as a function of the batch, from a few measured points (tok/s at batch B, micro-batch = B, on
 * one device): what the goodput policy weighs the GNS against, and what the data-parallel projection turns into
 * per-GPU step times.
 *
 * <p>Between measured batches the cost per step is interpolated linearly: with c(B) = B / tok/s(B) (a step's seconds
 * per token position, i.e. the step time divided by the sequence length), c is linear between neighbours, as a step
 * time that is a fixed overhead plus a per-sequence cost is. Below the smallest measured batch the first segment is
 * extended (overhead + per-sequence cost), but never to a higher rate than the smallest batch's; above the largest the
 * rate stays the largest batch's (no gain is assumed that was not measured).
 *
 * @param points measured batches, ascending, at least two
 */
public record Throughput(List<Point> points) {
    /** tok/s of training steps of {@code batch} sequences. */
    public record Point(int batch, double tokPerS) {}

    public Throughput {
        points = List.copyOf(points);
        if (points.size() < 2) throw new IllegalArgumentException("a throughput curve needs at least 2 batch sizes, got " + points.size());
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            if (p.batch() < 1 || !(p.tokPerS() > 0) || Double.isInfinite(p.tokPerS()))
                throw new IllegalArgumentException("throughput point " + p.batch() + ":" + p.tokPerS() + " needs a batch >= 1 and a finite rate > 0");
            if (i > 0 && p.batch() <= points.get(i - 1).batch())
                throw new IllegalArgumentException("throughput batches must ascend, got " + points.get(i - 1).batch() + " then " + p.batch());
        }
    }

    /** Parses {@code "B:tok/s,B:tok/s,..."} (as {@link #spec()} writes it). */
    public static Throughput parse(String spec) {
        List<Point> pts = new ArrayList<>();
        for (String part : spec.split(",")) {
            String[] bt = part.trim().split(":");
            if (bt.length != 2) throw new IllegalArgumentException("'" + part.trim() + "' is not BATCH:TOK_PER_S");
            try {
                pts.add(new Point(Integer.parseInt(bt[0].trim()), Double.parseDouble(bt[1].trim())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + part.trim() + "' is not BATCH:TOK_PER_S");
            }
        }
        return new Throughput(pts);
    }

    /** {@code "B:tok/s,..."}, whole tok/s: the form a config key holds. */
    public String spec() {
        StringBuilder sb = new StringBuilder();
        for (Point p : points) sb.append(sb.isEmpty() ? "" : ",").append(p.batch()).append(':').append(String.format(Locale.ROOT, "%.0f", p.tokPerS()));
        return sb.toString();
    }

    /** tok/s of a step of {@code batch} sequences (interpolated as the class comment says). */
    public double tokPerS(double batch) { return batch / costPerStep(batch); }

    /** c(B) = B / tok/s(B): a step's seconds per token position (step time / sequence length). */
    double costPerStep(double batch) {
        if (!(batch > 0)) throw new IllegalArgumentException("batch must be > 0, got " + batch);
        Point first = points.getFirst(), last = points.getLast();
        if (batch >= last.batch()) return batch / last.tokPerS();
        int i = 1;
        while (i < points.size() - 1 && points.get(i).batch() < batch) i++;
        Point a = points.get(i - 1), b = points.get(i);
        double ca = a.batch() / a.tokPerS(), cb = b.batch() / b.tokPerS();
        double linear = ca + (batch - a.batch()) * (cb - ca) / (b.batch() - a.batch());
        return batch >= first.batch() ? linear : Math.max(linear, batch / first.tokPerS());
    }

    /**
     * The goodput batch: among {@code min, min + unit, ..., max} the B that minimises (B + B_noise) / tok/s(B), the
     * time per unit of progress when the steps needed scale as 1 + B_noise / B (McCandlish et al. 2018); the smallest
     * such B on a tie. A negative B_noise counts as 0 (the unbiased estimate can dip below it).
     */
    public int goodputBatch(double noiseScale, int min, int max, int unit) {
        if (min < 1 || max < min || unit < 1) throw new IllegalArgumentException("need 1 <= min <= max and unit >= 1, got " + min + ", " + max + ", " + unit);
        double noise = Math.max(0, noiseScale);
        int best = min;
        double bestTime = Double.POSITIVE_INFINITY;
        for (long b = min; b <= max; b += unit) {
            double time = (b + noise) / tokPerS(b);
            if (time < bestTime * (1 - 1e-12)) {
                bestTime = time;
                best = (int) b;
            }
        }
        return best;
    }
}
