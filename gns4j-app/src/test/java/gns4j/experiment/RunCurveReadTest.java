package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's curve read from metrics.jsonl: training time summed from the steps' own rates, gaps filled as documented. */
class RunCurveReadTest {
    @TempDir Path tmp;

    RunCurve read(String... lines) throws IOException {
        Path f = tmp.resolve("metrics.jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n");
        return RunCurve.read(f);
    }

    @Test
    void trainingTimeIsEachStepsTokensOverItsRate() throws IOException {
        RunCurve c = read(
                "{\"step\": 1, \"tokens\": 100, \"batch_size\": 4, \"micro_batch\": 2, \"lr\": 0.001, \"tok_per_s\": 50, \"elapsed_s\": 7}",
                "{\"step\": 2, \"tokens\": 300, \"batch_size\": 4, \"tok_per_s\": 0, \"val_loss\": 3.5, \"gns_total\": 12, \"gns_ln\": 9}",
                "{\"step\": 3, \"tokens\": 600, \"batch_size\": 8, \"tok_per_s\": 100, \"batch_change\": {\"from\": 4, \"to\": 8}}",
                "{\"step\": 4, \"tokens\": 700, \"batch_size\": 8, \"val_loss\": 3.0}");
        List<RunCurve.Point> p = c.points();
        assertEquals(4, p.size());
        // 100/50 = 2 s; a rate of 0 or none adds nothing (step 2 and 4); step 3 adds (600 − 300)/100 = 3 s.
        assertArrayEquals(new double[]{2, 2, 5, 5}, p.stream().mapToDouble(RunCurve.Point::trainSeconds).toArray(), 1e-12);
        assertEquals(7, p.get(0).elapsedSeconds(), "elapsed_s as written");
        assertEquals(5, p.get(3).elapsedSeconds(), "no elapsed_s: the training time");
        assertEquals(2, p.get(0).microBatch());
        assertEquals(0, p.get(1).microBatch(), "files without micro_batch");
        assertEquals(0.001, p.get(0).lr());
        assertTrue(Double.isNaN(p.get(1).lr()));
        assertEquals(12.0, p.get(1).gnsTotal());
        assertEquals(9.0, p.get(1).gnsLn());
        assertNull(p.get(0).valLoss());
        assertEquals(List.of(false, false, true, false), p.stream().map(RunCurve.Point::batchChange).toList());
        assertEquals(1, c.batchChanges());
        assertEquals(List.of(2, 4), c.valPoints().stream().map(RunCurve.Point::step).toList());
        assertSame(p.get(3), c.last());
        assertEquals(700, c.last().tokens());
        assertEquals(8, c.last().batchSize());
        // TimeToTarget reads the validation points: 3.25 halfway between steps 2 and 4.
        var reach = TimeToTarget.reach(c, 3.25);
        assertEquals(3, reach.steps(), 1e-12);
        assertEquals(500, reach.tokens(), 1e-12);
        assertEquals(3.5, reach.seconds(), 1e-12);
    }

    @Test
    void aStepWithoutTokensOrBatchIsRefused() {
        assertThrows(UserError.class, () -> read("{\"step\": 1, \"batch_size\": 4}"));
        assertThrows(UserError.class, () -> read("{\"step\": 1, \"tokens\": 4}"));
        assertThrows(UserError.class, () -> read("{\"step\": 1, \"tokens\": 4, \"batch_size\": 4}", "not json", "{\"step\": 2, \"tokens\": 8, \"batch_size\": 4}"));
    }

    @Test
    void anEmptyRunHasNoLastStep() throws IOException {
        RunCurve c = read("{\"event\": \"start\"}");
        assertTrue(c.points().isEmpty());
        assertThrows(IllegalStateException.class, c::last);
        assertEquals(0, c.batchChanges());
    }
}
