package gns4j.report;

import gns4j.train.MetricsLine;

import java.util.function.ToDoubleFunction;

import static gns4j.train.MetricsLine.orNaN;

/** The per-step scalars the report plots against tokens or time; a step without the value gives NaN. */
public enum Metric {
    LOSS("train loss", r -> orNaN(r.loss())),
    VAL_LOSS("val loss", r -> orNaN(r.valLoss())),
    LR("learning rate", r -> orNaN(r.lr())),
    BATCH_SIZE("batch size", r -> orNaN(r.batchSize())),
    GRAD_NORM("grad norm", r -> orNaN(r.gradNorm())),
    GNS_TOTAL("total GNS", r -> orNaN(r.gnsTotal())),
    GNS_LN("LayerNorm GNS", r -> orNaN(r.gnsLn())),
    /** LN-GNS / total GNS: the paper's claim is that this stays near a constant through training. */
    GNS_RATIO("LN / total GNS", r -> orNaN(r.gnsLn()) / orNaN(r.gnsTotal())),
    TOK_PER_S("tokens/s", r -> orNaN(r.tokPerS())),
    ELAPSED_S("elapsed s", r -> orNaN(r.elapsedS()));

    public final String label;
    final ToDoubleFunction<MetricsLine> value;

    Metric(String label, ToDoubleFunction<MetricsLine> value) {
        this.label = label;
        this.value = value;
    }

    public double of(MetricsLine r) { return value.applyAsDouble(r); }
}
