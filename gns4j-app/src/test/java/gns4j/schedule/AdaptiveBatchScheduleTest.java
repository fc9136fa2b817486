package gns4j.schedule;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.UserError;
import gns4j.train.TrainConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The closed-loop schedule: rounding, bounds, monotonicity, the change interval, and its config keys. */
class AdaptiveBatchScheduleTest {

    /** k = 1, [8, 64], start 8, micro 8, a change allowed every step, non-decreasing. */
    static BatchSchedule.Adaptive schedule(int interval, boolean allowDecrease) {
        return new BatchSchedule.Adaptive(1.0, 8, 64, 8, 8, interval, allowDecrease, BatchSchedule.Adaptive.Policy.K_GNS, null);
    }

    @Test
    void keepsTheStartBatchUntilAGnsIsObserved() {
        var s = new BatchSchedule.Adaptive(1.0, 8, 64, 24, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null);
        assertEquals(24, s.batchSize(0, 0));
        s.observe(null);
        s.observe(Double.NaN);
        s.observe(Double.POSITIVE_INFINITY);
        assertEquals(24, s.batchSize(0, 1), "null and non-finite estimates are not a GNS");
        assertNull(s.lastGns());
        s.observe(40.0);
        assertEquals(40, s.batchSize(0, 2));
    }

    @Test
    void startIsRoundedToMicroBatchesAndBounded() {
        assertEquals(24, new BatchSchedule.Adaptive(1, 8, 64, 27, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null).current());
        assertEquals(8, new BatchSchedule.Adaptive(1, 8, 64, 1, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null).current());
        assertEquals(64, new BatchSchedule.Adaptive(1, 8, 64, 500, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null).current());
    }

    @Test
    void targetIsKTimesGnsRoundedToTheNearestMicroBatchMultiple() {
        var s = schedule(1, true);
        assertEquals(16, s.target(19.9));   // 2.49 micro batches -> 2
        assertEquals(24, s.target(20.1));   // 2.51 -> 3
        assertEquals(40, s.target(40));
        var k2 = new BatchSchedule.Adaptive(2.0, 4, 256, 4, 4, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null);
        assertEquals(44, k2.target(21.2)); // 42.4 / 4 = 10.6 -> 11 micro batches
    }

    @Test
    void targetIsClampedToTheBounds() {
        var s = schedule(1, true);
        assertEquals(8, s.target(0.3));
        assertEquals(8, s.target(-5), "a negative GNS estimate gives the minimum");
        assertEquals(64, s.target(1e12));
        assertEquals(64, s.target(Double.MAX_VALUE));
    }

    @Test
    void neverDecreasesByDefault() {
        var s = schedule(1, false);
        int[] expected = {8, 32, 32, 48, 48, 64, 64};
        double[] gns = {1, 30, 12, 50, 3, 1000, 9};
        int step = 0;
        assertEquals(expected[0], s.batchSize(0, step++));
        for (int i = 1; i < gns.length; i++) {
            s.observe(gns[i]);
            assertEquals(expected[i], s.batchSize(0, step++), "after GNS " + gns[i]);
        }
    }

    @Test
    void decreasesWhenAllowed() {
        var s = schedule(1, true);
        s.observe(50.0);
        assertEquals(48, s.batchSize(0, 1));
        s.observe(10.0);
        assertEquals(8, s.batchSize(0, 2));
    }

    @Test
    void changesAtMostEveryIntervalSteps() {
        var s = schedule(5, true);
        int changes = 0, previous = s.batchSize(0, 0), lastChange = 0;
        for (int step = 1; step < 60; step++) {
            s.observe(step % 2 == 0 ? 60.0 : 10.0); // asks for a change every step
            int b = s.batchSize(0, step);
            if (b != previous) {
                assertTrue(step - lastChange >= 5, "change at step " + step + " only " + (step - lastChange) + " after the last");
                lastChange = step;
                changes++;
            }
            previous = b;
        }
        assertTrue(changes >= 10, "a change should still happen once the interval has passed, got " + changes);
        var first = schedule(5, false);
        first.observe(64.0);
        for (int step = 0; step < 5; step++) assertEquals(8, first.batchSize(0, step), "no change before step 5");
        assertEquals(64, first.batchSize(0, 5));
        assertEquals(5, first.lastChangeStep());
    }

    @Test
    void restoreContinuesFromACheckpoint() {
        var s = schedule(10, false);
        s.restore(32, 40, 30.0);
        assertEquals(32, s.batchSize(0, 45));
        s.observe(64.0);
        assertEquals(32, s.batchSize(0, 49), "interval counts from the restored change");
        assertEquals(64, s.batchSize(0, 50));
        assertThrows(IllegalArgumentException.class, () -> s.restore(12, 0, null));
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.Adaptive(0, 8, 64, 8, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null));
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.Adaptive(1, 12, 64, 8, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null));
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.Adaptive(1, 16, 8, 8, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null));
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.Adaptive(1, 8, 60, 8, 8, 1, false, BatchSchedule.Adaptive.Policy.K_GNS, null));
        assertThrows(IllegalArgumentException.class, () -> new BatchSchedule.Adaptive(1, 8, 64, 8, 8, 0, false, BatchSchedule.Adaptive.Policy.K_GNS, null));
    }

    @Test
    void goodputPolicyFollowsTheCurveWithKTimesGnsAsTheNoiseScale() {
        // Step cost c(B) = B / rate: 0.01 at 16, 0.01333 at 32, 0.02 at 64 (ThroughputTest works the values out).
        Throughput curve = Throughput.parse("16:1600,32:2400,64:3200");
        var s = new BatchSchedule.Adaptive(2.0, 16, 64, 16, 16, 1, false, BatchSchedule.Adaptive.Policy.GOODPUT, curve);
        assertEquals(16, s.batchSize(0, 0));
        s.observe(16.0);                       // B_noise = k × GNS = 32: 32 is the goodput batch
        assertEquals(32, s.batchSize(0, 1));
        s.observe(500.0);                      // B_noise = 1000: 64
        assertEquals(64, s.batchSize(0, 2));
        s.observe(0.0);
        assertEquals(64, s.batchSize(0, 3), "non-decreasing, as with k × GNS");
    }

    @Test
    void goodputWithoutACurveWaitsForOne() {
        var s = new BatchSchedule.Adaptive(1.0, 16, 64, 16, 16, 1, false, BatchSchedule.Adaptive.Policy.GOODPUT, null);
        assertTrue(s.needsThroughput());
        assertThrows(IllegalStateException.class, () -> s.target(10));
        s.useThroughput(Throughput.parse("16:1600,64:6400"));
        assertFalse(s.needsThroughput());
        assertEquals(64, s.target(10));
        assertFalse(schedule(1, false).needsThroughput(), "k × GNS needs no curve");
    }

    @Test
    void goodputConfigKeys() {
        TrainConfig c = adaptive("adaptive_policy=goodput", "throughput_curve=4:1000,64:16000");
        var s = assertInstanceOf(BatchSchedule.Adaptive.class, c.batch().schedule());
        assertFalse(s.needsThroughput());
        s.observe(1.0);
        assertEquals(64, s.batchSize(0, 50));
        assertEquals(c, TrainConfig.fromJson(c.toJson()), "the curve round-trips through config.json");
        assertTrue(assertInstanceOf(BatchSchedule.Adaptive.class, adaptive("adaptive_policy=goodput").batch().schedule()).needsThroughput());
        assertMessage("throughput_curve", () -> adaptive("adaptive_policy=goodput", "throughput_curve=4:1000"));
        assertMessage("throughput_curve", () -> adaptive("throughput_curve=64:1,4:2"));
        assertMessage("adaptive_policy", () -> adaptive("adaptive_policy=fastest"));
        assertMessage("batch_size", () -> adaptive("adaptive_policy=goodput", "batch_size_min=64"));
    }

    // ---- config keys ----------------------------------------------------------------------------------------------

    static TrainConfig adaptive(String... more) {
        List<String> kv = new ArrayList<>(List.of("micro_batch_size=4", "batch_size=64", "batch_schedule=adaptive",
                "max_tokens=100000", "block_size=32"));
        kv.addAll(List.of(more));
        return TrainConfig.load(null, kv); // one construction: derived defaults follow micro_batch_size

    }

    @Test
    void configBuildsTheScheduleAndUsesMaxTokensAsTheHorizon() {
        TrainConfig c = adaptive("batch_size_min=8", "batch_size_start=12", "adaptive_k=2", "adaptive_interval=3",
                "adaptive_source=total", "adaptive_allow_decrease=true", "max_steps=10");
        var s = assertInstanceOf(BatchSchedule.Adaptive.class, c.batch().schedule());
        assertEquals(12, s.current());
        s.observe(10.0);
        assertEquals(12, s.batchSize(0, 2));
        assertEquals(20, s.batchSize(0, 3));
        // 10 steps of at most 64 x 32 tokens could not reach 100000 tokens, but the horizon is the budget.
        assertEquals(100_000, c.plannedTokens());
        assertEquals(100_000, c.lrSchedule().decayTokens());
        assertEquals(4, adaptive().batch().minResolved(), "batch_size_min 0 means one micro batch");
        TrainConfig back = TrainConfig.fromJson(c.toJson());
        assertEquals(c, back, "new keys round-trip through config.json");
    }

    @Test
    void configRejectsWhatTheScheduleCannotUse() {
        assertMessage("max_tokens", () -> TrainConfig.defaults().with("batch_schedule=adaptive", "batch_size=16"));
        assertMessage("batch_size_min", () -> adaptive("batch_size_min=6"));
        assertMessage("batch_size_min", () -> adaptive("batch_size_min=128"));
        assertMessage("batch_size_min", () -> adaptive("micro_batch_size=1", "batch_size_min=1"));
        assertMessage("batch_size_start", () -> adaptive("batch_size_min=16", "batch_size_start=8"));
        assertMessage("adaptive_k", () -> adaptive("adaptive_k=0"));
        assertMessage("adaptive_interval", () -> adaptive("adaptive_interval=0"));
        assertMessage("adaptive_source", () -> adaptive("adaptive_source=total", "per_example_norms=ln"));
        assertMessage("per_example_norms", () -> adaptive("per_example_norms=off"));
        assertMessage("adaptive_source", () -> adaptive("adaptive_source=middle"));
        // Not adaptive: the new keys still validate but nothing else is demanded.
        assertDoesNotThrow(() -> TrainConfig.defaults().with("per_example_norms=off", "adaptive_source=total"));
        // batch_size_min 0 follows micro_batch_size, also through with() chains.
        assertEquals(16, TrainConfig.defaults().with("micro_batch_size=16", "batch_size=32").batch().minResolved());
    }

    private static void assertMessage(String key, org.junit.jupiter.api.function.Executable e) {
        UserError err = assertThrows(UserError.class, e);
        assertTrue(err.getMessage().contains(key), "expected a message about " + key + ", got: " + err.getMessage());
    }
}
