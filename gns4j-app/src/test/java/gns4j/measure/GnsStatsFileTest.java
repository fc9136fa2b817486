package gns4j.measure;

import gns4j.UserError;
import gns4j.gns.GnsMeasurement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Reading per-batch statistics files: the batches go into the measurement as written, bad lines name file:line. */
class GnsStatsFileTest {
    @TempDir Path tmp;

    private static final String GOOD_1 = "{\"batch_size\": 8, \"tokens_per_example\": 64, \"groups\": {\"total\": {\"pe_sq_mean\": 5.0, \"grad_sq\": 1.5}, \"ln\": {\"pe_sq_mean\": 0.5, \"grad_sq\": 0.1}}}";
    private static final String GOOD_2 = "{\"step\": 2, \"batch_size\": 16, \"tokens_per_example\": 64, \"groups\": {\"ln\": {\"pe_sq_mean\": 0.4, \"grad_sq\": 0.05, \"note\": 1}, \"total\": {\"pe_sq_mean\": 4.0, \"grad_sq\": 0.9}}}";

    private Path write(String... lines) throws IOException {
        return Files.writeString(tmp.resolve("stats.jsonl"), String.join("\n", lines) + "\n");
    }

    @Test
    void batchesOfDifferentSizesGoInAsWritten() throws IOException {
        GnsStatsFile f = GnsStatsFile.read(write(GOOD_1, "", GOOD_2));
        assertEquals(List.of("total", "ln"), List.copyOf(f.groups().keySet()), "groups in first-line order");
        assertEquals(List.of(8, 16), f.batchSizes());
        assertEquals(64, f.tokensPerExample());
        assertEquals(12, f.meanBatchSize());
        GnsMeasurement expected = new GnsMeasurement().add(8, 5.0, 1.5).add(16, 4.0, 0.9);
        assertEquals(expected.samples(), f.groups().get("total").samples());
        assertEquals(expected.result().gns(), f.groups().get("total").result().gns());
    }

    @Test
    void tokensPerExampleIsOptional() throws IOException {
        String a = GOOD_1.replace("\"tokens_per_example\": 64, ", ""), b = GOOD_2.replace("\"tokens_per_example\": 64, ", "");
        assertEquals(0, GnsStatsFile.read(write(a, b)).tokensPerExample());
    }

    @Test
    void aBadLineIsNamedWithItsNumber() throws IOException {
        assertBadLine(3, "not valid JSON", GOOD_1, "", "{\"batch_size\": 8, ");
        assertBadLine(2, "not a JSON object", GOOD_1, "[1, 2]");
        assertBadLine(2, "batch_size must be an integer >= 2", GOOD_1, GOOD_2.replace("16", "1"));
        assertBadLine(2, "batch_size must be an integer >= 2", GOOD_1, GOOD_2.replace("16", "16.5"));
        assertBadLine(1, "no batch_size", GOOD_1.replace("\"batch_size\": 8, ", ""));
        assertBadLine(2, "groups.total.grad_sq must be >= 0", GOOD_1, GOOD_2.replace("0.9", "-0.9"));
        assertBadLine(2, "groups.ln.pe_sq_mean must be a finite number", GOOD_1, GOOD_2.replace("0.4", "\"0.4\""));
        assertBadLine(2, "groups.ln.pe_sq_mean must be a finite number", GOOD_1, GOOD_2.replace("0.4", "NaN"));
        assertBadLine(1, "no groups.total.grad_sq", GOOD_1.replace(", \"grad_sq\": 1.5", ""));
        assertBadLine(1, "no \"total\" group", GOOD_1.replace("total", "all"));
        assertBadLine(1, "\"groups\" must be a non-empty object", GOOD_1.substring(0, GOOD_1.indexOf("\"groups\"")) + "\"groups\": {}}");
        assertBadLine(2, "missing [ln]", GOOD_1, GOOD_2.replace("\"ln\"", "\"mlp\""));
        assertBadLine(2, "tokens_per_example differs", GOOD_1, GOOD_2.replace("64", "32"));
    }

    private void assertBadLine(int line, String reason, String... lines) throws IOException {
        Path f = write(lines);
        UserError e = assertThrows(UserError.class, () -> GnsStatsFile.read(f));
        assertTrue(e.getMessage().startsWith(f + ":" + line + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
    }

    @Test
    void fewerThanTwoBatchesCannotGiveAnInterval() throws IOException {
        Path f = write(GOOD_1);
        UserError e = assertThrows(UserError.class, () -> GnsStatsFile.read(f));
        assertTrue(e.getMessage().contains("1 batch(es); an interval needs at least 2"), e.getMessage());
    }
}
