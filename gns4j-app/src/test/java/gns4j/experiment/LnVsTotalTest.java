package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LnVsTotalTest {

    @Test
    void aConstantRatioCorrelatesPerfectlyInLogs() {
        double[] total = {1, 2, 5, 10, 40}, ln = new double[5];
        for (int i = 0; i < 5; i++) ln[i] = 0.5 * total[i];
        LnVsTotal s = LnVsTotal.of(total, ln);
        assertEquals(5, s.n());
        assertEquals(1.0, s.pearsonLog(), 1e-12);
        assertEquals(0.5, s.medianRatio(), 1e-12);
    }

    @Test
    void changesCorrelateOnlyWhenTheWigglesAgree() {
        // Both grow 10x over the run; LN follows total's wiggles in one case and the opposite wiggles in the other.
        int n = 400;
        double[] total = new double[n], follows = new double[n], opposes = new double[n];
        for (int i = 0; i < n; i++) {
            double trend = Math.pow(10, (double) i / n), wiggle = Math.sin(i / 7.0) * 0.2;
            total[i] = trend * Math.exp(wiggle);
            follows[i] = 0.5 * trend * Math.exp(wiggle);
            opposes[i] = 0.5 * trend * Math.exp(-wiggle);
        }
        LnVsTotal same = LnVsTotal.of(total, follows), opposite = LnVsTotal.of(total, opposes);
        assertEquals(1.0, same.pearsonDelta(), 1e-9);
        assertTrue(opposite.pearsonLog() > 0.5, "the shared trend alone correlates the logs: " + opposite.pearsonLog());
        assertTrue(opposite.pearsonDelta() < 0, "the changes disagree: " + opposite.pearsonDelta());
        assertTrue(opposite.ratioP95() > opposite.ratioP05());
    }

    @Test
    void anticorrelatedAndMedianOfEvenCount() {
        LnVsTotal s = LnVsTotal.of(new double[]{1, 2, 4, 8}, new double[]{8, 4, 2, 1});
        assertEquals(-1.0, s.pearsonLog(), 1e-12);
        assertEquals((0.5 + 2) / 2, s.medianRatio(), 1e-12); // ratios 8, 2, 0.5, 0.125
    }

    @Test
    void skipsStepsWithoutTwoPositiveEstimates() {
        List<RunCurve.Point> p = new ArrayList<>();
        p.add(point(1, null, 1.0));
        p.add(point(2, -1.0, 1.0));
        p.add(point(3, 2.0, 1.0));
        p.add(point(4, 4.0, 2.0));
        p.add(point(5, 8.0, 4.0));
        LnVsTotal s = LnVsTotal.of(new RunCurve(p));
        assertEquals(3, s.n());
        assertEquals(0.5, s.medianRatio(), 1e-12);
        assertTrue(Double.isNaN(LnVsTotal.of(new double[]{1, 2}, new double[]{1, 2}).pearsonLog()), "too few steps");
    }

    static RunCurve.Point point(int step, Double total, Double ln) {
        return new RunCurve.Point(step, step * 100L, step, step, 8, 8, 1e-3, null, total, ln, false);
    }
}
