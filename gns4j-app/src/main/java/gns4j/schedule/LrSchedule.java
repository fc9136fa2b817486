package gns4j.schedule;

/**
 * Learning rate as a function of tokens seen (not steps), so that it stays the same curve when the batch size
 * changes during a run: linear warmup from 0 to {@code lr} over {@code warmupTokens}, then {@code decay} down to
 * {@code minLr} at {@code decayTokens}, and {@code minLr} from there on. {@link Decay#CONSTANT} holds {@code lr}
 * after warmup and ignores {@code minLr} and {@code decayTokens}.
 */
public record LrSchedule(double lr, double minLr, Decay decay, long warmupTokens, long decayTokens) {

    /** Shape of the curve between the end of warmup and {@code decayTokens}. */
    public enum Decay { COSINE, LINEAR, CONSTANT }

    public LrSchedule {
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (!(minLr >= 0 && minLr <= lr))
            throw new IllegalArgumentException("min_lr must be in [0, lr], got " + minLr);
        if (decay == null) throw new IllegalArgumentException("decay must not be null");
        if (warmupTokens < 0 || decayTokens < 0)
            throw new IllegalArgumentException("token counts must be >= 0, got " + warmupTokens + ", " + decayTokens);
    }

    /** The learning rate for a step that starts after {@code tokensSeen} tokens. */
    public double lr(long tokensSeen) {
        if (tokensSeen < warmupTokens) return lr * tokensSeen / warmupTokens;
        if (decay == Decay.CONSTANT) return lr;
        // A decay horizon inside warmup (a run shorter than its warmup) has nothing to decay: go straight to the floor.
        if (tokensSeen >= decayTokens) return minLr;
        double progress = (double) (tokensSeen - warmupTokens) / (decayTokens - warmupTokens);
        double factor = decay == Decay.COSINE ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
        return minLr + factor * (lr - minLr);
    }
}
