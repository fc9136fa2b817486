package gns4j.train;

import static gns4j.train.TestRuns.QUIET;
import static gns4j.train.TestRuns.metrics;
import static gns4j.train.TestRuns.tiny;
import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** adaptive_policy=goodput without a throughput_curve: the trainer measures one first, and training is not disturbed. */
class GoodputProbeTest {
    @TempDir static Path tmp;
    static Path data;

    @BeforeAll
    static void prepare() { data = TestRuns.demoData(tmp.resolve("data")); }

    @Test
    void theProbeMeasuresEveryProbeBatchAndLeavesTheRunAsItWouldHaveBeen() {
        // adaptive_interval beyond the run: the batch stays 4 whatever the curve, so the goodput run must repeat the
        // k x GNS run step for step; only the probe's passes come first.
        String[] common = {"max_steps=12", "max_tokens=" + 12 * 4 * 16, "batch_schedule=adaptive", "batch_size=16",
                "batch_size_start=4", "batch_size_min=4", "adaptive_interval=1000"};
        Path reference = tmp.resolve("k-gns"), goodput = tmp.resolve("goodput");
        new Trainer(tiny(common), data, reference, QUIET).run();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        new Trainer(tiny(common).with("adaptive_policy=goodput"), data, goodput,
                new StatusLine(new PrintStream(log, true, StandardCharsets.UTF_8), false)).run();
        String notice = log.toString(StandardCharsets.UTF_8);
        assertTrue(notice.matches("(?s).*goodput: throughput measured before the first step .*: 4:\\d+,8:\\d+,16:\\d+ \\(B:tok/s\\).*"), notice);
        TestRuns.assertSameSteps(metrics(reference), metrics(goodput), 12);
    }

    @Test
    void probeBatchesDoubleFromTheSmallestAndEndAtTheLargest() {
        assertEquals(List.of(4, 8, 16), ThroughputProbe.batches(4, 16));
        assertEquals(List.of(8, 16, 32, 40), ThroughputProbe.batches(8, 40));
        assertEquals(List.of(16, 24), ThroughputProbe.batches(16, 24));
    }
}
