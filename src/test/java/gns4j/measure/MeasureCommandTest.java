package gns4j.measure;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.cli.Main;
import gns4j.cli.MeasureCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code gns4j measure} end to end, on the planted dataset and trained model of {@link PlantedFixture}. Runs
 * through {@link Main#run} once the command is registered there, and until then through a command line built the
 * same way (same handlers) with the command added.
 */
class MeasureCommandTest {
    @TempDir Path tmp;

    record Outcome(int status, String out, String err) {}

    static Outcome run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = new CommandLine(new Main()).getSubcommands().containsKey("measure") ? Main.run(args) : runLocally(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Main.run's wiring with measure added. */
    private static int runLocally(String... args) {
        CommandLine cli = new CommandLine(new Main()).addSubcommand(new MeasureCommand());
        cli.setParameterExceptionHandler((e, a) -> {
            System.err.println("gns4j: " + e.getMessage() + " (see: ./gns4j measure --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, c, p) -> {
            if (e instanceof UserError) {
                System.err.println("gns4j: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli.execute(args);
    }

    static Path data() throws IOException {
        PlantedFixture.build();
        return PlantedFixture.data;
    }

    private static void assertBadInput(String expected, String... args) {
        Outcome o = run(args);
        assertEquals(2, o.status(), o.err());
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
        assertBadInput("checkpoints are not available yet", "measure", "--data-dir", d, "--init-from", emptyRun.toString());
        assertBadInput("loading checkpoint files is not available yet", "measure", "--data-dir", d, "--init-from", checkpointFile.toString());
        assertBadInput("--batches must be >= 2", "measure", "--data-dir", d, "--config", c, "--batches", "1");
        assertBadInput("multiple of micro_batch_size", "measure", "--data-dir", d, "--config", c, "--batch-size", "12");
        assertBadInput("--interval must be bootstrap or jackknife", "measure", "--data-dir", d, "--config", c, "--interval", "x");
        assertBadInput("--confidence", "measure", "--data-dir", d, "--config", c, "--confidence", "90");
        assertBadInput("unknown config key 'n_layers'", "measure", "--data-dir", d, "--config", c, "--set", "n_layers=2");
        assertBadInput("data dir not found", "measure", "--data-dir", tmp.resolve("nope").toString(), "--config", c);
        assertBadInput("do not match", "measure", "--data-dir", d, "--init-from", PlantedFixture.run.toString(),
                "--set", "n_embd=64");
    }

    @Test
    void measuresATrainedModelAsJsonWithPlantedDocumentsOnTop() throws IOException {
        Outcome o = run("measure", "--data-dir", data().toString(), "--init-from", PlantedFixture.run.toString(),
                "--batches", "6", "--batch-size", "16", "--top", "3", "--json", "--seed", "9");
        assertEquals(0, o.status(), o.err());
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
        Outcome o = run("measure", "--data-dir", data().toString(), "--config", config.toString(), "--batches", "4",
                "--top", "2", "--interval", "jackknife", "--confidence", "0.8");
        assertEquals(0, o.status(), o.err());
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
