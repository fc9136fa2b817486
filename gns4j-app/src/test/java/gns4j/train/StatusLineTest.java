package gns4j.train;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatusLineTest {

    @Test
    void percentAndTimeLeftFollowTheStepLimitWithoutATokenLimit() {
        // 10 steps in 10 s after step 10: 80 steps to go at 1 s each.
        var from = new StatusLine.Position(10, 100, 10_000, 0, 5);
        var at = new StatusLine.Position(20, 100, 20_000, 0, 15);
        assertEquals("20%, 1m20s left", StatusLine.progress(from, at));
    }

    @Test
    void theTokenLimitCountsWhenItEndsTheRunFirst() {
        // Steps say 20% done, tokens say 50%: the token limit ends the run, after 5 more 10 s stretches of 10%.
        var from = new StatusLine.Position(10, 100, 40_000, 100_000, 100);
        var at = new StatusLine.Position(20, 100, 50_000, 100_000, 110);
        assertEquals("50%, 50s left", StatusLine.progress(from, at));
        // The step limit first: 30% by steps beats 3% by tokens.
        var early = new StatusLine.Position(20, 100, 2_000, 100_000, 0);
        var later = new StatusLine.Position(30, 100, 3_000, 100_000, 7_200);
        assertEquals("30%, 14h00m left", StatusLine.progress(early, later));
    }

    @Test
    void noTimeBeforeAPaceIsKnownNorAtTheEnd() {
        var first = new StatusLine.Position(1, 150, 2048, 0, 3);
        assertEquals("0%", StatusLine.progress(first, first));
        assertEquals("100%", StatusLine.progress(first, new StatusLine.Position(150, 150, 307_200, 0, 60)));
    }

    @Test
    void durations() {
        assertEquals("45s", StatusLine.duration(44.6));
        assertEquals("4m05s", StatusLine.duration(245));
        assertEquals("2h03m", StatusLine.duration(2 * 3600 + 3 * 60 + 20));
    }

    @Test
    void pipedOutputIsOneLinePerReportWithTheEta() {
        var bytes = new ByteArrayOutputStream();
        var status = new StatusLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        status.step(new StatusLine.Position(5, 50, 5 * 1024, 0, 10), 3.0, null, 1e-3, 8, 2048, null, null,
                GnsWindow.of(0.95, 5, 1024));
        status.step(new StatusLine.Position(10, 50, 10 * 1024, 0, 20), 2.5, 2.6, 1e-3, 8, 2048, 12.5, 9.0,
                GnsWindow.of(0.95, 10, 1024));
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n", -1);
        assertEquals(3, lines.length);                 // two lines and the empty tail after the last newline
        assertEquals("", lines[2]);
        assertTrue(lines[0].startsWith("step 5/50 (10%) | loss 3.0000 | lr"), lines[0]);
        assertTrue(lines[1].startsWith("step 10/50 (20%, 1m20s left) | loss 2.5000 | val 2.6000"), lines[1]);
        assertTrue(lines[0].endsWith("| GNS total - | GNS LN -"), "no window while no GNS is defined: " + lines[0]);
        assertTrue(lines[1].endsWith("| GNS total 12.50 | GNS LN 9.000 (last 10 steps, 10.2k tokens)"), lines[1]);
        assertFalse(bytes.toString(StandardCharsets.UTF_8).contains("\r"), "no carriage return when piped");
    }

    @Test
    void theGnsWindowIsTheAveragesTimeConstantOrEveryStepSoFar() {
        assertEquals(new GnsWindow(20, 20 * 2048L), GnsWindow.of(0.95, 150, 2048));
        assertEquals(new GnsWindow(100, 100 * 4096L), GnsWindow.of(0.99, 1000, 4096));
        assertEquals(new GnsWindow(7, 7 * 2048L), GnsWindow.of(0.99, 7, 2048));
        assertEquals("last 20 steps, 41.0k tokens", GnsWindow.of(0.95, 150, 2048).describe());
        assertEquals("last 1 step, 2048 tokens", GnsWindow.of(0.95, 1, 2048).describe());
    }

    @Test
    void aTokenBudgetThatEndsTheRunFirstIsShownInsteadOfMaxSteps() {
        // max_steps 100000 only guards; 250k tokens end the run.
        assertEquals("step 899, 230.1k/250.0k tokens", StatusLine.position(new StatusLine.Position(899, 100_000, 230_144, 250_000, 3)));
        assertEquals("step 5/50", StatusLine.position(new StatusLine.Position(5, 50, 5 * 1024, 1_000_000, 1)));
        assertEquals("step 3191, 32.6M/36.0M tokens", StatusLine.position(new StatusLine.Position(3191, 1_000_000, 32_600_000, 36_000_000, 40)));
        assertEquals("step 120/150", StatusLine.position(new StatusLine.Position(120, 150, 245_760, 0, 60)));
        assertEquals("step 120, 1.2M/2.0M tokens", StatusLine.position(new StatusLine.Position(120, 100_000, 1_228_800, 2_000_000, 60)));
    }
}
