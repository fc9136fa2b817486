package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.cli.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: `experiment schedule` on a tiny config (2 arms x 2 seeds, a tiny byte-level model on the bundled
 * corpus, a few steps each), then the files it leaves.
 */
class ScheduleExperimentTest {
    @TempDir static Path tmp;
    static Path out, config;
    static int exit;
    static String stdout;

    static String config(Path out, Path data, String armsJson) {
        return """
                {
                  "out_dir": "%s",
                  "data_dir": "%s",
                  "prepare": {"inputs": ["demo"], "tokenizer": "byte"},
                  "base": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "micro_batch_size": 4,
                           "batch_size": 8, "learning_rate": 3e-3, "min_lr": 3e-4, "warmup_tokens": 256,
                           "max_tokens": 2048, "max_steps": 1000, "eval_interval": 2, "eval_sequences": 8,
                           "log_interval": 1000, "threads": 2, "gns_alpha": 0.9},
                  "arms": %s,
                  "seeds": [3, 4],
                  "estimators": {"batches": 4, "groups": 2}
                }""".formatted(out.toString().replace("\\", "/"), data.toString().replace("\\", "/"), armsJson);
    }

    static final String ARMS = """
            {"fixed": {},
             "adaptive": {"batch_schedule": "adaptive", "batch_size_min": 4, "batch_size_start": 4,
                          "adaptive_k": 1000, "adaptive_interval": 3}}""";

    /** `./gns4j experiment ...` through the real CLI, output captured. */
    static Cli run(String... args) {
        String[] full = new String[args.length + 1];
        full[0] = "experiment";
        System.arraycopy(args, 0, full, 1, args.length);
        return Cli.run(full);
    }

    @BeforeAll
    static void runExperiment() throws IOException {
        out = tmp.resolve("out");
        config = tmp.resolve("exp.json");
        Files.writeString(config, config(out, tmp.resolve("data"), ARMS));
        Cli r = run("schedule", "--config", config.toString());
        exit = r.exitCode();
        stdout = r.out();
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void writesTheTablesWithEveryArmAndSeed() throws IOException {
        for (String f : List.of("results.md", "results.csv", "gns_ln_vs_total.csv", "estimators.json"))
            assertTrue(Files.exists(out.resolve(f)), f);
        for (int seed : List.of(3, 4)) {
            String report = Files.readString(out.resolve("report-seed" + seed + ".html"));
            for (String arm : List.of("fixed", "adaptive")) assertTrue(report.contains(arm + "-seed" + seed), arm + " in " + seed);
            assertFalse(report.contains("-seed" + (7 - seed)), "only seed " + seed + "'s runs");
        }
        String md = Files.readString(out.resolve("results.md"));
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(5, csv.size(), "header + 2 arms x 2 seeds: " + csv);
        String gns = Files.readString(out.resolve("gns_ln_vs_total.csv"));
        for (String arm : List.of("fixed", "adaptive"))
            for (int seed : List.of(3, 4)) {
                String run = arm + "-seed" + seed;
                assertTrue(Files.exists(out.resolve(run).resolve("summary.json")), run);
                assertTrue(md.contains("| " + run + " |"), run + " in results.md");
                assertTrue(csv.stream().anyMatch(l -> l.startsWith(arm + "," + seed + ",")), run + " in results.csv");
                assertTrue(gns.contains("\n" + run + "," + arm + "," + seed + ","), run + " in gns_ln_vs_total.csv");
            }
        assertTrue(md.contains("## LayerNorm-only vs total GNS"));
        assertTrue(md.contains("per-example norms") && md.contains("micro-batch norms") && md.contains("sequential steps"));
        assertTrue(stdout.contains("| fixed-seed3 |"), "the table is printed too");
        // The baseline reaches its own final loss; its saving is 0 by definition.
        for (String line : csv)
            if (line.startsWith("fixed,")) {
                String[] c = line.split(",", -1);
                assertEquals("true", c[10], line);
                assertEquals(0.0, Double.parseDouble(c[16]), 1e-9, line);
            }
    }

    @Test
    void everyRunHasTheSameTokenBudgetAndLrHorizon() throws IOException {
        for (String run : List.of("fixed-seed3", "adaptive-seed4")) {
            JsonObject cfg = JsonParser.parseString(Files.readString(out.resolve(run).resolve("config.json"))).getAsJsonObject();
            assertEquals(2048, cfg.get("max_tokens").getAsLong());
            List<String> lines = Files.readAllLines(out.resolve(run).resolve("metrics.jsonl"));
            long tokens = JsonParser.parseString(lines.getLast()).getAsJsonObject().get("tokens").getAsLong();
            assertTrue(tokens >= 2048 && tokens < 2048 + 8 * 16, run + " ended at " + tokens + " tokens");
        }
    }

    @Test
    void adaptiveRunsLogEachBatchChange() throws IOException {
        for (int seed : List.of(3, 4)) {
            List<String> lines = Files.readAllLines(out.resolve("adaptive-seed" + seed).resolve("metrics.jsonl"));
            int previous = 0, changes = 0;
            for (String line : lines) {
                JsonObject r = JsonParser.parseString(line).getAsJsonObject();
                int b = r.get("batch_size").getAsInt();
                if (r.has("batch_change")) {
                    JsonObject c = r.getAsJsonObject("batch_change");
                    assertEquals(previous, c.get("from").getAsInt(), line);
                    assertEquals(b, c.get("to").getAsInt(), line);
                    assertTrue(c.get("gns").getAsDouble() > 0, line);
                    changes++;
                } else if (previous != 0) {
                    assertEquals(previous, b, "a batch change without a batch_change field: " + line);
                }
                previous = b;
            }
            // k = 1000: the first allowed change (step 3, 0-based) jumps to the maximum and stays there.
            assertEquals(1, changes);
            assertEquals(4, JsonParser.parseString(lines.get(2)).getAsJsonObject().get("batch_size").getAsInt());
            assertEquals(8, JsonParser.parseString(lines.get(3)).getAsJsonObject().get("batch_size").getAsInt());
        }
    }

    @Test
    void aSecondCallReusesTheFinishedRuns() throws IOException {
        String before = Files.readString(out.resolve("fixed-seed3").resolve("metrics.jsonl"));
        Cli r = run("schedule", "--config", config.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("reused"), r.err());
        assertEquals(before, Files.readString(out.resolve("fixed-seed3").resolve("metrics.jsonl")));
        assertTrue(Files.readString(out.resolve("results.md")).contains("## Estimator quality"));
        assertFalse(Files.readString(out.resolve("results.md")).contains("Not measured"), "estimators.json is read back");
    }

    @Test
    void armsMayNotChangeWhatMustBeShared() throws IOException {
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, config(tmp.resolve("bad-out"), tmp.resolve("data"),
                "{\"fixed\": {}, \"hot\": {\"learning_rate\": 1e-2}}"));
        Cli r = run("schedule", "--config", bad.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("learning_rate"), r.err());
        Files.writeString(bad, config(tmp.resolve("bad-out"), tmp.resolve("data"),
                "{\"fixed\": {\"max_steps\": 3}, \"other\": {}}"));
        r = run("schedule", "--config", bad.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("max_steps"), r.err());
        assertFalse(Files.exists(tmp.resolve("bad-out")), "nothing written for a refused config");
    }

    @Test
    void seedsOptionRunsASubsetThatTheFullRunThenReuses() throws IOException {
        Path sub = tmp.resolve("subset-out");
        Cli r = run("schedule", "--config", config.toString(), "--out-dir", sub.toString(), "--seeds", "4");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.exists(sub.resolve("fixed-seed4").resolve("summary.json")));
        assertFalse(Files.exists(sub.resolve("fixed-seed3")), "seed 3 was not asked for");
        assertEquals(3, Files.readAllLines(sub.resolve("results.csv")).size(), "header + 2 arms x 1 seed");

        for (String bad : List.of("5", "4,4")) {
            Cli refused = run("schedule", "--config", config.toString(), "--out-dir", sub.toString(), "--seeds", bad);
            assertEquals(2, refused.exitCode(), bad);
            assertTrue(refused.err().contains("--seeds"), refused.err());
        }

        String seed4 = Files.readString(sub.resolve("fixed-seed4").resolve("metrics.jsonl"));
        r = run("schedule", "--config", config.toString(), "--out-dir", sub.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("fixed seed 4: finished run found"), r.err());
        assertEquals(seed4, Files.readString(sub.resolve("fixed-seed4").resolve("metrics.jsonl")), "seed 4 reused, not rerun");
        assertTrue(Files.exists(sub.resolve("fixed-seed3").resolve("summary.json")), "seed 3 run by the full call");
        assertEquals(5, Files.readAllLines(sub.resolve("results.csv")).size(), "header + 2 arms x 2 seeds");
    }

    @Test
    void estimatorPassGivesThreeDefinedRows() throws IOException {
        String json = Files.readString(out.resolve("estimators.json"));
        for (String e : List.of("PER_EXAMPLE", "MICRO_BATCH", "SEQUENTIAL")) assertTrue(json.contains(e), e);
    }
}
