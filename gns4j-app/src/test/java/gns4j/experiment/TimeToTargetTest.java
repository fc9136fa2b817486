package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.experiment.TimeToTarget.Eval;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Time to a target loss on synthetic validation curves. */
class TimeToTargetTest {

    /** Evaluations every 10 steps of 1000 tokens and 2 s each. */
    static List<Eval> curve(double... losses) {
        return java.util.stream.IntStream.range(0, losses.length)
                .mapToObj(i -> new Eval(10.0 * (i + 1), 1000.0 * (i + 1), 2.0 * (i + 1), losses[i])).toList();
    }

    @Test
    void interpolatesLinearlyBetweenTheEvaluationsAroundTheCrossing() {
        // 4.0 at step 20, 3.0 at step 30: 3.25 is 3/4 of the way.
        var r = TimeToTarget.reach(curve(5.0, 4.0, 3.0, 2.0), 3.25);
        assertEquals(27.5, r.steps(), 1e-12);
        assertEquals(2750, r.tokens(), 1e-9);
        assertEquals(5.5, r.seconds(), 1e-12);
    }

    @Test
    void takesTheFirstCrossingOfANonMonotoneCurve() {
        var r = TimeToTarget.reach(curve(5.0, 3.0, 4.0, 2.0), 3.5);
        assertEquals(17.5, r.steps(), 1e-12);
    }

    @Test
    void anExactHitIsThatEvaluation() {
        var r = TimeToTarget.reach(curve(5.0, 4.0, 3.0), 4.0);
        assertEquals(20, r.steps(), 1e-12);
        assertEquals(4.0, r.seconds(), 1e-12);
    }

    @Test
    void reachedAtTheFirstEvaluationIsThatEvaluation() {
        var r = TimeToTarget.reach(curve(2.0, 1.0), 3.0);
        assertEquals(10, r.steps(), 1e-12);
    }

    @Test
    void notReachedIsNull() {
        assertNull(TimeToTarget.reach(curve(5.0, 4.0, 3.1), 3.0));
        assertNull(TimeToTarget.reach(List.of(), 3.0));
        assertNull(TimeToTarget.reach(curve(Double.NaN, 4.0), 3.0), "NaN never counts as reached");
    }

    @Test
    void aBaselineReachesItsOwnFinalLossAtItsEndWhenItIsMonotone() {
        List<Eval> c = curve(5.0, 4.0, 3.5, 3.2);
        var r = TimeToTarget.reach(c, c.getLast().valLoss());
        assertEquals(40, r.steps(), 1e-12);
    }

    @Test
    void savingIsRelativeToTheBaseline() {
        assertEquals(25.0, TimeToTarget.savingPercent(75.0, 100.0), 1e-12);
        assertEquals(-10.0, TimeToTarget.savingPercent(110.0, 100.0), 1e-12);
        assertTrue(Double.isNaN(TimeToTarget.savingPercent(null, 100.0)));
    }
}
