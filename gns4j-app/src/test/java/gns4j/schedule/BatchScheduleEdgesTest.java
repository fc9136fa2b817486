package gns4j.schedule;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The schedules at the edges of what they accept, and the smallest batch each can return. */
class BatchScheduleEdgesTest {

    @Test
    void fixedFromOne() {
        assertEquals(1, new BatchSchedule.Fixed(1).batchSize(0, 0));
        assertEquals(3, new BatchSchedule.Fixed(3).smallest());
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.Fixed(0));
    }

    @Test
    void rampEdges() {
        assertEquals(1, new BatchSchedule.LinearRamp(1, 8, 100, 1).batchSize(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.LinearRamp(0, 8, 100, 1));
        assertEquals(1, new BatchSchedule.LinearRamp(4, 1, 100, 1).batchSize(100, 1), "a ramp down to one");
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.LinearRamp(4, 0, 100, 1));
        // no ramp at all: the end from the first token
        assertEquals(8, new BatchSchedule.LinearRamp(1, 8, 0, 1).batchSize(0, 0));
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.LinearRamp(1, 8, -1, 1));
        assertEquals(8, new BatchSchedule.LinearRamp(8, 64, 100, 8).smallest());
        assertEquals(8, new BatchSchedule.LinearRamp(16, 8, 100, 8).smallest(), "a ramp down ends smallest");
    }

    @Test
    void adaptiveEdges() {
        BatchSchedule.Adaptive one = new BatchSchedule.Adaptive(1, 1, 1, 1, 1, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null);
        one.observe(50.0);
        assertEquals(1, one.batchSize(0, 1), "min = max = 1 holds every target");
        assertEquals(1, one.smallest());
        BatchSchedule.Adaptive a = new BatchSchedule.Adaptive(2, 8, 64, 8, 8, 10, true, BatchSchedule.Adaptive.Policy.K_GNS, null);
        assertEquals(8, a.smallest());
        a.restore(8, 3, null);
        assertEquals(8, a.current());
        assertNull(a.lastGns());
        a.restore(64, 5, 12.5);
        assertEquals(64, a.current());
        assertEquals(5, a.lastChangeStep());
        assertEquals(12.5, a.lastGns());
        assertThrows(IllegalArgumentException.class, () -> a.restore(72, 0, null));
        assertThrows(IllegalArgumentException.class, () -> a.restore(0, 0, null));
    }
}
