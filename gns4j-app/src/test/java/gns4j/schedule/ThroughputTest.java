package gns4j.schedule;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The throughput curve's interpolation and the goodput batch, on synthetic curves worked by hand. */
class ThroughputTest {

    private static Throughput curve(double... batchAndRate) {
        List<Throughput.Point> pts = new java.util.ArrayList<>();
        for (int i = 0; i < batchAndRate.length; i += 2) pts.add(new Throughput.Point((int) batchAndRate[i], batchAndRate[i + 1]));
        return new Throughput(pts);
    }

    @Test
    void aFlatCurvePicksTheSmallestBatch() {
        Throughput flat = curve(8, 1000, 64, 1000);
        assertEquals(8, flat.goodputBatch(0, 8, 64, 8));
        assertEquals(8, flat.goodputBatch(500, 8, 64, 8), "at a constant rate a bigger batch only costs tokens, whatever the noise");
    }

    @Test
    void aCurveLinearInTheBatchPicksTheLargest() {
        Throughput linear = curve(8, 800, 64, 6400);   // a step takes the same time at any batch
        assertEquals(64, linear.goodputBatch(1, 8, 64, 8));
        assertEquals(64, linear.goodputBatch(1000, 8, 64, 8));
        assertEquals(8, linear.goodputBatch(0, 8, 64, 8), "without noise every batch makes the same progress per second: the smallest wins the tie");
    }

    @Test
    void aSaturatingCurvePicksTheBatchWorkedOutByHand() {
        // Step cost c(B) = B / rate: 16/1600 = 0.01, 32/2400 = 0.01333, 64/3200 = 0.02 (s per token position).
        // (B + Bn)/rate(B) = (B + Bn)·c(B)/B with Bn = 32: B=16: 48·0.01/16 = 0.03; B=32: 64·0.01333/32 = 0.02667;
        // B=48: c = 0.01333 + 16·(0.02 − 0.01333)/32 = 0.01667, 80·0.01667/48 = 0.02778; B=64: 96·0.02/64 = 0.03.
        Throughput t = curve(16, 1600, 32, 2400, 64, 3200);
        assertEquals(32, t.goodputBatch(32, 16, 64, 16));
        assertEquals(16, t.goodputBatch(0, 16, 64, 16));
        assertEquals(16, t.goodputBatch(-40, 16, 64, 16), "a negative noise scale counts as 0");
        // Bn = 1000: B=16: 1016·0.01/16 = 0.635; B=32: 1032·0.01333/32 = 0.43; B=48: 1048·0.01667/48 = 0.3639; B=64: 1064·0.02/64 = 0.3325.
        assertEquals(64, t.goodputBatch(1000, 16, 64, 16));
    }

    @Test
    void interpolatesTheStepCostBetweenPointsAndHoldsTheRateBeyond() {
        Throughput t = curve(16, 1600, 32, 2400, 64, 3200);
        // c(48) = 0.01333 + 16·(0.02 − 0.01333)/32 = 0.01667: 48 / 0.01667 = 2880 tok/s.
        assertEquals(2880, t.tokPerS(48), 1e-9);
        // c(24) = 0.01 + 8·(0.01333 − 0.01)/16 = 0.011667: 24 / 0.011667 = 14400/7 tok/s.
        assertEquals(14400.0 / 7, t.tokPerS(24), 1e-9);
        assertEquals(3200, t.tokPerS(128), 1e-9, "above the largest batch the rate stays the largest batch's");
        // Below 16 the first segment extends: c(8) = 0.01 − 8·(0.01333 − 0.01)/16 = 0.008333, rate 8 / 0.008333 = 960.
        assertEquals(960, t.tokPerS(8), 1e-9);
        // A first segment that would give a higher rate below the smallest batch is floored at that batch's rate.
        assertEquals(1000, curve(16, 1000, 32, 1000).tokPerS(4), 1e-9);
    }

    @Test
    void specRoundTrips() {
        Throughput t = Throughput.parse(" 16:601786.5, 32:719443 ");
        assertEquals(List.of(new Throughput.Point(16, 601786.5), new Throughput.Point(32, 719443)), t.points());
        assertEquals("16:601787,32:719443", t.spec());
        assertEquals(t.spec(), Throughput.parse(t.spec()).spec());
    }

    @Test
    void refusesMalformedCurves() {
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("16:1000"), "one point is no curve");
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("32:1000,16:900"));
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("16:1000,32:0"));
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("16-1000,32:2"));
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("a:1,32:2"));
    }
}
