package gns4j.train;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;

import static gns4j.train.TrainConfig.check;

/** The gradient-noise-scale keys of a {@link TrainConfig}: which per-example norms a step takes, and the EMA factor. */
public record GnsSettings(double gnsAlpha, NormTracking perExampleNorms, LinearNormMethod linearNormMethod) {
    public GnsSettings {
        check(gnsAlpha > 0 && gnsAlpha < 1, "gns_alpha", "must be in (0, 1), got " + gnsAlpha);
    }
}
