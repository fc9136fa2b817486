package gns4j.schedule;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The projection at the edges of what it accepts, on the curve 1:10, 2:30 tok/s with T = 1: a step of one sequence is
 * 0.1 s, of two 2/30 s.
 */
class DataParallelProjectionEdgesTest {
    static final Throughput CURVE = Throughput.parse("1:10,2:30");

    @Test
    void aGradientOfNoBytesCostsNoAllReduce() {
        DataParallelProjection none = new DataParallelProjection(CURVE, 1, 0, 0, 1e9, true);
        assertEquals(0.1, none.stepSeconds(1, 1), 1e-12);
        assertEquals(0.1, none.stepSeconds(2, 2), 1e-12);
        assertEquals(0.1, new DataParallelProjection(CURVE, 1, 0, 0, 1e9, false).stepSeconds(2, 2), 1e-12);
    }

    @Test
    void aGradientAllExposedWaitsForTheEndOfBackward() {
        // 2 GPUs, one sequence each: compute 0.1 s; the ring moves 2·1/2·1000 bytes at 1000 bytes/s: 1 s, all of it
        // after backward.
        DataParallelProjection all = new DataParallelProjection(CURVE, 1, 1000, 1000, 1000, true);
        assertEquals(1.1, all.stepSeconds(2, 2), 1e-12);
    }

    @Test
    void aRunOfNoStepsOrOfEveryStep() {
        DataParallelProjection p = new DataParallelProjection(CURVE, 1, 1000, 0, 1000, false);
        int[] batches = {1, 2};
        assertEquals(0, p.runSeconds(batches, 0, 1));
        assertEquals(0.1 + 2 / 30.0, p.runSeconds(batches, 2, 1), 1e-12);
        assertEquals(0.1 + 0.5 * 2 / 30.0, p.runSeconds(batches, 1.5, 1), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> p.runSeconds(batches, -0.5, 1));
        assertThrows(IllegalArgumentException.class, () -> p.runSeconds(batches, 2.5, 1));
    }

    @Test
    void refusesWhatCannotBeProjected() {
        assertThrows(IllegalArgumentException.class, () -> new DataParallelProjection(CURVE, 0, 1000, 0, 1000, true));
        assertThrows(IllegalArgumentException.class, () -> new DataParallelProjection(CURVE, 1, -1, 0, 1000, true));
        assertThrows(IllegalArgumentException.class, () -> new DataParallelProjection(CURVE, 1, 1000, -1, 1000, true));
        assertThrows(IllegalArgumentException.class, () -> new DataParallelProjection(CURVE, 1, 1000, 1001, 1000, true));
        assertThrows(IllegalArgumentException.class, () -> new DataParallelProjection(CURVE, 1, 1000, 0, 0, true));
        DataParallelProjection p = new DataParallelProjection(CURVE, 1, 1000, 0, 1000, true);
        assertThrows(IllegalArgumentException.class, () -> p.stepSeconds(0, 1));
        assertThrows(IllegalArgumentException.class, () -> p.stepSeconds(1, 0));
    }
}
