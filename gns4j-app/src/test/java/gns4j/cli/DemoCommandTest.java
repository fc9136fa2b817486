package gns4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./gns4j demo}, the first command users run, shrunk to a few seconds. */
class DemoCommandTest {
    @TempDir Path tmp;

    @Test
    void demoLeavesARunFolder() throws IOException {
        Path run = tmp.resolve("demo-run");
        Cli r = Cli.run("demo", "--max-steps", "3", "--out-dir", run.toString(), "--set", "n_layer=1",
                "--set", "n_embd=32", "--set", "block_size=32", "--set", "eval_interval=2");
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(3, lines.size(), r.toString());
        JsonObject step2 = JsonParser.parseString(lines.get(1)).getAsJsonObject();
        assertEquals(2, step2.get("step").getAsInt());
        assertTrue(step2.get("val_loss").isJsonPrimitive(), "eval_interval=2 evaluates at step 2: " + step2);
        assertTrue(step2.get("gns_total").isJsonPrimitive() && step2.get("gns_ln").isJsonPrimitive(),
                "the demo measures total and LayerNorm GNS: " + step2);
        for (String f : List.of("config.json", "summary.json", "data/train.bin", "data/val.bin", "data/meta.json"))
            assertTrue(Files.isRegularFile(run.resolve(f)), f + " missing from the run folder");
        assertTrue(r.out().contains("run folder: " + run), r.toString());
        assertTrue(r.out().contains("training estimate") && r.out().contains(DemoCommand.measureCommand(run)),
                "the demo says how its GNS differs from measure's: " + r);
        assertTrue(r.out().contains("LayerNorm-only") && r.out().contains("moving average over the last 3 steps, 1536 tokens"),
                "the demo names the window of its moving average: " + r);
        assertTrue(r.err().contains("GPT-2-shaped") && r.err().contains("model GPT-2 (1 layer,"), r.toString());
        assertFalse(r.out().contains("ModelConfig[") || r.err().contains("ModelConfig["), "no record dump: " + r);
    }

    @Test
    void theLlamaDemoSpeaksOfLlamaAndRmsNorm() {
        Cli r = Cli.run("demo", "--max-steps", "2", "--out-dir", tmp.resolve("llama").toString(), "--set", "arch=llama",
                "--set", "n_kv_head=2", "--set", "n_layer=1", "--set", "n_embd=32", "--set", "block_size=16",
                "--set", "eval_interval=0");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.err().contains("Llama-shaped") && r.err().contains("model Llama (1 layer, 4 query heads, 2 key/value heads"),
                r.toString());
        assertTrue(r.out().contains("RMSNorm-only") && !r.out().contains("LayerNorm") && !r.err().contains("GPT"), r.toString());
    }
}
