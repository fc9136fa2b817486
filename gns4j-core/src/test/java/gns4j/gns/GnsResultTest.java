package gns4j.gns;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every field of a measurement's result, and what the result derives from them at the edges. */
class GnsResultTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    private static GnsResult interval(Double gns, double low, double high) {
        return new GnsResult(5, 2.0, 20.0, gns, low, high, 0.9, IntervalMethod.JACKKNIFE, 21);
    }

    @Test
    void measurementFillsEveryField() {
        // the "skewed" batches of RatioIntervalReferenceTest, whose expected interval used the defaults of result()
        double[] trace = {31.5, 18.2, 44.0, 25.7, 90.3, 22.1, 27.9, 35.4, 19.8, 61.2, 28.8, 24.6};
        double[] gradSq = {1.1, 0.62, 1.45, 0.35, 2.2, 0.91, 0.48, 1.75, 0.83, 0.57, 1.02, 1.31};
        GnsMeasurement m = new GnsMeasurement();
        for (int i = 0; i < trace.length; i++) assertSame(m, m.add(new BatchGnsSample(64, gradSq[i], trace[i])));
        GnsResult r = m.result();
        assertEquals(12, r.batches());
        assertEquals(12.59 / 12, r.gradSq(), 1e-14);
        assertEquals(429.5 / 12, r.traceSigma(), 1e-13);
        assertEquals(34.114376489277205, r.gns(), 1e-12);
        assertEquals(27.06703721235531, r.low(), 1e-7 * 27.1);
        assertEquals(46.83371574618874, r.high(), 1e-7 * 46.8);
        assertEquals(GnsMeasurement.DEFAULT_CONFIDENCE, r.confidence());
        assertEquals(IntervalMethod.BOOTSTRAP, r.method());
        assertEquals(41, r.batchesToHalve());
        assertTrue(r.defined());
        assertTrue(r.bounded());
        assertEquals((r.high() - r.low()) / r.gns(), r.relativeWidth(), 1e-15);
    }

    @Test
    void measurementAddsAndListsItsBatches() {
        GnsMeasurement m = new GnsMeasurement();
        assertSame(m, m.add(4, 10, 4));
        assertSame(m, m.add(8, new GnsEstimator.Estimate(3, 6)));
        assertEquals(List.of(BatchGnsSample.of(4, 10, 4), new BatchGnsSample(8, 3, 6)), m.samples());
        assertEquals(2, m.batches());
        assertThrows(UnsupportedOperationException.class, () -> m.samples().clear());
        GnsResult r = m.result(0.8, IntervalMethod.JACKKNIFE, 0);
        assertEquals(0.8, r.confidence());
        assertEquals(IntervalMethod.JACKKNIFE, r.method());
        assertEquals(2.5, r.gradSq(), 1e-15);   // (2 + 3) / 2: the first batch's |G|² is (4·4 − 10)/3 = 2
        assertEquals(7, r.traceSigma(), 1e-15);  // (8 + 6) / 2
        assertEquals(14.0 / 5, r.gns(), 1e-15);
    }

    @Test
    void oneBatchHasNoInterval() {
        GnsMeasurement m = new GnsMeasurement().add(8, 10, 4);
        for (IntervalMethod method : IntervalMethod.values())
            assertThrows(IllegalArgumentException.class, () -> m.result(0.9, method, 1), method.key());
    }

    @Test
    void nonPositiveGradSqLeavesTheGnsUndefined() {
        GnsMeasurement m = new GnsMeasurement().add(new BatchGnsSample(8, 0.5, 4)).add(new BatchGnsSample(8, -0.5, 6));
        GnsResult r = m.result(0.9, IntervalMethod.JACKKNIFE, 0);
        assertEquals(0, r.gradSq());
        assertEquals(5, r.traceSigma());
        assertNull(r.gns());
        assertFalse(r.defined());
        assertEquals(Double.NEGATIVE_INFINITY, r.low());
        assertEquals(INF, r.high());
        assertFalse(r.bounded());
        assertTrue(Double.isNaN(r.relativeWidth()));
        assertNull(r.batchesToHalve());
    }

    @Test
    void boundedOnlyWithBothEndsFinite() {
        assertTrue(interval(10.0, 8, 12).bounded());
        assertFalse(interval(10.0, Double.NEGATIVE_INFINITY, 12).bounded());
        assertFalse(interval(10.0, 8, INF).bounded());
        assertFalse(interval(10.0, 8, Double.NaN).bounded());
    }

    @Test
    void coversIncludesBothEnds() {
        GnsResult r = interval(10.0, 8, 12);
        assertTrue(r.covers(8));
        assertTrue(r.covers(12));
        assertTrue(r.covers(10));
        assertFalse(r.covers(Math.nextDown(8.0)));
        assertFalse(r.covers(Math.nextUp(12.0)));
        assertTrue(interval(10.0, 8, INF).covers(1e300));
    }

    @Test
    void relativeWidthIsTheWidthOverTheEstimatesSize() {
        assertEquals(0.4, interval(10.0, 8, 12).relativeWidth(), 1e-15);
        assertEquals(0.4, interval(-10.0, -12, -8).relativeWidth(), 1e-15); // tr(Σ) estimates can be negative
        assertEquals(1.5, interval(2.0, 1, 4).relativeWidth(), 1e-15);
        assertTrue(Double.isNaN(interval(10.0, 8, INF).relativeWidth()));
        assertTrue(Double.isNaN(interval(10.0, Double.NEGATIVE_INFINITY, 12).relativeWidth()));
        assertTrue(Double.isNaN(interval(null, 8, 12).relativeWidth()));
    }

    @Test
    void inTokensScalesTheGnsAndItsIntervalOnly() {
        GnsResult t = interval(10.0, 8, 12).inTokens(3);
        assertEquals(new GnsResult(5, 2.0, 20.0, 30.0, 24, 36, 0.9, IntervalMethod.JACKKNIFE, 21), t);
        GnsResult open = interval(null, 8, INF).inTokens(3);
        assertNull(open.gns());
        assertEquals(24, open.low());
        assertEquals(INF, open.high());
    }

    @Test
    void intervalMethodsNameThemselves() {
        assertEquals("bootstrap", IntervalMethod.BOOTSTRAP.key());
        assertEquals("jackknife", IntervalMethod.JACKKNIFE.key());
        assertEquals("BCa bootstrap over batches", IntervalMethod.BOOTSTRAP.description());
        assertEquals("jackknife over batches (Student t)", IntervalMethod.JACKKNIFE.description());
    }
}
