package gns4j.measure;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.cli.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

        assertBadInput("--init-from", "measure", "--data-dir", d);                  // neither --init-from nor --config
        assertBadInput("mutually exclusive", "measure", "--data-dir", d, "--config", c, "--init-from", emptyRun.toString());
        assertBadInput("nor a run, checkpoint or Hugging Face", "measure", "--data-dir", d, "--init-from", emptyRun.toString());
        assertBadInput("no config.json beside the weights", "measure", "--data-dir", d, "--init-from", checkpointFile.toString());
        assertBadInput("--batches must be >= 2", "measure", "--data-dir", d, "--config", c, "--batches", "1");
        assertBadInput("multiple of micro_batch_size", "measure", "--data-dir", d, "--config", c, "--batch-size", "12");
        assertBadInput("--interval must be bootstrap or jackknife", "measure", "--data-dir", d, "--config", c, "--interval", "x");
        assertBadInput("--confidence", "measure", "--data-dir", d, "--config", c, "--confidence", "90");
        assertBadInput("unknown config key 'n_layers'", "measure", "--data-dir", d, "--config", c, "--set", "n_layers=2");
        assertBadInput("data dir not found", "measure", "--data-dir", tmp.resolve("nope").toString(), "--config", c);
        assertBadInput("the model needs", "measure", "--data-dir", d, "--init-from", PlantedFixture.run.toString(),
                "--set", "n_embd=64");
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
    }
}
