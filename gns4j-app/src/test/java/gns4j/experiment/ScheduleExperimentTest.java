package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.cli.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: `experiment schedule` on a tiny config (a sweep of 2 fixed batches, the best at 2x LR, an adaptive arm,
 * a goodput arm on the measured curve and one on the curve projected to 64 GPUs, 2 seeds; a tiny byte-level model on the bundled corpus, a few steps each), then the files it leaves.
 */
class ScheduleExperimentTest {
    @TempDir static Path tmp;
    static Path out, config;
    static String stdout;

    static String config(Path out, Path data, String armsJson) {
        return """
                {
                  "out_dir": "%s",
                  "data_dir": "%s",
                  "prepare": {"inputs": ["demo"], "tokenizer": "byte"},
                  "base": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "batch_multiple": 4,
                           "batch_size": 8, "learning_rate": 3e-3, "min_lr": 3e-4, "warmup_tokens": 256,
                           "max_tokens": 2048, "max_steps": 1000, "eval_interval_tokens": 256, "eval_sequences": 8,
                           "log_interval": 1000, "threads": 2, "gns_alpha": 0.9},
                  "fixed_batches": [4, 8],
                  "lr_factors": [2],
                  "arms": %s,
                  "seeds": [3, 4],
                  "estimators": {"batches": 4, "groups": 2, "batch_size": 8}
                }""".formatted(out.toString().replace("\\", "/"), data.toString().replace("\\", "/"), armsJson);
    }

    static final String ADAPTIVE = """
            {"adaptive": {"batch_schedule": "adaptive", "batch_size_min": 4, "batch_size_start": 4,
                          "adaptive_k": 1000, "adaptive_interval": 3},
             "goodput": {"batch_schedule": "adaptive", "adaptive_policy": "goodput", "batch_size_min": 4,
                         "batch_size_start": 4, "adaptive_interval": 3},
             "goodput-64gpu": {"batch_schedule": "adaptive", "adaptive_policy": "goodput", "goodput_gpus": 64,
                               "batch_size_min": 4, "batch_size_start": 4, "adaptive_interval": 3}}""";

    static final List<String> SCHEDULE_ARMS = List.of("adaptive", "goodput", "goodput-64gpu");

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
        Files.writeString(config, config(out, tmp.resolve("data"), ADAPTIVE));
        Cli r = run("schedule", "--config", config.toString());
        stdout = r.out();
        assertEquals(0, r.exitCode(), r.err());
    }

    /** The LR arm of the best fixed batch, named after it. */
    static String lrArm() throws IOException {
        try (var files = Files.list(out)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.matches("fixed-\\d+-lr2-seed3"))
                    .map(n -> n.replace("-seed3", "")).findFirst().orElseThrow(() -> new AssertionError("no LR arm run"));
        }
    }

    /** An arm compares a schedule on the same model: any model key in an arm is refused, naming the key. */
    @Test
    void anArmCannotChangeTheModel() {
        for (String key : List.of("arch", "n_kv_head", "ffn_hidden", "n_layer")) {
            String arms = "{\"ramp\": {\"batch_schedule\": \"linear_ramp\", \"ramp_tokens\": 100, \"" + key + "\": 1}}";
            var e = assertThrows(gns4j.UserError.class,
                    () -> ScheduleExperimentConfig.parse(config(Path.of("o"), Path.of("d"), arms), "e.json"));
            assertTrue(e.getMessage().contains("overrides " + key), e.getMessage());
        }
    }

    /** lr_factor: the arm at f times the base's peak and floor LR (3e-3, 3e-4), like the LR arms; nothing else moves. */
    @Test
    void anArmsLrFactorScalesPeakAndFloorLr() {
        String arms = "{\"adaptive-lr2\": {\"batch_schedule\": \"adaptive\", \"batch_size_min\": 4, \"lr_factor\": 2}}";
        ScheduleExperimentConfig c = ScheduleExperimentConfig.parse(config(Path.of("o"), Path.of("d"), arms), "e.json");
        var tuned = c.trainConfigs(3L).get("adaptive-lr2").optimizer();
        var plain = c.trainConfigs(3L).get("fixed-4").optimizer();
        assertEquals(6e-3, tuned.learningRate(), 1e-15);
        assertEquals(6e-4, tuned.minLr(), 1e-15);
        assertEquals(3e-3, plain.learningRate(), 1e-15);
        assertEquals(plain.beta2(), tuned.beta2());
        var lrArm = c.trainConfigs(c.lrArms(4), 3L, List.of()).get("fixed-4-lr2").optimizer();
        assertEquals(6e-3, lrArm.learningRate(), 1e-15);
        for (String bad : List.of("0", "-1", "\"x\"")) {
            String a = "{\"adaptive-lr\": {\"batch_schedule\": \"adaptive\", \"batch_size_min\": 4, \"lr_factor\": " + bad + "}}";
            var e = assertThrows(gns4j.UserError.class, () -> ScheduleExperimentConfig.parse(config(Path.of("o"), Path.of("d"), a), "e.json"));
            assertTrue(e.getMessage().contains("lr_factor must be a number > 0"), e.getMessage());
        }
    }

    @Test
    void writesTheTablesWithEveryArmAndSeed() throws IOException {
        for (String f : List.of("results.md", "results.csv", "savings.csv", "curves.csv", "gns_ln_vs_total.csv", "estimators.json", "throughput.json"))
            assertTrue(Files.exists(out.resolve(f)), f);
        String md = Files.readString(out.resolve("results.md"));
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(13, csv.size(), "header + 6 arms x 2 seeds: " + csv);
        String lr = lrArm();
        for (String arm : List.of("fixed-4", "fixed-8", "adaptive", "goodput", "goodput-64gpu", lr))
            for (int seed : List.of(3, 4)) {
                String run = arm + "-seed" + seed;
                assertTrue(Files.exists(out.resolve(run).resolve("summary.json")), run);
                assertTrue(md.contains("| " + run + " |"), run + " in results.md");
                assertTrue(md.contains("Every run trained on cpu ("), "the device from summary.json");
                assertTrue(csv.stream().anyMatch(l -> l.startsWith(arm + "," + seed + ",")), run + " in results.csv");
                assertTrue(Files.readString(out.resolve("report-seed" + seed + ".html")).contains(run), run + " in its seed's report");
            }
        assertTrue(md.contains("## What a bigger batch buys") && md.contains("## LayerNorm-only vs total GNS"));
        assertTrue(md.contains("per-example norms") && md.contains("micro-batch norms") && md.contains("sequential steps"));
        assertTrue(md.contains("Finding the best fixed batch"), "the sweep's cost beside one schedule run");
        assertTrue(md.contains("## The loss ladder"), "the loss ladder");
        // The cost table to L*: its best fixed arm reaches L* (its mean final loss) in at least one seed.
        for (String currency : List.of("| steps |", "| tokens |", "| train time (s, measured) |", "| 1 GPU (s, projection) |",
                "| 8 GPUs (s, projection) |", "| 64 GPUs (s, projection) |"))
            assertTrue(md.contains(currency), currency + " in results.md");
        // Every schedule arm's savings: a mean / worst row, or named where none is defined.
        for (String arm : SCHEDULE_ARMS)
            assertTrue(md.contains("| " + arm + " | **mean / worst** |") || md.matches("(?s).*No saving is defined [^\\n]*: [^\\n]*\\b" + arm + "\\b.*"),
                    arm + "'s savings");
        List<String> savings = Files.readAllLines(out.resolve("savings.csv"));
        for (String arm : SCHEDULE_ARMS)
            for (String currency : List.of("steps", "tokens", "seconds", "projected_s_1gpu", "projected_s_8gpu", "projected_s_64gpu"))
                assertEquals(2 * 7, savings.stream().filter(l -> l.contains("," + currency + ",") && l.contains("," + arm + ",")).count(),
                        arm + " in " + currency + ": 2 seeds x 7 rungs");
        assertTrue(md.contains("runs trained at"), "the runs' own rates beside the curve");
        assertTrue(stdout.contains("| adaptive-seed3 |"), "the table is printed too");
    }

    @Test
    void theTargetIsTheBestFixedArmsMeanFinalLossRecomputedFromCurves() throws IOException {
        // L* from curves.csv alone: the last evaluation of each run, averaged over seeds, lowest fixed arm.
        Map<String, double[]> sums = new HashMap<>();
        Map<String, String> lastLine = new HashMap<>();
        for (String line : Files.readAllLines(out.resolve("curves.csv")).subList(1, Files.readAllLines(out.resolve("curves.csv")).size())) {
            String[] c = line.split(",", -1);
            lastLine.put(c[0] + "," + c[1], c[8]);
        }
        lastLine.forEach((run, val) -> sums.computeIfAbsent(run.split(",")[0], k -> new double[2])[0] += Double.parseDouble(val));
        lastLine.forEach((run, val) -> sums.get(run.split(",")[0])[1]++);
        double target = sums.entrySet().stream().filter(e -> e.getKey().startsWith("fixed-"))
                .mapToDouble(e -> e.getValue()[0] / e.getValue()[1]).min().orElseThrow();
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertTrue(csv.getFirst().startsWith("arm,seed,final_val_loss,steps,tokens,train_s,elapsed_s,train_tok_per_s,final_batch,batch_changes,target_val_loss,"));
        for (String line : csv.subList(1, csv.size()))
            assertEquals(target, Double.parseDouble(line.split(",", -1)[10]), 1e-5, line);
        // savings.csv: the cheapest fixed run of a seed in a currency is its own reference (saving 0), and no other
        // fixed run of that seed is cheaper there.
        List<String> savings = Files.readAllLines(out.resolve("savings.csv"));
        assertEquals("level,level_loss,currency,projection,arm,seed,reached,cost,cheapest_fixed,cheapest_fixed_cost,saving_pct", savings.getFirst());
        int references = 0;
        for (String line : savings.subList(1, savings.size())) {
            String[] c = line.split(",", -1);
            if (c[4].equals(c[8])) {
                assertEquals(0.0, Double.parseDouble(c[10]), 1e-9, line);
                references++;
            }
            if (c[4].startsWith("fixed-") && c[6].equals("true"))
                assertTrue(Double.parseDouble(c[7]) >= Double.parseDouble(c[9]), "a fixed run cheaper than the cheapest: " + line);
            assertEquals(c[2].startsWith("projected_s_"), Boolean.parseBoolean(c[3]), "projections are labelled: " + line);
        }
        assertTrue(references > 0);
    }

    @Test
    void goodputArmsWeighTheFixedRunsRatesOrTheirProjection() throws IOException {
        // Seeds run in order, each sweep before its schedules: seed 3's goodput run sees seed 3's fixed runs, seed 4's
        // the mean of both seeds'.
        List<Long> done = new java.util.ArrayList<>();
        for (long seed : List.of(3L, 4L)) {
            done.add(seed);
            StringBuilder expected = new StringBuilder();
            for (int b : List.of(4, 8)) {
                double sum = 0;
                for (long s : done) {
                    RunCurve c = RunCurve.read(out.resolve("fixed-" + b + "-seed" + s).resolve("metrics.jsonl"));
                    sum += c.last().tokens() / c.last().trainSeconds();
                }
                expected.append(expected.isEmpty() ? "" : ",").append(b).append(':').append(String.format(java.util.Locale.ROOT, "%.0f", sum / done.size()));
            }
            JsonObject one = JsonParser.parseString(Files.readString(out.resolve("goodput-seed" + seed).resolve("config.json"))).getAsJsonObject();
            assertEquals("goodput", one.get("adaptive_policy").getAsString());
            assertEquals(expected.toString(), one.get("throughput_curve").getAsString(), "the fixed runs' own rates");
            JsonObject many = JsonParser.parseString(Files.readString(out.resolve("goodput-64gpu-seed" + seed).resolve("config.json"))).getAsJsonObject();
            assertTrue(many.get("throughput_curve").getAsString().matches("4:\\d+,8:\\d+"), "projected at every allowed batch: " + many);
        }
    }

    @Test
    void everyRunHasTheSameTokenBudgetAndTheMicroBatchFollowsTheBatch() throws IOException {
        for (String run : List.of("fixed-4-seed3", "fixed-8-seed4", "adaptive-seed4")) {
            JsonObject cfg = JsonParser.parseString(Files.readString(out.resolve(run).resolve("config.json"))).getAsJsonObject();
            assertEquals(2048, cfg.get("max_tokens").getAsLong());
            List<String> lines = Files.readAllLines(out.resolve(run).resolve("metrics.jsonl"));
            for (String line : lines) {
                JsonObject r = JsonParser.parseString(line).getAsJsonObject();
                assertEquals(r.get("batch_size").getAsInt(), r.get("micro_batch").getAsInt(), line);
                assertEquals(1, r.get("micro_batches").getAsInt(), line);
            }
            long tokens = JsonParser.parseString(lines.getLast()).getAsJsonObject().get("tokens").getAsLong();
            assertTrue(tokens >= 2048 && tokens < 2048 + 8 * 16, run + " ended at " + tokens + " tokens");
        }
    }

    @Test
    void theLrArmsRunTheBestFixedBatchAtTheirMultipleOfTheLr() throws IOException {
        String lr = lrArm();
        JsonObject cfg = JsonParser.parseString(Files.readString(out.resolve(lr + "-seed4").resolve("config.json"))).getAsJsonObject();
        assertEquals(6e-3, cfg.get("learning_rate").getAsDouble(), 1e-12);
        assertEquals(6e-4, cfg.get("min_lr").getAsDouble(), 1e-12);
        assertEquals(lr, "fixed-" + cfg.get("batch_size").getAsInt() + "-lr2");
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
        String before = Files.readString(out.resolve("fixed-4-seed3").resolve("metrics.jsonl"));
        Cli r = run("schedule", "--config", config.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("reused"), r.err());
        assertEquals(before, Files.readString(out.resolve("fixed-4-seed3").resolve("metrics.jsonl")));
        assertTrue(Files.readString(out.resolve("results.md")).contains("## Estimator quality"));
        assertFalse(Files.readString(out.resolve("results.md")).contains("Not measured"), "estimators.json is read back");
    }

    @Test
    void armsMayNotChangeWhatMustBeShared() throws IOException {
        Path bad = tmp.resolve("bad.json");
        for (String arms : List.of("{\"hot\": {\"learning_rate\": 1e-2}}", "{\"fixed-9\": {}}", "{\"short\": {\"max_steps\": 3}}")) {
            Files.writeString(bad, config(tmp.resolve("bad-out"), tmp.resolve("data"), arms));
            Cli r = run("schedule", "--config", bad.toString());
            assertEquals(2, r.exitCode(), arms);
            assertTrue(r.err().matches("(?s).*(learning_rate|fixed-|max_steps).*"), r.err());
        }
        assertFalse(Files.exists(tmp.resolve("bad-out")), "nothing written for a refused config");
        for (String[] flag : List.of(new String[]{"--bus-gbps", "0"}, new String[]{"--project-gpus", "8,0"})) {
            Cli r = run("schedule", "--config", config.toString(), "--out-dir", tmp.resolve("bad-projection").toString(), flag[0], flag[1]);
            assertEquals(2, r.exitCode(), String.join(" ", flag));
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        assertFalse(Files.exists(tmp.resolve("bad-projection")), "nothing written for a refused projection");
    }

    @Test
    void extraGpuCountsAreProjectedToo() throws IOException {
        Cli r = run("schedule", "--config", config.toString(), "--arms", "none", "--project-gpus", "16", "--bus-gbps", "50");
        assertEquals(0, r.exitCode(), r.err());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| 16 GPUs (s, projection) |") && md.contains("bus bandwidth of 50 GB/s"), md);
        // Put the default tables back for the other tests.
        assertEquals(0, run("schedule", "--config", config.toString(), "--arms", "none").exitCode());
    }

    @Test
    void subsetsOfSeedsAndArmsAndAnUnfinishedRunContinueInALaterCall() throws IOException {
        Path sub = tmp.resolve("subset-out");
        Cli r = run("schedule", "--config", config.toString(), "--out-dir", sub.toString(), "--seeds", "4", "--arms", "fixed-*");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.exists(sub.resolve("fixed-4-seed4").resolve("summary.json")));
        assertEquals(3, Files.readAllLines(sub.resolve("results.csv")).size(), "header + 2 fixed arms x 1 seed");
        assertFalse(Files.exists(sub.resolve("adaptive-seed4")), "adaptive was not asked for");
        assertFalse(Files.exists(sub.resolve("fixed-4-seed3")), "seed 3 was not asked for");
        assertTrue(r.err().contains("LR arms wait"), r.err());

        for (String bad : List.of("5", "4,4")) {
            Cli refused = run("schedule", "--config", config.toString(), "--out-dir", sub.toString(), "--seeds", bad);
            assertEquals(2, refused.exitCode(), bad);
            assertTrue(refused.err().contains("--seeds"), refused.err());
        }
        // A run left unfinished (no summary, no checkpoint) is started over by the next call.
        Path unfinished = sub.resolve("fixed-8-seed4");
        String finished = Files.readString(unfinished.resolve("metrics.jsonl"));
        Files.delete(unfinished.resolve("summary.json"));
        try (var ckpts = Files.list(unfinished)) {
            for (Path c : ckpts.filter(p -> p.getFileName().toString().startsWith("ckpt")).toList())
                ScheduleExperiment.deleteTree(c);
        }
        r = run("schedule", "--config", config.toString(), "--out-dir", sub.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("fixed-4 seed 4: finished run found"), r.err());
        assertTrue(r.err().contains("fixed-8 seed 4 -> " + unfinished + " (resuming)"), r.err());
        assertEquals(withoutTimes(finished), withoutTimes(Files.readString(unfinished.resolve("metrics.jsonl"))),
                "the rerun repeats the same steps");
        assertEquals(13, Files.readAllLines(sub.resolve("results.csv")).size(), "header + 6 arms x 2 seeds");
    }

    @Test
    void aTimeLimitStartsNoRunAfterIt() throws IOException {
        Path limited = tmp.resolve("limited-out");
        Cli r = run("schedule", "--config", config.toString(), "--out-dir", limited.toString(), "--time-limit", "0.0001");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("time limit reached"), r.out());
        assertTrue(Files.exists(limited.resolve("throughput.json")));
        assertFalse(Files.exists(limited.resolve("fixed-4-seed3").resolve("summary.json")));
    }

    @Test
    void estimatorPassGivesThreeDefinedRows() throws IOException {
        String json = Files.readString(out.resolve("estimators.json"));
        for (String e : List.of("PER_EXAMPLE", "MICRO_BATCH", "SEQUENTIAL")) assertTrue(json.contains(e), e);
    }

    /** metrics.jsonl without the wall-clock fields, which differ from run to run. */
    static String withoutTimes(String metrics) {
        return metrics.replaceAll("\"(tok_per_s|elapsed_s)\":[-0-9.eE]+", "");
    }
}
