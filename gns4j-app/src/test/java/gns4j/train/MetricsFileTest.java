package gns4j.train;

import gns4j.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsFileTest {
    @TempDir Path dir;

    /** What the trainer writes reads back key for key. */
    @Test
    void everyWrittenKeyReadsBack() throws Exception {
        Path file = dir.resolve(RunDir.METRICS);
        StepMetrics written = new StepMetrics(7, 700, 2.5, 1e-3, 16, 2, 8, 1234.5, 9.5, 0.75, 8, 11.0, 12.0, 6.0,
                true, 13.0, Map.of("norm", 3.0), Map.of("h.0", 4.0), new double[]{1, Double.NaN}, new double[]{0.5, 0.25},
                List.of(Map.of("offset", 42L, "norm_total", 1.0, "norm_ln", 0.5)), "loss not finite");
        try (MetricsWriter w = new MetricsWriter(file)) {
            Map<String, Object> rec = written.toMap();
            rec.put("val_loss", 2.75);
            w.write(rec);
        }
        MetricsFile f = MetricsFile.read(file).requireIntact();
        assertEquals(1, f.steps().size());
        MetricsLine m = f.steps().getFirst();
        assertEquals(7, m.step());
        assertEquals(700L, m.tokens());
        assertEquals(2.5, m.loss());
        assertEquals(2.75, m.valLoss());
        assertEquals(1e-3, m.lr());
        assertEquals(16, m.batchSize());
        assertEquals(2, m.microBatches());
        assertEquals(8, m.microBatch());
        assertEquals(1234.5, m.tokPerS());
        assertEquals(9.5, m.elapsedS());
        assertEquals(0.75, m.gradNorm());
        assertEquals(new MetricsLine.BatchChange(8, 16, 11.0), m.batchChange());
        assertEquals(12.0, m.gnsTotal());
        assertEquals(6.0, m.gnsLn());
        assertEquals(13.0, m.gnsDdp());
        assertEquals(Map.of("norm", 3.0), m.gnsType());
        assertEquals(Map.of("h.0", 4.0), m.gnsLayer());
        assertArrayEquals(new double[]{1, Double.NaN}, m.peNormTotal());
        assertArrayEquals(new double[]{0.5, 0.25}, m.peNormLn());
        assertEquals(List.of(new MetricsLine.PeExample(42, 1.0, 0.5)), m.peExamples());
        assertEquals("loss not finite", m.skipReason());
        assertTrue(m.skipped());
    }

    /** A line of an older file lacks keys; a run killed mid-line leaves a partial last line. */
    @Test
    void missingKeysAreNullAndAPartialLastLineIsIgnored() throws Exception {
        Path file = dir.resolve(RunDir.METRICS);
        Files.writeString(file, "{\"step\":1,\"tokens\":10,\"loss\":3,\"batch_size\":2}\n{\"step\":2,\"tok");
        MetricsFile f = MetricsFile.read(file).requireIntact();
        assertTrue(f.cutShort());
        MetricsLine m = f.steps().getFirst();
        assertEquals(1, f.steps().size());
        assertNull(m.valLoss());
        assertNull(m.microBatch());
        assertNull(m.gnsTotal());
        assertNull(m.batchChange());
        assertTrue(m.gnsType().isEmpty());
        assertEquals(0, m.peNormTotal().length);
        assertFalse(m.skipped());
    }

    @Test
    void aDamagedLineIsOneUserErrorNamingFileAndLine() throws Exception {
        Path file = dir.resolve(RunDir.METRICS);
        Files.writeString(file, "{\"step\":1,\"tokens\":10}\nnot json\n{\"step\":2,\"tokens\":20}\n");
        MetricsFile f = MetricsFile.read(file);
        assertEquals(2, f.steps().size(), "the lenient read keeps the good lines");
        UserError e = assertThrows(UserError.class, f::requireIntact);
        assertEquals(file + ": line 2 is not a JSON object", e.getMessage());

        Files.writeString(file, "{\"step\":1,\"tokens\":10}\n{\"step\":2,\"loss\":\"x\"}\n");
        e = assertThrows(UserError.class, () -> MetricsFile.read(file).requireIntact());
        assertEquals(file + ": line 2: bad loss", e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
