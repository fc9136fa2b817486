package gns4j.schedule;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BatchScheduleTest {

    @Test
    void fixedNeverChanges() {
        BatchSchedule s = new BatchSchedule.Fixed(24);
        s.observe(123.0);
        assertEquals(24, s.batchSize(0, 0));
        assertEquals(24, s.batchSize(1L << 40, 1_000_000));
    }

    @Test
    void linearRampRoundsToMicroBatches() {
        BatchSchedule s = new BatchSchedule.LinearRamp(8, 64, 1000, 8);
        assertEquals(8, s.batchSize(0, 0));
        assertEquals(16, s.batchSize(100, 3));   // 13.6 → 16
        assertEquals(32, s.batchSize(400, 7));   // 30.4 → 32
        assertEquals(40, s.batchSize(500, 9));   // 36.0 → 40 (4.5 micro batches rounds up)
        assertEquals(56, s.batchSize(900, 20));  // 58.4 → 56
        assertEquals(64, s.batchSize(999, 30));  // 63.944 → 64
        assertEquals(64, s.batchSize(1000, 31));
        assertEquals(64, s.batchSize(1_000_000, 99));
    }

    @Test
    void linearRampGivesAtLeastOneMicroBatch() {
        BatchSchedule s = new BatchSchedule.LinearRamp(1, 32, 1000, 16);
        assertEquals(16, s.batchSize(0, 0));
        for (long t = 0; t <= 1000; t += 37) assertEquals(0, s.batchSize(t, 0) % 16, "tokens " + t);
        assertEquals(32, s.batchSize(1000, 0));
    }

    @Test
    void rampEndMustBeWholeMicroBatches() {
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.LinearRamp(8, 60, 1000, 8));
    }
}
