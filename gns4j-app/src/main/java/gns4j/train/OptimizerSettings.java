package gns4j.train;

import gns4j.backend.AdamWSettings;
import gns4j.schedule.LrSchedule;

import static gns4j.train.TrainConfig.check;

/**
 * The optimizer keys of a {@link TrainConfig}: the learning-rate schedule in tokens and AdamW. {@code decay_tokens} 0
 * decays until the end of the run ({@link TrainConfig#lrSchedule}); {@code grad_clip} 0 is no clipping.
 * {@code lr_batch_exponent} e couples the LR to a changing batch: the step's LR is multiplied by (B / B₀)^e, B₀ the
 * run's first batch (0: off; 0.5: the square-root rule for Adam; 1: linear scaling).
 */
public record OptimizerSettings(double learningRate, double minLr, LrSchedule.Decay lrDecay, long warmupTokens,
                                long decayTokens, double lrBatchExponent, double weightDecay, double beta1,
                                double beta2, double adamEps, double gradClip) {
    public OptimizerSettings {
        check(learningRate > 0, "learning_rate", "must be > 0, got " + learningRate);
        check(minLr >= 0 && minLr <= learningRate, "min_lr",
                "must be in [0, learning_rate (" + learningRate + ")], got " + minLr);
        check(warmupTokens >= 0, "warmup_tokens", "must be >= 0, got " + warmupTokens);
        check(decayTokens >= 0, "decay_tokens", "must be >= 0, got " + decayTokens);
        check(decayTokens == 0 || decayTokens >= warmupTokens, "decay_tokens",
                "must be 0 or >= warmup_tokens (" + warmupTokens + "), got " + decayTokens);
        check(lrBatchExponent >= 0 && lrBatchExponent <= 1, "lr_batch_exponent", "must be in [0, 1], got " + lrBatchExponent);
        check(weightDecay >= 0, "weight_decay", "must be >= 0, got " + weightDecay);
        check(beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1), got " + beta1);
        check(beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1), got " + beta2);
        check(adamEps > 0, "adam_eps", "must be > 0, got " + adamEps);
        check(gradClip >= 0, "grad_clip", "must be >= 0 (0 = off), got " + gradClip);
    }

    public AdamWSettings adamW() { return new AdamWSettings(beta1, beta2, adamEps, weightDecay); }
}
