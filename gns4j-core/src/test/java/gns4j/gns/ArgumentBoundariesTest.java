package gns4j.gns;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The argument checks at their edges: the last valid value passes, the first invalid one fails, naming itself. */
class ArgumentBoundariesTest {

    @Test
    void emaStateWeightFromZeroToOneInclusive() {
        assertEquals(0, new Ema.State(0, 0).weight());
        assertEquals(1, new Ema.State(3, 1).weight());
        assertThrows(IllegalArgumentException.class, () -> new Ema.State(0, Math.nextDown(0.0)));
        assertThrows(IllegalArgumentException.class, () -> new Ema.State(0, Math.nextUp(1.0)));
    }

    @Test
    void tensorIndexFromZero() {
        assertEquals(0, new TrackedTensor(0, "w", "norm", "h.0", true).index());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TrackedTensor(-1, "w", "norm", "h.0", true));
        assertEquals("tensor index must be >= 0, got -1", e.getMessage());
    }

    @Test
    void estimatorNamesTheNormItRejects() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GnsEstimator.estimate(-1, 1, 4));
        assertEquals("mean per-example squared norm must be finite and >= 0, got -1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GnsEstimator.estimate(1, Double.POSITIVE_INFINITY, 4));
        assertEquals("batch gradient squared norm must be finite and >= 0, got Infinity", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GnsEstimator.twoBatch(-0.5, 1, 1, 4));
        assertEquals("small-batch gradient squared norm must be finite and >= 0, got -0.5", e.getMessage());
        assertDoesNotThrow(() -> GnsEstimator.estimate(0, 0, 2));
    }

    @Test
    void twoBatchNeedsTheBigBatchStrictlyBigger() {
        // |G|² = (2·2 − 1·3)/(2 − 1) = 1, tr(Σ) = 1·2·(3 − 2)/(2 − 1) = 2
        assertEquals(new GnsEstimator.Estimate(1, 2), GnsEstimator.twoBatch(3, 1, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.twoBatch(3, 2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.twoBatch(3, 0, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> GnsEstimator.estimate(3, 2, 1));
    }

    @Test
    void bSimpleOnlyForAPositiveSignal() {
        assertEquals(4.0, GnsEstimator.bSimple(8, 2));
        assertNull(GnsEstimator.bSimple(8, 0));
        assertNull(GnsEstimator.bSimple(8, -0.0));
        assertNull(GnsEstimator.bSimple(8, Double.MIN_VALUE)); // 8 / 4.9e-324 overflows
    }

    @Test
    void intervalConfidenceStrictlyBetweenZeroAndOne() {
        double[] trace = {1, 2, 3}, gradSq = {1, 1, 1};
        for (double confidence : new double[]{0, 1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RatioInterval.compute(trace, gradSq, confidence, IntervalMethod.BOOTSTRAP, 10, 1));
            assertEquals("confidence must be in (0, 1), got " + confidence, e.getMessage());
        }
        assertEquals(2, RatioInterval.compute(trace, gradSq, Math.nextUp(0.0), IntervalMethod.JACKKNIFE, 10, 1).low());
    }

    @Test
    void trackerNamesAMissingNormArray() {
        GnsTracker tracker = new GnsTracker(GnsTrackerTest.TWO_TENSORS, GnsTrackerTest.GPT2_TYPES, 0.9);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tracker.update(null, 2, new double[]{1, 1}));
        assertEquals("perExampleSqSum must have one entry per tensor (2), got null", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> tracker.update(new double[]{1, 1}, 2, new double[]{1}));
        assertEquals("batchGradSq must have one entry per tensor (2), got 1", e.getMessage());
    }

    @Test
    void groupedMeasurementHandsOutItsGroups() {
        GroupedGnsMeasurement g = new GroupedGnsMeasurement(GnsTrackerTest.TWO_TENSORS, GnsTrackerTest.GPT2_TYPES);
        g.add(new double[]{10, 24}, 2, new double[]{4, 10});
        GnsMeasurement ln = g.group(GnsTracker.LN);
        assertEquals(1, ln.batches());
        assertSame(ln, g.byId().get(GnsTracker.LN));
        assertEquals(g.groupIds(), List.copyOf(g.byId().keySet()));
        assertTrue(g.byId().values().stream().allMatch(m -> m.batches() == 1));
    }
}
