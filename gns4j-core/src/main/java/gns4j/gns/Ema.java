package gns4j.gns;

/**
 * Exponential moving average with bias correction, as Adam does it:
 * <pre>
 *   m_t = α·m_{t−1} + (1 − α)·x_t,  m_0 = 0
 *   w_t = α·w_{t−1} + (1 − α),      w_0 = 0   (so w_t = 1 − α^t)
 *   value = m_t / w_t
 * </pre>
 * Without the correction early values are pulled towards 0 (m_1 = 0.01·x_1 at α = 0.99); with it the first value is
 * x_1 and a constant input yields that constant from the start. The value is undefined (null) before the first
 * update. The state is the pair (m, w), so a restored average continues bit for bit.
 *
 * <p>Two averages with the same α and the same number of updates share w, so the ratio of their values equals the
 * ratio of the uncorrected m: the correction does not change a GNS taken as a ratio of two EMAs, only the reported
 * smoothed |G|² and tr(Σ). Not thread-safe.
 */
public final class Ema {

    /** The smoothing of nanoGNS: an effective window of about 100 steps. */
    public static final double DEFAULT_ALPHA = 0.99;

    private final double alpha;
    private double sum;
    private double weight;

    /**
     * An average that gives the past weight α.
     *
     * @param alpha weight of the past, in [0, 1); 0 keeps only the last value
     * @throws IllegalArgumentException if α is outside [0, 1)
     */
    public Ema(double alpha) {
        if (!(alpha >= 0 && alpha < 1)) throw new IllegalArgumentException("EMA alpha must be in [0, 1), got " + alpha);
        this.alpha = alpha;
    }

    /** An average with {@link #DEFAULT_ALPHA}. */
    public Ema() {
        this(DEFAULT_ALPHA);
    }

    /** {@return α, the weight of the past} */
    public double alpha() {
        return alpha;
    }

    /**
     * Folds in the next value.
     *
     * @param x the value, finite
     * @throws IllegalArgumentException if {@code x} is NaN or infinite (it would poison the average for good)
     */
    public void update(double x) {
        if (!Double.isFinite(x)) throw new IllegalArgumentException("EMA input must be finite, got " + x);
        sum = alpha * sum + (1 - alpha) * x;
        weight = alpha * weight + (1 - alpha);
    }

    /** {@return the bias-corrected average, or null before the first update} */
    public Double value() {
        return weight > 0 ? sum / weight : null;
    }

    /** {@return the state to save in a checkpoint} */
    public State state() {
        return new State(sum, weight);
    }

    /**
     * Replaces the state by a saved one.
     *
     * @param s a state taken from an average with the same α
     */
    public void restore(State s) {
        sum = s.sum();
        weight = s.weight();
    }

    /**
     * The saved state of an average.
     *
     * @param sum    the uncorrected average m
     * @param weight the correction weight w = 1 − α^t; 0 before the first update
     */
    public record State(double sum, double weight) {
        /** Checks the state. @throws IllegalArgumentException unless m is finite, w in [0, 1], and m = 0 when w = 0 */
        public State {
            if (!Double.isFinite(sum) || !(weight >= 0 && weight <= 1) || (weight == 0 && sum != 0))
                throw new IllegalArgumentException("invalid EMA state sum=" + sum + " weight=" + weight);
        }
    }
}
