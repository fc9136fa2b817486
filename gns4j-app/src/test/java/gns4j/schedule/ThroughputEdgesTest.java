package gns4j.schedule;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The throughput curve where its segments are not collinear, at its smallest legal arguments and on refused ones.
 * Curve 10:100, 20:400, 40:800 tok/s: a step costs c = 0.1, 0.05, 0.05 s per token position.
 */
class ThroughputEdgesTest {
    static final Throughput BENT = Throughput.parse("10:100,20:400,40:800");

    @Test
    void eachBatchUsesTheSegmentItFallsIn() {
        assertEquals(15 / 0.075, BENT.tokPerS(15), 1e-9);   // c(15) = (0.1 + 0.05)/2
        assertEquals(600, BENT.tokPerS(30), 1e-9);          // c(30) = 0.05 on the second segment, not 0 on the first's line
        assertEquals(400, BENT.tokPerS(20), 1e-9);
        assertEquals(800, BENT.tokPerS(40), 1e-9);
        assertEquals(800, BENT.tokPerS(80), 1e-9);
        // Below 10 the first segment's line, c(5) = 0.125, would give 40 tok/s; the smallest batch's own cost, 5/100 per
        // token position, gives 100 — the larger cost, 0.125, wins.
        assertEquals(40, BENT.tokPerS(5), 1e-9);
    }

    @Test
    void theSmallestLegalCurveAndRange() {
        Throughput t = Throughput.parse("1:10,2:30");
        assertEquals(10, t.tokPerS(1), 1e-12);
        assertEquals(1, t.goodputBatch(0, 1, 1, 1));
        assertEquals(2, t.goodputBatch(0, 1, 2, 1), "twice the sequences at 3x the rate");
    }

    @Test
    void refusesWhatHasNoRate() {
        assertThrows(IllegalArgumentException.class, () -> BENT.tokPerS(0));
        assertThrows(IllegalArgumentException.class, () -> BENT.tokPerS(-1));
        assertThrows(IllegalArgumentException.class, () -> BENT.tokPerS(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("16:1000,16:1200"), "a batch measured twice");
        assertThrows(IllegalArgumentException.class, () -> Throughput.parse("0:1000,16:1200"));
        assertThrows(IllegalArgumentException.class, () -> BENT.goodputBatch(0, 0, 8, 1));
        assertThrows(IllegalArgumentException.class, () -> BENT.goodputBatch(0, 8, 7, 1));
        assertThrows(IllegalArgumentException.class, () -> BENT.goodputBatch(0, 8, 16, 0));
    }
}
