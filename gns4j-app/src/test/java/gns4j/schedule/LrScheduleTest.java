package gns4j.schedule;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LrScheduleTest {
    private static final double EPS = 1e-15;

    @Test
    void warmupIsLinearFromZero() {
        LrSchedule s = new LrSchedule(1e-3, 1e-4, LrSchedule.Decay.COSINE, 1000, 11000);
        assertEquals(0.0, s.lr(0), EPS);
        assertEquals(0.25e-3, s.lr(250), EPS);
        assertEquals(0.5e-3, s.lr(500), EPS);
        assertEquals(1e-3, s.lr(1000), EPS);
    }

    @Test
    void cosineHitsMidpointAndFloor() {
        LrSchedule s = new LrSchedule(1e-3, 1e-4, LrSchedule.Decay.COSINE, 1000, 11000);
        assertEquals(0.55e-3, s.lr(6000), EPS);
        // a quarter of the way: min + (1 + cos(pi/4))/2 · (max - min)
        assertEquals(1e-4 + 0.5 * (1 + Math.sqrt(0.5)) * 9e-4, s.lr(3500), EPS);
        assertEquals(1e-4, s.lr(11000), EPS);
        assertEquals(1e-4, s.lr(1_000_000), EPS);
    }

    @Test
    void linearDecayAndConstant() {
        LrSchedule lin = new LrSchedule(1e-3, 0, LrSchedule.Decay.LINEAR, 0, 1000);
        assertEquals(1e-3, lin.lr(0), EPS);
        assertEquals(0.25e-3, lin.lr(750), EPS);
        assertEquals(0.0, lin.lr(2000), EPS);
        LrSchedule constant = new LrSchedule(1e-3, 1e-4, LrSchedule.Decay.CONSTANT, 100, 1000);
        assertEquals(0.5e-3, constant.lr(50), EPS);
        assertEquals(1e-3, constant.lr(5000), EPS);
    }

    @Test
    void horizonInsideWarmupGoesToFloorAfterWarmup() {
        LrSchedule s = new LrSchedule(1e-3, 1e-4, LrSchedule.Decay.COSINE, 1000, 500);
        assertEquals(0.8e-3, s.lr(800), EPS);
        assertEquals(1e-4, s.lr(1000), EPS);
    }

    @Test
    void rejectsMinAboveMax() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-4, 1e-3, LrSchedule.Decay.COSINE, 0, 1));
    }
}
