package gns4j.report;

import gns4j.train.MetricsLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunReaderTest {
    @TempDir Path tmp;

    private Run run(String metrics) throws IOException {
        Files.writeString(tmp.resolve("metrics.jsonl"), metrics);
        return RunReader.read(tmp);
    }

    private static boolean noted(Run r, String fragment) {
        return r.notes().stream().anyMatch(n -> n.contains(fragment));
    }

    @Test
    void seriesValuesSkipMissingAndNull() throws IOException {
        Run r = run("""
                {"step":1,"tokens":100,"loss":3.0,"lr":0.1,"batch_size":4,"gns_total":null,"gns_ln":null,"new_key":[1]}
                {"step":2,"tokens":200,"loss":2.5,"lr":0.2,"batch_size":4,"gns_total":10,"gns_ln":8,"val_loss":2.7}
                {"step":3,"tokens":300,"loss":2.0,"lr":0.3,"batch_size":8,"gns_total":20,"gns_ln":10}
                """);
        assertEquals(3, r.steps().size());
        Series loss = Extract.vsTokens(r, Metric.LOSS);
        assertArrayEquals(new double[]{100, 200, 300}, loss.x());
        assertArrayEquals(new double[]{3.0, 2.5, 2.0}, loss.y());
        Series val = Extract.vsTokens(r, Metric.VAL_LOSS);
        assertArrayEquals(new double[]{200}, val.x());
        assertArrayEquals(new double[]{2.7}, val.y());
        assertArrayEquals(new double[]{4, 4, 8}, Extract.vsTokens(r, Metric.BATCH_SIZE).y());
        assertArrayEquals(new double[]{10, 20}, Extract.vsTokens(r, Metric.GNS_TOTAL).y());
        assertArrayEquals(new double[]{0.8, 0.5}, Extract.vsTokens(r, Metric.GNS_RATIO).y(), 1e-12);
        assertEquals(0, Extract.vsTokens(r, Metric.TOK_PER_S).size()); // key absent everywhere
        assertEquals(List.of("config.json missing"), r.notes()); // unknown keys and nulls are not worth a note
        assertFalse(r.finished());
    }

    @Test
    void truncatedLastLineJunkEventsAndResumesAreSkippedWithNotes() throws IOException {
        Run r = run("""
                {"step":1,"tokens":10,"loss":5}
                {"step":2,"tokens":20,"loss":"oops","lr":0.1}
                not json at all
                {"event":"batch_size_change","step":2,"from":8,"to":16}
                {"tokens":25}
                {"step":3,"tokens":30,"loss":4}
                {"step":2,"tokens":20,"loss":4.5}
                {"step":3,"tokens":30,"loss":3.9,"gns_type":{"norm":2,"attn_qkv":"x"},"pe_norm_total":[1.0,null,2.0]}
                {"step":4,"tokens":40,"lo""");
        assertEquals(List.of(1L, 2L, 3L), r.steps().stream().map(MetricsLine::step).toList());
        assertArrayEquals(new double[]{5, 4.5, 3.9}, Extract.vsTokens(r, Metric.LOSS).y());
        assertArrayEquals(new double[]{1.0, Double.NaN, 2.0}, r.steps().getLast().peNormTotal()); // null keeps its place
        assertTrue(noted(r, "last line of metrics.jsonl cut short"), r.notes().toString());
        assertTrue(noted(r, "1 line(s) not valid JSON, skipped (line 3)"), r.notes().toString());
        assertTrue(noted(r, "batch_size_change ×1"), r.notes().toString());
        assertTrue(noted(r, "1 record(s) without a numeric step"), r.notes().toString());
        assertTrue(noted(r, "2 record(s) replaced by a resumed run"), r.notes().toString());
        assertTrue(noted(r, "gns_type ×1, loss ×1"), r.notes().toString());
    }

    @Test
    void missingMetricsAndBrokenConfigGiveNotesNotErrors() throws IOException {
        Files.writeString(tmp.resolve("config.json"), "{\"n_layer\": 2, \"betas\": [0.9, 0.95]}");
        Files.writeString(tmp.resolve("summary.json"), "{}");
        Run r = RunReader.read(tmp);
        assertEquals("2", r.config().get("n_layer"));
        assertEquals("[0.9,0.95]", r.config().get("betas"));
        assertTrue(r.steps().isEmpty());
        assertTrue(r.finished());
        assertTrue(noted(r, "metrics.jsonl missing"), r.notes().toString());

        Files.writeString(tmp.resolve("config.json"), "{\"n_layer\": 2,");
        assertTrue(noted(run(""), "config.json unreadable"));
        assertTrue(noted(run(""), "no step records"));
    }
}
