package gns4j.measure;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.PythonScripts;
import gns4j.cli.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** scripts/torch_gns_stats.py on the CPU, where python3 has torch (skipped elsewhere). */
class TorchGnsStatsTest {
    @TempDir Path tmp;

    /** Any model: vmap statistics equal plain per-example autograd (checked by the script), and measure reads them. */
    @Test
    void anyModelsStatisticsReadBackInMeasure() {
        PythonScripts.assumeModules("torch");
        Path stats = tmp.resolve("generic.jsonl");
        PythonScripts.Result r = PythonScripts.run(Path.of("scripts/check_torch_gns_stats.py"), stats.toString());
        assertEquals(0, r.exitCode(), r.output());
        Cli o = Cli.run("measure", "--from-stats", stats.toString());
        assertEquals(0, o.exitCode(), o.toString());
        for (String row : List.of("total", "ln", "type/Linear", "layer/blocks.1"))
            assertTrue(o.out().lines().anyMatch(l -> l.startsWith(row + " ")), row + " row missing:\n" + o.out());
    }

    /**
     * Our trained model loaded in transformers (without it, in scripts/reference_models.py), on the windows measure
     * drew, gives measure's table: every group, in measure's order, with GNS and interval within float32 tolerance.
     */
    @Test
    void gns4jModelInPyTorchGivesMeasuresTable() throws IOException {
        PythonScripts.assumeModules("torch", "numpy");
        PlantedFixture.build();
        Cli m = Cli.run("measure", "--data-dir", PlantedFixture.data.toString(), "--init-from",
                PlantedFixture.run.toString(), "--batches", "4", "--batch-size", "16", "--top", "0", "--json", "--seed", "9");
        assertEquals(0, m.exitCode(), m.err());
        Path measureJson = Files.writeString(tmp.resolve("measure.json"), m.out()), stats = tmp.resolve("stats.jsonl");
        PythonScripts.Result r = PythonScripts.run(Path.of("scripts/torch_gns_stats.py"), "--gns4j-run",
                PlantedFixture.run.toString(), "--windows", measureJson.toString(), "--out", stats.toString(),
                "--device", "cpu", "--micro-batch", "8");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("--seed 9"), r.output());
        Cli o = Cli.run("measure", "--from-stats", stats.toString(), "--json", "--seed", "9");
        assertEquals(0, o.exitCode(), o.toString());

        JsonObject want = JsonParser.parseString(m.out()).getAsJsonObject().getAsJsonObject("groups");
        JsonObject got = JsonParser.parseString(o.out()).getAsJsonObject().getAsJsonObject("groups");
        assertEquals(List.copyOf(want.keySet()), List.copyOf(got.keySet()), "the same groups in the same order");
        for (String id : want.keySet()) {
            for (String key : List.of("gns", "low", "high", "b_simple_tokens", "grad_sq", "trace_sigma")) {
                var w = want.getAsJsonObject(id).get(key);
                var g = got.getAsJsonObject(id).get(key);
                assertEquals(w.isJsonNull(), g.isJsonNull(), id + " " + key + ": " + w + " vs " + g);
                if (!w.isJsonNull())
                    assertEquals(w.getAsDouble(), g.getAsDouble(), 1e-3 * Math.abs(w.getAsDouble()), id + " " + key);
            }
        }
    }
}
