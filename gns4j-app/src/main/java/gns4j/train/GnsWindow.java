package gns4j.train;

/**
 * How far back the training GNS looks. Its estimators are moving averages with factor α, updated once per good
 * step: a step k updates ago weighs α^k, so the average spans about its time constant 1 / (1 − α) steps (20 at
 * α = 0.95, 100 at 0.99), or every step so far when fewer were made.
 *
 * @param steps  the steps the average spans
 * @param tokens the tokens of those steps at the current batch (exact for a fixed batch, the recent end of a ramp)
 */
public record GnsWindow(int steps, long tokens) {

    /** The window after {@code goodSteps} updates with factor {@code alpha}, each of {@code tokensPerStep} tokens. */
    public static GnsWindow of(double alpha, long goodSteps, long tokensPerStep) {
        int steps = (int) Math.min(goodSteps, Math.round(1 / (1 - alpha)));
        return new GnsWindow(steps, steps * tokensPerStep);
    }

    /** "last 20 steps, 41k tokens". */
    public String describe() { return "last " + steps + (steps == 1 ? " step, " : " steps, ") + StatusLine.compact(tokens) + " tokens"; }
}
