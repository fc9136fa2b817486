package gns4j.measure;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.cli.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code gns4j measure} end to end through the CLI, on the planted dataset and trained model of
 * {@link PlantedFixture}.
 */
class MeasureCommandTest {
    @TempDir Path tmp;

    static Cli run(String... args) { return Cli.run(args); }

    static Path data() throws IOException {
        PlantedFixture.build();
        return PlantedFixture.data;
    }

    private static void assertBadInput(String expected, String... args) {
        Cli o = run(args);
        assertEquals(2, o.exitCode(), o.err());
        assertEquals("", o.out());
        assertTrue(o.err().startsWith("gns4j: ") && o.err().endsWith("\n") && o.err().indexOf('\n') == o.err().length() - 1,
                "one line on stderr, got: " + o.err());
        assertTrue(o.err().contains(expected), o.err());
    }

    @Test
    void badInputIsOneLineAndStatus2() throws IOException {
        String d = data().toString();
        Path config = Files.writeString(tmp.resolve("c.json"), "{\"n_layer\": 1, \"n_embd\": 16, \"n_head\": 2, \"block_size\": 16}");
        Path emptyRun = Files.createDirectories(tmp.resolve("run-without-weights"));
        Files.writeString(emptyRun.resolve("config.json"), "{}");
        Path checkpointFile = Files.writeString(tmp.resolve("model.safetensors"), "x");
        String c = config.toString();

        assertBadInput("Missing required option: '--data-dir=DIR'", "measure", "--config", c);
        assertBadInput("mutually exclusive", "measure", "--data-dir", d, "--config", c, "--init-from", emptyRun.toString());
        assertBadInput("nor a run, checkpoint or Hugging Face", "measure", "--data-dir", d, "--init-from", emptyRun.toString());
        assertBadInput("no config.json beside the weights", "measure", "--data-dir", d, "--init-from", checkpointFile.toString());
        assertBadInput("--batches must be >= 2", "measure", "--data-dir", d, "--config", c, "--batches", "1");
        assertBadInput("multiple of micro_batch_size", "measure", "--data-dir", d, "--config", c, "--set", "micro_batch_size=8", "--batch-size", "12");
        assertBadInput("--interval must be bootstrap or jackknife", "measure", "--data-dir", d, "--config", c, "--interval", "x");
        assertBadInput("--confidence", "measure", "--data-dir", d, "--config", c, "--confidence", "90");
        assertBadInput("unknown config key 'n_layers'", "measure", "--data-dir", d, "--config", c, "--set", "n_layers=2");
        assertBadInput("data dir not found", "measure", "--data-dir", tmp.resolve("nope").toString(), "--config", c);
        assertBadInput("the model needs", "measure", "--data-dir", d, "--init-from", PlantedFixture.run.toString(),
                "--set", "n_embd=64");

        Path stats = Files.writeString(tmp.resolve("stats.jsonl"), STATS + "{\"batch_size\": 8}\n");
        assertBadInput("mutually exclusive", "measure", "--from-stats", stats.toString(), "--config", c);
        assertBadInput("cannot be combined with --data-dir, --batches", "measure", "--from-stats", stats.toString(),
                "--data-dir", d, "--batches", "40");
        assertBadInput(stats + ":3: \"groups\" must be", "measure", "--from-stats", stats.toString());
        assertBadInput("not found", "measure", "--from-stats", tmp.resolve("nope.jsonl").toString());
    }

    /** Two batches of 8 examples of 16 tokens, groups total, ln and one tensor. */
    private static final String STATS = """
            {"batch_size": 8, "tokens_per_example": 16, "groups": {"total": {"pe_sq_mean": 5.0, "grad_sq": 1.5}, "ln": {"pe_sq_mean": 0.5, "grad_sq": 0.1}, "tensor/w": {"pe_sq_mean": 4.0, "grad_sq": 1.2}}}
            {"batch_size": 8, "tokens_per_example": 16, "groups": {"total": {"pe_sq_mean": 4.0, "grad_sq": 0.9}, "ln": {"pe_sq_mean": 0.4, "grad_sq": 0.05}, "tensor/w": {"pe_sq_mean": 3.0, "grad_sq": 0.7}}}
            """;

    @Test
    void fromStatsPrintsTheGroupTable() throws IOException {
        Path stats = Files.writeString(tmp.resolve("stats.jsonl"), STATS);
        Cli o = run("measure", "--from-stats", stats.toString());
        assertEquals(0, o.exitCode(), o.toString());
        String t = o.out();
        assertTrue(t.startsWith("gns4j measure --from-stats: 2 batches x 8 examples x 16 tokens = 256 tokens from " + stats), t);
        for (String row : new String[]{"total", "ln"})
            assertTrue(t.lines().anyMatch(l -> l.startsWith(row + " ")), row + " row missing:\n" + t);
        assertFalse(t.contains("tensor/"), "tensors only with --tensors");
        // total: |G|² = (B·G − S)/(B − 1), tr(Σ) = (S − G)/(1 − 1/B), averaged over the two batches
        double g = ((8 * 1.5 - 5) / 7 + (8 * 0.9 - 4) / 7) / 2, tr = ((5 - 1.5) / (1 - 1 / 8.0) + (4 - 0.9) / (1 - 1 / 8.0)) / 2;
        assertTrue(t.contains("critical batch size (B_simple, all parameters): " + GnsTable.num(tr / g) + " examples = "), t);
        assertTrue(run("measure", "--from-stats", stats.toString(), "--tensors").out().contains("tensor/w "));
    }

    /**
     * measure's own per-batch estimates of a model, written as a statistics file, give measure's results for those
     * groups: --from-stats runs the same estimator and interval on the same batches.
     */
    @Test
    void fromStatsReproducesMeasureOnTheSameBatches() throws IOException {
        int B = 16;
        Cli m = run("measure", "--data-dir", data().toString(), "--init-from", PlantedFixture.run.toString(),
                "--batches", "6", "--batch-size", String.valueOf(B), "--top", "0", "--json", "--seed", "9");
        assertEquals(0, m.exitCode(), m.err());
        JsonObject measured = JsonParser.parseString(m.out()).getAsJsonObject();
        JsonObject perBatch = measured.getAsJsonObject("per_batch");
        StringBuilder lines = new StringBuilder();
        for (int b = 0; b < 6; b++) {
            JsonObject groups = new JsonObject();
            for (String id : perBatch.keySet()) {
                JsonObject e = perBatch.getAsJsonArray(id).get(b).getAsJsonObject();
                double gradSq = e.get("grad_sq").getAsDouble(), traceSigma = e.get("trace_sigma").getAsDouble();
                JsonObject s = new JsonObject();
                s.addProperty("pe_sq_mean", gradSq + traceSigma);
                s.addProperty("grad_sq", gradSq + traceSigma / B);
                groups.add(id, s);
            }
            JsonObject line = new JsonObject();
            line.addProperty("batch_size", B);
            line.addProperty("tokens_per_example", PlantedFixture.T);
            line.add("groups", groups);
            lines.append(line).append('\n');
        }
        Path stats = Files.writeString(tmp.resolve("from-measure.jsonl"), lines);
        Cli o = run("measure", "--from-stats", stats.toString(), "--json", "--seed", "9");
        assertEquals(0, o.exitCode(), o.toString());
        JsonObject fromStats = JsonParser.parseString(o.out()).getAsJsonObject();
        assertEquals(List.of("total", "ln"), List.copyOf(fromStats.getAsJsonObject("groups").keySet()));
        for (String id : List.of("total", "ln")) {
            JsonObject want = measured.getAsJsonObject("groups").getAsJsonObject(id), got = fromStats.getAsJsonObject("groups").getAsJsonObject(id);
            for (String key : List.of("gns", "low", "high", "b_simple_tokens", "grad_sq", "trace_sigma"))
                assertEquals(want.get(key).getAsDouble(), got.get(key).getAsDouble(), 1e-9 * Math.abs(want.get(key).getAsDouble()), id + " " + key);
            assertEquals(want.get("batches_to_halve_interval"), got.get("batches_to_halve_interval"), id);
        }
    }

    @Test
    void withoutConfigTheDefaultsAndSetKeysDescribeTheModel() throws IOException {
        Cli o = run("measure", "--data-dir", data().toString(), "--set", "n_layer=1", "--set", "n_embd=16",
                "--set", "n_head=2", "--set", "block_size=16", "--set", "batch_size=4", "--set", "micro_batch_size=4",
                "--batches", "2", "--top", "0", "--json");
        assertEquals(0, o.exitCode(), o.toString());
        JsonObject j = JsonParser.parseString(o.out()).getAsJsonObject();
        assertEquals("fresh init (seed 1337)", j.get("source").getAsString());
        assertEquals(1, j.getAsJsonObject("model").get("n_layer").getAsInt());
        assertEquals(2L * 4 * 16, j.get("tokens").getAsLong());
    }

    @Test
    void measuresATrainedModelAsJsonWithPlantedDocumentsOnTop() throws IOException {
        Cli o = run("measure", "--data-dir", data().toString(), "--init-from", PlantedFixture.run.toString(),
                "--batches", "6", "--batch-size", "16", "--top", "3", "--json", "--seed", "9");
        assertEquals(0, o.exitCode(), o.err());
        JsonObject j = JsonParser.parseString(o.out()).getAsJsonObject();
        assertEquals(6 * 16, j.getAsJsonArray("examples").size());
        assertEquals(6L * 16 * PlantedFixture.T, j.get("tokens").getAsLong());
        assertEquals("bootstrap", j.getAsJsonObject("interval").get("method").getAsString());
        JsonObject total = j.getAsJsonObject("groups").getAsJsonObject("total");
        double gns = total.get("gns").getAsDouble();
        assertTrue(total.get("low").getAsDouble() <= gns && gns <= total.get("high").getAsDouble(), total.toString());
        assertEquals(gns * PlantedFixture.T, total.get("b_simple_tokens").getAsDouble(), 1e-9 * gns);
        for (String id : new String[]{"ln", "type/attn_qkv", "layer/h.1", "tensor/transformer.wte.weight"})
            assertTrue(j.getAsJsonObject("groups").has(id), id);
        var highest = j.getAsJsonObject("top").getAsJsonArray("highest");
        assertEquals(3, highest.size());
        for (var e : highest) {
            long offset = e.getAsJsonObject().get("offset").getAsLong();
            assertEquals(PlantedFixture.T + 1, PlantedFixture.plantedTokens(offset), "offset " + offset);
            String text = e.getAsJsonObject().get("text").getAsString();
            assertTrue(text.contains("\\x") || text.contains("\uFFFD"), "random bytes should not read as text: " + text);
        }
        for (var e : j.getAsJsonObject("top").getAsJsonArray("lowest"))
            assertTrue(e.getAsJsonObject().get("text").getAsString().matches("[\\x20-\\x7E]+|.*\\\\n.*"),
                    "lowest-norm windows are English text: " + e);
    }

    @Test
    void freshModelFromConfigPrintsTheTable() throws IOException {
        Path config = Files.writeString(tmp.resolve("c.json"),
                "{\"n_layer\": 1, \"n_embd\": 16, \"n_head\": 2, \"block_size\": 16, \"batch_size\": 8, \"micro_batch_size\": 4, \"threads\": 2}");
        Cli o = run("measure", "--data-dir", data().toString(), "--config", config.toString(), "--batches", "4",
                "--top", "2", "--interval", "jackknife", "--confidence", "0.8");
        assertEquals(0, o.exitCode(), o.err());
        String t = o.out();
        assertTrue(t.contains("4 batches x 8 sequences x 16 tokens = 512 tokens"), t);
        assertTrue(t.contains("fresh init (seed 1337)"), t);
        assertTrue(t.contains("80% interval: jackknife over batches"), t);
        for (String row : new String[]{"total", "ln", "type/embedding", "layer/h.0", "layer/head"})
            assertTrue(t.lines().anyMatch(l -> l.startsWith(row + " ")), row + " row missing:\n" + t);
        assertFalse(t.contains("tensor/"), "tensors only with --tensors");
        assertTrue(t.contains("critical batch size"), t);
        assertTrue(t.contains("highest total per-example gradient norm") && t.contains("lowest total per-example gradient norm"), t);
        // stderr, not a terminal: what runs, then a line at each quarter of the batches
        List<String> progress = o.err().lines().toList();
        assertEquals(5, progress.size(), o.err());
        assertTrue(progress.getFirst().startsWith("measure: 4 batches of 8 sequences x 16 tokens, GPT-2 (1 layer, 2 heads,"),
                progress.getFirst());
        for (int batch = 1; batch <= 3; batch++)
            assertTrue(progress.get(batch).matches("measure: batch " + batch + "/4 \\(\\d+s left\\)"), progress.get(batch));
        assertEquals("measure: batch 4/4", progress.get(4));
    }
}
