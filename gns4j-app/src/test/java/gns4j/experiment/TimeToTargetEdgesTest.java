package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.experiment.TimeToTarget.Eval;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Time to a target where steps, tokens and seconds do not grow in proportion, and savings without a baseline. */
class TimeToTargetEdgesTest {

    @Test
    void eachCoordinateIsInterpolatedOnItsOwn() {
        // 6.0 at (step 4, 1000 tokens, 30 s), 2.0 at (step 6, 3000 tokens, 40 s): 5.0 is f = 1/4 of the way.
        var r = TimeToTarget.reach(List.of(new Eval(4, 1000, 30, 6.0), new Eval(6, 3000, 40, 2.0)), 5.0);
        assertEquals(4.5, r.steps(), 1e-12);
        assertEquals(1500, r.tokens(), 1e-9);
        assertEquals(32.5, r.seconds(), 1e-12);
        // Reached at the first evaluation: its own coordinates.
        var first = TimeToTarget.reach(List.of(new Eval(4, 1000, 30, 6.0)), 6.0);
        assertEquals(new TimeToTarget.Reach(4, 1000, 30), first);
    }

    @Test
    void aSavingNeedsBothCostsAndAPositiveBaseline() {
        assertEquals(0.0, TimeToTarget.savingPercent(8.0, 8.0), 0);
        assertEquals(100.0, TimeToTarget.savingPercent(0.0, 8.0), 0);
        assertTrue(Double.isNaN(TimeToTarget.savingPercent(8.0, null)));
        assertTrue(Double.isNaN(TimeToTarget.savingPercent(8.0, 0.0)));
        assertTrue(Double.isNaN(TimeToTarget.savingPercent(8.0, -2.0)));
        assertTrue(Double.isNaN(TimeToTarget.savingPercent(8.0, Double.NaN)));
    }
}
