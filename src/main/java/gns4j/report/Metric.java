package gns4j.report;

import java.util.function.ToDoubleFunction;

/** The per-step scalars the report plots against tokens or time. */
public enum Metric {
    LOSS("train loss", StepRecord::loss),
    VAL_LOSS("val loss", StepRecord::valLoss),
    LR("learning rate", StepRecord::lr),
    BATCH_SIZE("batch size", StepRecord::batchSize),
    GRAD_NORM("grad norm", StepRecord::gradNorm),
    GNS_TOTAL("total GNS", StepRecord::gnsTotal),
    GNS_LN("LayerNorm GNS", StepRecord::gnsLn),
    /** LN-GNS / total GNS: the paper's claim is that this stays near a constant through training. */
    GNS_RATIO("LN / total GNS", r -> r.gnsLn() / r.gnsTotal()),
    TOK_PER_S("tokens/s", StepRecord::tokPerS),
    ELAPSED_S("elapsed s", StepRecord::elapsedS);

    public final String label;
    final ToDoubleFunction<StepRecord> value;

    Metric(String label, ToDoubleFunction<StepRecord> value) {
        this.label = label;
        this.value = value;
    }

    public double of(StepRecord r) { return value.applyAsDouble(r); }
}
