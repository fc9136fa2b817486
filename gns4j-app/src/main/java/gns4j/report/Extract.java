package gns4j.report;

import gns4j.train.MetricsLine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;

/** Turns a run's step records into the series, matrices and samples the charts draw. */
public final class Extract {
    /** Parameter types in model order; types the trainer adds later follow in the order they appear. */
    public static final List<String> TYPE_ORDER =
            List.of("embedding", "attn_qkv", "attn_proj", "mlp_in", "mlp_out", "norm", "lm_head");

    private Extract() {}

    public static Series vsTokens(Run run, Metric m) { return points(run, m.label, r -> MetricsLine.orNaN(r.tokens()), m::of); }

    public static Series vsElapsed(Run run, Metric m) { return points(run, m.label, r -> MetricsLine.orNaN(r.elapsedS()), m::of); }

    /** The records where both x and y are finite, in record order. */
    public static Series points(Run run, String label, ToDoubleFunction<MetricsLine> x,
                                ToDoubleFunction<MetricsLine> y) {
        double[] xs = new double[run.steps().size()], ys = new double[xs.length];
        int n = 0;
        for (MetricsLine r : run.steps()) {
            double a = x.applyAsDouble(r), b = y.applyAsDouble(r);
            if (!Double.isFinite(a) || !Double.isFinite(b)) continue;
            xs[n] = a;
            ys[n++] = b;
        }
        return new Series(label, Arrays.copyOf(xs, n), Arrays.copyOf(ys, n));
    }

    /** One series per parameter type that has any value, GNS vs tokens. */
    public static List<Series> gnsByType(Run run) {
        Set<String> types = new LinkedHashSet<>(TYPE_ORDER);
        run.steps().forEach(r -> types.addAll(r.gnsType().keySet()));
        List<Series> out = new ArrayList<>();
        for (String type : types) {
            Series s = points(run, type, r -> MetricsLine.orNaN(r.tokens()), r -> r.gnsType().getOrDefault(type, Double.NaN));
            if (s.size() > 0) out.add(s);
        }
        return out;
    }

    /** Layer × step matrix of the steps that have any per-layer GNS. */
    public static LayerMatrix gnsByLayer(Run run) {
        Set<String> names = new HashSet<>();
        List<MetricsLine> rows = run.steps().stream().filter(r -> !r.gnsLayer().isEmpty()).toList();
        rows.forEach(r -> names.addAll(r.gnsLayer().keySet()));
        List<String> layers = names.stream().sorted(LAYER_ORDER).toList();
        long[] steps = rows.stream().mapToLong(MetricsLine::step).toArray();
        double[][] values = new double[layers.size()][rows.size()];
        for (int l = 0; l < layers.size(); l++) {
            for (int c = 0; c < rows.size(); c++) {
                values[l][c] = rows.get(c).gnsLayer().getOrDefault(layers.get(l), Double.NaN);
            }
        }
        return new LayerMatrix(layers, steps, values);
    }

    /**
     * The finite per-example gradient norms pooled over the run's last {@code lastSteps} records that have any (all
     * of them when {@code lastSteps <= 0}).
     */
    public static double[] peNorms(Run run, Function<MetricsLine, double[]> which, int lastSteps) {
        List<double[]> arrays = run.steps().stream().map(r -> finite(which.apply(r))).filter(a -> a.length > 0).toList();
        if (lastSteps > 0) arrays = arrays.subList(Math.max(0, arrays.size() - lastSteps), arrays.size());
        return arrays.stream().flatMapToDouble(Arrays::stream).toArray();
    }

    /** Number of records that carry finite per-example norms of the given kind. */
    public static int peNormSteps(Run run, Function<MetricsLine, double[]> which) {
        return (int) run.steps().stream().filter(r -> finite(which.apply(r)).length > 0).count();
    }

    private static double[] finite(double[] values) { return Arrays.stream(values).filter(Double::isFinite).toArray(); }

    private static final Pattern BLOCK = Pattern.compile("h\\.\\d{1,9}");

    /** embed, h.0 ... h.N by block number, head, then anything else by name. */
    static final Comparator<String> LAYER_ORDER = Comparator.comparingInt(Extract::layerRank)
            .thenComparingInt(Extract::blockIndex).thenComparing(Comparator.naturalOrder());

    private static int layerRank(String name) {
        if (name.equals("embed")) return 0;
        if (blockIndex(name) >= 0) return 1;
        return name.equals("head") ? 2 : 3;
    }

    private static int blockIndex(String name) {
        if (!BLOCK.matcher(name).matches()) return -1;
        return Integer.parseInt(name.substring(2));
    }

    /** The last finite value of a metric, NaN if none. */
    public static double last(Run run, Metric m) {
        for (MetricsLine r : run.steps().reversed()) {
            double v = m.of(r);
            if (Double.isFinite(v)) return v;
        }
        return Double.NaN;
    }
}
