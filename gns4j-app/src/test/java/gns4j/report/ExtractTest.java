package gns4j.report;

import gns4j.train.MetricsLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExtractTest {
    @TempDir Path tmp;

    @Test
    void perTypeSeriesFollowModelOrderThenNewTypes() throws IOException {
        Files.writeString(tmp.resolve("metrics.jsonl"), """
                {"step":1,"tokens":8,"gns_type":{"mlp_out":3,"wpe":9,"embedding":1}}
                {"step":2,"tokens":16,"gns_type":{"mlp_out":4,"embedding":null}}
                """);
        List<Series> types = Extract.gnsByType(RunReader.read(tmp));
        assertEquals(List.of("embedding", "mlp_out", "wpe"), types.stream().map(Series::label).toList());
        assertArrayEquals(new double[]{8, 16}, types.get(1).x());
        assertArrayEquals(new double[]{3, 4}, types.get(1).y());
        assertArrayEquals(new double[]{1}, types.get(0).y());
    }

    @Test
    void layerMatrixOrdersLayersFromInputToOutput() throws IOException {
        Files.writeString(tmp.resolve("metrics.jsonl"), """
                {"step":1,"tokens":8,"gns_layer":{}}
                {"step":2,"tokens":16,"gns_layer":{"head":5,"h.10":4,"h.2":3,"embed":1}}
                {"step":3,"tokens":24,"gns_layer":{"head":6,"h.10":null,"h.2":3.5,"embed":1.5,"extra":2}}
                """);
        LayerMatrix m = Extract.gnsByLayer(RunReader.read(tmp));
        assertEquals(List.of("embed", "h.2", "h.10", "head", "extra"), m.layers());
        assertArrayEquals(new long[]{2, 3}, m.steps());
        assertArrayEquals(new double[]{4, Double.NaN}, m.values()[2]);
        assertArrayEquals(new double[]{Double.NaN, 2}, m.values()[4]);
    }

    @Test
    void perExampleNormHistogramsShareBinsAndSumToOne() throws IOException {
        Files.writeString(tmp.resolve("metrics.jsonl"), """
                {"step":1,"pe_norm_total":[100,200,50]}
                {"step":2}
                {"step":3,"pe_norm_total":[1,2]}
                {"step":4,"pe_norm_total":[3,4]}
                """);
        Run run = RunReader.read(tmp);
        assertEquals(3, Extract.peNormSteps(run, MetricsLine::peNormTotal));
        assertArrayEquals(new double[]{1, 2, 3, 4}, Extract.peNorms(run, MetricsLine::peNormTotal, 2));
        double[] all = Extract.peNorms(run, MetricsLine::peNormTotal, 0);
        assertEquals(7, all.length);
        Histogram h = Histogram.of(List.of(all, new double[]{3, 4}), 10);
        assertTrue(h.log()); // 1 .. 200 spans more than a decade
        assertEquals(1, h.edges()[0], 1e-9);
        assertEquals(200, h.edges()[10], 1e-9);
        for (double[] f : h.fractions()) assertEquals(1, Arrays.stream(f).sum(), 1e-12);
        assertEquals(1.0 / 7, h.fractions().get(0)[0], 1e-12); // only the value 1 in [1, 1.7)

        Histogram flat = Histogram.of(List.of(new double[]{2, 2, 2}), 4);
        assertEquals(1, Arrays.stream(flat.fractions().getFirst()).sum(), 1e-12);
        assertEquals(0, Histogram.of(List.of(), 4).bins());
    }

    @Test
    void decimationAveragesBucketsAndKeepsShortSeries() {
        Series s = new Series("s", new double[]{0, 1, 2, 3, 4, 5}, new double[]{1, 3, 5, 7, 9, 11});
        assertEquals(s, s.decimate(6));
        Series d = s.decimate(3);
        assertArrayEquals(new double[]{0.5, 2.5, 4.5}, d.x());
        assertArrayEquals(new double[]{2, 6, 10}, d.y());
    }

    @Test
    void numbersAndTicksReadWell() {
        assertEquals("1.23M", Fmt.num(1_234_567));
        assertEquals("6e-4", Fmt.num(6e-4));
        assertEquals("3.142", Fmt.num(Math.PI));
        assertEquals("1M", Fmt.num(999_999));
        assertEquals("–", Fmt.num(Double.NaN));
        assertEquals(List.of(0.0, 2.0, 4.0, 6.0, 8.0, 10.0), Scale.of(0.3, 9.2, false, false, true, 0, 1).ticks());
        assertEquals(List.of(1.0, 10.0, 100.0, 1000.0), Scale.of(1, 1000, true, false, true, 0, 1).ticks());
        Scale log = Scale.of(20, 80, true, false, true, 0, 100);
        assertTrue(log.ticks().size() >= 2, log.ticks().toString());
        assertTrue(log.px(20) > 0 && log.px(80) < 100);
    }
}
