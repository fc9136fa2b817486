package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.Gson;
import gns4j.UserError;
import gns4j.experiment.ScheduleResults.ArmSaving;
import gns4j.experiment.ScheduleResults.Currency;
import gns4j.experiment.ScheduleResults.Level;
import gns4j.experiment.ScheduleResults.ProjectionSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * L*, the arrivals at each level and the savings per currency, on hand-written run folders whose every value is worked
 * out below (T = 16 tokens a sequence; a step of B sequences is 16·B tokens).
 *
 * <pre>
 * run               batches   tok/s per step     val loss per step          train s per step
 * fixed-4 seed 1    4 4 4 4   64                 4.0  3.0  2.6  2.5         1
 * fixed-4 seed 2    4 4 4 4   32                 4.0  3.2  2.4  2.25        2
 * fixed-8 seed 1    8 8       256                3.0  2.75                  0.5
 * fixed-8 seed 2    8 8       256                3.0  3.0                   0.5
 * fixed-4-lr2 s 1   4 4 4 4   64                 3.0  2.0  1.5  1.0         1      (seed 2 unfinished)
 * adaptive seed 1   4 4 8     64 64 128          3.0  2.5  2.0              1
 * adaptive seed 2   4 4 8     64 64 128          3.5  2.875 2.375           1
 * </pre>
 * L* = mean final loss of fixed-4 = (2.5 + 2.25)/2 = 2.375 (fixed-8: 2.875; fixed-4-lr2 has one seed only, so it
 * cannot set L* although its 1.0 is lower). The runs' own rates make the projection's curve: batch 4 at
 * (256/4 + 256/8)/2 = 48 tok/s, batch 8 at 256 tok/s.
 */
class ScheduleResultsValuesTest {
    @TempDir Path tmp;
    private static final Gson GSON = new Gson();

    static final String ADAPTIVE = "{\"batch_schedule\": \"adaptive\", \"batch_size_min\": 4, \"batch_size_start\": 4, \"adaptive_k\": 1000, \"adaptive_interval\": 3}";

    ScheduleExperimentConfig config(String arms) { return config(arms, "[1, 2]"); }

    ScheduleExperimentConfig config(String arms, String seeds) {
        Path out = tmp.resolve("out");
        String text = """
                {"out_dir": "%s", "data_dir": "%s",
                 "base": {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "batch_multiple": 4, "batch_size": 8,
                          "learning_rate": 3e-3, "max_tokens": 1024, "max_steps": 1000},
                 "fixed_batches": [4, 8], "lr_factors": [2], "arms": %s, "seeds": %s}
                """.formatted(out.toString().replace("\\", "/"), tmp.resolve("data").toString().replace("\\", "/"), arms, seeds);
        return ScheduleExperimentConfig.parse(text, "exp.json");
    }

    /** A finished run: step i has batches[i], rates[i] tok/s and, when vals[i] is not null, that validation loss. */
    static void run(ScheduleExperimentConfig cfg, String arm, long seed, int[] batches, double[] rates, Double[] vals, boolean finished)
            throws IOException {
        Path dir = cfg.runDir(arm, seed);
        Files.createDirectories(dir);
        StringBuilder lines = new StringBuilder();
        long tokens = 0;
        for (int i = 0; i < batches.length; i++) {
            tokens += 16L * batches[i];
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", i + 1);
            m.put("tokens", tokens);
            m.put("batch_size", batches[i]);
            m.put("tok_per_s", rates[i]);
            if (vals[i] != null) m.put("val_loss", vals[i]);
            if (i > 0 && batches[i] != batches[i - 1]) m.put("batch_change", Map.of("from", batches[i - 1], "to", batches[i]));
            lines.append(GSON.toJson(m)).append('\n');
        }
        Files.writeString(dir.resolve("metrics.jsonl"), lines);
        if (finished) Files.writeString(dir.resolve("summary.json"), "{}");
    }

    static double[] rates(double r, int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, r);
        return a;
    }

    static final int[] FOUR_4 = {4, 4, 4, 4}, TWO_8 = {8, 8}, ADAPT = {4, 4, 8};

    void fixedSweep(ScheduleExperimentConfig cfg) throws IOException {
        run(cfg, "fixed-4", 1, FOUR_4, rates(64, 4), new Double[]{4.0, 3.0, 2.6, 2.5}, true);
        run(cfg, "fixed-4", 2, FOUR_4, rates(32, 4), new Double[]{4.0, 3.2, 2.4, 2.25}, true);
        run(cfg, "fixed-8", 1, TWO_8, rates(256, 2), new Double[]{3.0, 2.75}, true);
        run(cfg, "fixed-8", 2, TWO_8, rates(256, 2), new Double[]{3.0, 3.0}, true);
        run(cfg, "fixed-4-lr2", 1, FOUR_4, rates(64, 4), new Double[]{3.0, 2.0, 1.5, 1.0}, true);
        run(cfg, "fixed-4-lr2", 2, FOUR_4, rates(64, 4), new Double[]{1.0, 1.0, 1.0, 1.0}, false);
    }

    ScheduleResults analyse(ScheduleExperimentConfig cfg) {
        return ScheduleResults.analyse(cfg, null, null, new ProjectionSettings(List.of(8, 1, 8), 1e9));
    }

    ScheduleResults table() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"adaptive\": " + ADAPTIVE + "}");
        fixedSweep(cfg);
        run(cfg, "adaptive", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 2.5, 2.0}, true);
        run(cfg, "adaptive", 2, ADAPT, new double[]{64, 64, 128}, new Double[]{3.5, 2.875, 2.375}, true);
        return analyse(cfg);
    }

    static ScheduleResults.Arrival arrival(Level lv, String arm, long seed) {
        return lv.arrivals().stream().filter(a -> a.run().arm().equals(arm) && a.run().seed() == seed).findFirst().orElseThrow();
    }

    @Test
    void theTargetIsTheBestFixedArmThatFinishedEverySeed() throws IOException {
        ScheduleResults r = table();
        assertEquals("fixed-4", r.bestFixed());
        assertEquals(2.375, r.target(), 1e-12);
        assertEquals(List.of("adaptive"), r.scheduleArms());
        assertEquals(List.of("fixed-4", "fixed-8", "adaptive", "fixed-4-lr2"), r.allArms());
        assertEquals(7, r.runs().size(), "the unfinished lr2 run of seed 2 is left out");
        var a1 = r.runs().stream().filter(x -> x.run().equals("adaptive-seed1")).findFirst().orElseThrow();
        assertArrayEquals(ADAPT, a1.batches());
        assertEquals(2.0, a1.finalValLoss());
        assertEquals(3, a1.steps());
        assertEquals(256, a1.tokens());
        assertEquals(3.0, a1.trainSeconds(), 1e-12);
        assertEquals(8, a1.finalBatch());
        assertEquals(1, a1.batchChanges());
        assertEquals(256 / 3.0, a1.trainedTokPerS(), 1e-12);
        // The ladder, from L* + 0.5 down to L* itself.
        assertEquals(7, r.levels().size());
        for (int i = 0; i < 7; i++) {
            assertEquals(ScheduleResults.LADDER[i], r.levels().get(i).delta());
            assertEquals(2.375 + ScheduleResults.LADDER[i], r.levels().get(i).loss(), 1e-12);
        }
        assertEquals("L* + 0.50", r.levels().getFirst().name());
        assertEquals("L*", r.atTarget().name());
        assertSame(r.levels().getLast(), r.atTarget());
    }

    /** Each run's device comes from its summary.json; results.md lists them when they differ, "" when not named. */
    @Test
    void theRunsDevicesAreListedWhenTheyDiffer() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"adaptive\": " + ADAPTIVE + "}");
        ScheduleResults plain = table();
        assertTrue(plain.runs().stream().allMatch(r -> r.device().isEmpty()));
        assertTrue(plain.markdown().contains("do not name their device"), plain.markdown());
        Files.writeString(cfg.runDir("adaptive", 1).resolve("summary.json"), "{\"device\": \"cuda (card B)\"}");
        Files.writeString(cfg.runDir("adaptive", 2).resolve("summary.json"), "{\"device\": \"cuda (card B)\"}");
        ScheduleResults mixed = analyse(cfg);
        assertEquals("cuda (card B)", mixed.runs().stream().filter(r -> r.run().equals("adaptive-seed1")).findFirst().orElseThrow().device());
        String md = mixed.markdown();
        assertTrue(md.contains("The runs trained on 2 devices"), md);
        assertTrue(md.contains("- cuda (card B): 2 runs (adaptive-seed1, adaptive-seed2)"), md);
    }

    @Test
    void theProjectionUsesTheFixedRunsOwnRates() throws IOException {
        ScheduleResults r = table();
        assertTrue(r.projection().fromRuns());
        assertEquals(List.of(1, 8), r.projection().settings().gpus());
        assertEquals(1e9, r.projection().settings().busBytesPerS());
        var curve = r.projection().model().oneGpu().points();
        assertEquals(4, curve.get(0).batch());
        assertEquals(48, curve.get(0).tokPerS(), 1e-9);
        assertEquals(8, curve.get(1).batch());
        assertEquals(256, curve.get(1).tokPerS(), 1e-9);
        assertEquals(16, r.projection().model().blockSize());
        assertEquals(4L * r.projection().parameters(), r.projection().model().gradientBytes());
        assertEquals(List.of("steps", "tokens", "train time (s, measured)", "1 GPU (s, projection)", "8 GPUs (s, projection)"),
                r.currencies().stream().map(Currency::label).toList());
        assertEquals(List.of("steps", "tokens", "seconds", "projected_s_1gpu", "projected_s_8gpu"),
                r.currencies().stream().map(Currency::key).toList());
        assertEquals(2, ScheduleResults.secondsIndex(r.currencies()));
    }

    @Test
    void arrivalsAtLStarAreInterpolatedInEveryCurrency() throws IOException {
        Level lv = table().atTarget();
        // fixed-4 seed 2: 2.4 at step 3, 2.25 at step 4: f = 0.025/0.15 = 1/6; 2 s a step.
        // 1 GPU: a batch-4 step is 4·16/48 = 4/3 s.
        assertCosts(arrival(lv, "fixed-4", 2), 3 + 1 / 6.0, 192 + 64 / 6.0, 6 + 1 / 3.0, (3 + 1 / 6.0) * 4 / 3);
        // fixed-4-lr2 seed 1: 3.0 at step 1, 2.0 at step 2: f = 0.625.
        assertCosts(arrival(lv, "fixed-4-lr2", 1), 1.625, 104, 1.625, 1.625 * 4 / 3);
        // adaptive seed 1: 2.5 at step 2, 2.0 at step 3 (batch 8, 128 tokens, 1 s; 0.5 s projected): f = 0.25.
        assertCosts(arrival(lv, "adaptive", 1), 2.25, 160, 2.25, 2 * 4 / 3.0 + 0.25 * 0.5);
        // adaptive seed 2 hits 2.375 exactly at its last step.
        assertCosts(arrival(lv, "adaptive", 2), 3, 256, 3, 2 * 4 / 3.0 + 0.5);
        for (String[] never : new String[][]{{"fixed-4", "1"}, {"fixed-8", "1"}, {"fixed-8", "2"}}) {
            var a = arrival(lv, never[0], Long.parseLong(never[1]));
            assertNull(a.reach());
            for (double c : a.costs()) assertTrue(Double.isNaN(c));
        }
        // The 8-GPU cost is the projection's own run time of the same batches.
        var a = arrival(lv, "adaptive", 1);
        assertEquals(table().projection().model().runSeconds(ADAPT, 2.25, 8), a.costs()[4], 1e-12);
    }

    static void assertCosts(ScheduleResults.Arrival a, double steps, double tokens, double seconds, double oneGpu) {
        assertEquals(steps, a.costs()[0], 1e-9, a.run().run());
        assertEquals(tokens, a.costs()[1], 1e-9, a.run().run());
        assertEquals(seconds, a.costs()[2], 1e-9, a.run().run());
        assertEquals(oneGpu, a.costs()[3], 1e-9, a.run().run());
    }

    @Test
    void savingsAreAgainstTheCheapestFixedRunOfTheSameSeed() throws IOException {
        ScheduleResults r = table();
        Level lv = r.atTarget();
        var s1 = r.saving(lv, arrival(lv, "adaptive", 1), 2);
        assertEquals("fixed-4-lr2", s1.fixed(), "seed 1's only fixed run at L*");
        assertEquals(1.625, s1.fixedCost(), 1e-12);
        assertEquals(100 * (1 - 2.25 / 1.625), s1.percent(), 1e-9);
        var s2 = r.saving(lv, arrival(lv, "adaptive", 2), 2);
        assertEquals("fixed-4", s2.fixed());
        assertEquals(100 * (1 - 3 / (6 + 1 / 3.0)), s2.percent(), 1e-9);
        // A fixed run against itself saves 0.
        assertEquals(0, r.saving(lv, arrival(lv, "fixed-4", 2), 2).percent(), 1e-12);
        // A run that never arrives has no saving, though its seed has a reference.
        var never = r.saving(lv, arrival(lv, "fixed-4", 1), 0);
        assertEquals("fixed-4-lr2", never.fixed());
        assertTrue(Double.isNaN(never.percent()));

        double[][] expected = {
                {100 * (1 - 2.25 / 1.625), 100 * (1 - 3 / (3 + 1 / 6.0))},                      // steps
                {100 * (1 - 160 / 104.0), 100 * (1 - 256 / (192 + 64 / 6.0))},                 // tokens
                {100 * (1 - 2.25 / 1.625), 100 * (1 - 3 / (6 + 1 / 3.0))},                     // seconds
                {100 * (1 - (8 / 3.0 + 0.125) / (1.625 * 4 / 3)), 100 * (1 - (8 / 3.0 + 0.5) / ((3 + 1 / 6.0) * 4 / 3))}};
        for (int c = 0; c < expected.length; c++) {
            ArmSaving s = r.armSaving("adaptive", lv, c);
            assertEquals("adaptive", s.arm());
            assertEquals(2, s.defined());
            assertArrayEquals(expected[c], s.perSeed(), 1e-9, "currency " + c);
            assertEquals((expected[c][0] + expected[c][1]) / 2, s.mean(), 1e-9);
            assertEquals(Math.min(expected[c][0], expected[c][1]), s.worst(), 1e-9);
        }
        assertEquals(25.0, expected[3][1], 1e-9, "the hand value: 19/6 s against 38/9 s");
    }

    @Test
    void theVerdictNamesTheWorstSeedAndEveryOtherCurrency() throws IOException {
        ScheduleResults r = table();
        assertEquals("Best schedule arm: adaptive, -38.5% less training time to L* than the fastest fixed-batch run of the same"
                + " seed in its worst seed (mean +7.1%): target of >= 15% in every seed NOT met. Its savings in the other"
                + " currencies (mean / worst seed): steps -16.6% / -38.5%; tokens -40.1% / -53.8%; 1 GPU (s, projection)"
                + " -1.9% / -28.8%; 8 GPUs (s, projection) " + ScheduleTables.pct(r.armSaving("adaptive", r.atTarget(), 4).mean())
                + " / " + ScheduleTables.pct(r.armSaving("adaptive", r.atTarget(), 4).worst()) + ".", r.verdict());
    }

    @Test
    void theBestArmHasTheMostSeedsWithASavingThenTheBestWorstSeedThenTheBestMean() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"tie\": " + ADAPTIVE + ", \"adaptive\": " + ADAPTIVE + ", \"slow\": " + ADAPTIVE
                + ", \"late\": " + ADAPTIVE + "}");
        fixedSweep(cfg);
        // The references at L*: 1.625 s in seed 1 (fixed-4-lr2), 19/3 s in seed 2 (fixed-4).
        // adaptive: 1 s in seed 1, 3 s in seed 2: 100·(1 − 1/1.625) = 38.46% and 100·(1 − 9/19) = 52.63%, mean 45.55%.
        run(cfg, "adaptive", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{2.0, 2.0, 2.0}, true);
        run(cfg, "adaptive", 2, ADAPT, new double[]{64, 64, 128}, new Double[]{3.5, 2.875, 2.375}, true);
        // tie: the same worst seed, a worse mean (seed 2's last step at 100 tok/s: 3.28 s, 48.2%).
        run(cfg, "tie", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{2.0, 2.0, 2.0}, true);
        run(cfg, "tie", 2, ADAPT, new double[]{64, 64, 100}, new Double[]{3.5, 2.875, 2.375}, true);
        // slow: a better mean, a worse worst seed: 1.25 s (23.1%) and 0.1 s (98.4%).
        run(cfg, "slow", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{2.5, 2.0, 2.0}, true);
        run(cfg, "slow", 2, ADAPT, new double[]{640, 640, 1280}, new Double[]{2.0, 2.0, 2.0}, true);
        // late: never reaches L* in seed 1, so one seed with a saving, however good seed 2 is.
        run(cfg, "late", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 3.0}, true);
        run(cfg, "late", 2, ADAPT, new double[]{640, 640, 1280}, new Double[]{2.0, 2.0, 2.0}, true);
        ScheduleResults r = analyse(cfg);
        assertTrue(r.verdict().startsWith("Best schedule arm: adaptive, +38.5% less training time to L* than the fastest"
                + " fixed-batch run of the same seed in its worst seed (mean +45.5%): target of >= 15% in every seed MET."), r.verdict());
        assertEquals(100 * (1 - 3.28 / (6 + 1 / 3.0)), r.armSaving("tie", r.atTarget(), 2).perSeed()[1], 1e-9);
        assertEquals(100 * (1 - 1.25 / 1.625), r.armSaving("slow", r.atTarget(), 2).worst(), 1e-9);
        ArmSaving late = r.armSaving("late", r.atTarget(), 2);
        assertEquals(1, late.defined());
        assertTrue(Double.isNaN(late.worst()), "the worst is unknown while a seed has none");
        assertEquals(100 * (1 - 0.1 / (19 / 3.0)), late.mean(), 1e-9);
        assertTrue(Double.isNaN(late.perSeed()[0]));
    }

    @Test
    void withThreeSeedsTheArmWithSavingsInMoreSeedsWins() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"one\": " + ADAPTIVE + ", \"two\": " + ADAPTIVE + "}", "[1, 2, 3]");
        fixedSweep(cfg);
        run(cfg, "fixed-4", 3, FOUR_4, rates(64, 4), new Double[]{4.0, 3.0, 2.6, 2.5}, true);
        run(cfg, "fixed-8", 3, TWO_8, rates(256, 2), new Double[]{3.0, 2.75}, true);
        // L* = (2.5 + 2.25 + 2.5)/3; seed 3 has no fixed run there, so no seed has a saving in it.
        // one: a large saving in seed 1 only; two: smaller (or negative) savings in seeds 1 and 2.
        run(cfg, "one", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{2.0, 2.0, 2.0}, true);
        for (long seed : new long[]{2, 3}) run(cfg, "one", seed, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 3.0}, true);
        for (long seed : new long[]{1, 2}) run(cfg, "two", seed, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 2.0}, true);
        run(cfg, "two", 3, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 3.0}, true);
        ScheduleResults r = analyse(cfg);
        assertEquals(7.25 / 3, r.target(), 1e-12);
        assertEquals(1, r.armSaving("one", r.atTarget(), 2).defined());
        assertTrue(r.armSaving("one", r.atTarget(), 2).mean() > r.armSaving("two", r.atTarget(), 2).mean());
        assertTrue(r.verdict().startsWith("two has a time saving to L* (the mean final validation loss of fixed-4) in 2 of 3 seeds"),
                r.verdict());
    }

    @Test
    void tiesGoToTheFirstInConfigOrder() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"a\": " + ADAPTIVE + ", \"b\": " + ADAPTIVE + "}");
        fixedSweep(cfg);
        // fixed-8 with fixed-4's final losses: the same mean.
        run(cfg, "fixed-8", 1, TWO_8, rates(256, 2), new Double[]{3.0, 2.5}, true);
        run(cfg, "fixed-8", 2, TWO_8, rates(256, 2), new Double[]{3.0, 2.25}, true);
        assertEquals(4, ScheduleResults.bestFixedBatch(cfg));
        for (String arm : List.of("a", "b"))
            for (long seed : new long[]{1, 2})
                run(cfg, arm, seed, ADAPT, new double[]{64, 64, 128}, new Double[]{2.0, 2.0, 2.0}, true);
        ScheduleResults r = analyse(cfg);
        assertEquals("fixed-4", r.bestFixed());
        assertTrue(r.verdict().startsWith("Best schedule arm: a,"), r.verdict());
    }

    @Test
    void aLargerFixedBatchCanBeTheBest() throws IOException {
        ScheduleExperimentConfig cfg = config("{}");
        fixedSweep(cfg);
        run(cfg, "fixed-8", 1, TWO_8, rates(256, 2), new Double[]{3.0, 2.0}, true);
        run(cfg, "fixed-8", 2, TWO_8, rates(256, 2), new Double[]{3.0, 2.0}, true);
        assertEquals(8, ScheduleResults.bestFixedBatch(cfg));
        ScheduleResults r = analyse(cfg);
        assertEquals("fixed-8", r.bestFixed());
        assertEquals(2.0, r.target(), 1e-12);
    }

    @Test
    void eachCurrencyHasItsOwnCheapestFixedRun() throws IOException {
        ScheduleResults r = table();
        Level top = r.levels().getFirst();   // L* + 0.5 = 2.875
        var a = arrival(top, "adaptive", 1);
        // Seed 1's fixed runs there: fixed-4 at step 2.3125 (2.3125 s), fixed-8 at step 1.5 (0.75 s, 192 tokens),
        // fixed-4-lr2 at step 1.125 (1.125 s, 72 tokens).
        var seconds = r.saving(top, a, 2);
        assertEquals("fixed-8", seconds.fixed());
        assertEquals(0.75, seconds.fixedCost(), 1e-12);
        var steps = r.saving(top, a, 0);
        assertEquals("fixed-4-lr2", steps.fixed());
        assertEquals(1.125, steps.fixedCost(), 1e-12);
        assertEquals(72, r.saving(top, a, 1).fixedCost(), 1e-12);
        assertEquals(2.3125, arrival(top, "fixed-4", 1).costs()[2], 1e-12);
        // adaptive seed 1 is at 3.0 after its first step: f = 0.125/0.5 → 1.25 steps, 80 tokens, 1.25 s.
        assertEquals(100 * (1 - 1.25 / 0.75), seconds.percent(), 1e-9);
        assertEquals(100 * (1 - 1.25 / 1.125), steps.percent(), 1e-9);
    }

    @Test
    void theTablesCarryTheVerdictAndTheRunsGnsRows() throws IOException {
        ScheduleResults r = table();
        assertEquals(List.of("fixed-4-seed1", "fixed-8-seed1", "adaptive-seed1", "fixed-4-lr2-seed1", "fixed-4-seed2",
                "fixed-8-seed2", "adaptive-seed2"), r.lnVsTotal().stream().map(ScheduleResults.LnRow::run).toList());
        assertTrue(r.markdown().contains(r.verdict()));
        Path out = tmp.resolve("tables");
        Files.createDirectories(out);
        r.write(out);
        assertTrue(Files.readString(out.resolve("results.md")).contains(r.verdict()));
        // The exposed all-reduce: the embeddings' fp32 gradient.
        var layout = new gns4j.model.ParameterLayout(config("{}").trainConfigs(null).values().iterator().next().model().modelConfig(0));
        assertEquals(4L * (layout.wte.size() + layout.wpe.size()), r.projection().model().exposedBytes());
        assertEquals(layout.totalSize, r.projection().parameters());
    }

    @Test
    void aSavingInSomeSeedsOnlyIsNotShown() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"late\": " + ADAPTIVE + "}");
        fixedSweep(cfg);
        run(cfg, "late", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 3.0}, true);
        run(cfg, "late", 2, ADAPT, new double[]{64, 64, 128}, new Double[]{2.0, 2.0, 2.0}, true);
        assertTrue(analyse(cfg).verdict().startsWith("late has a time saving to L* (the mean final validation loss of fixed-4)"
                + " in 1 of 2 seeds; in the others it or every fixed run stayed above L*: target of >= 15% less training time"
                + " than the fastest fixed run NOT shown. Its savings in the other currencies (mean / worst seed): steps"), analyse(cfg).verdict());
    }

    @Test
    void theVerdictSaysWhatIsMissing() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"late\": " + ADAPTIVE + "}");
        run(cfg, "fixed-4", 1, FOUR_4, rates(64, 4), new Double[]{4.0, 3.0, 2.6, 2.5}, true);
        ScheduleResults none = analyse(cfg);
        assertNull(none.bestFixed());
        assertTrue(none.levels().isEmpty());
        assertNull(none.atTarget());
        assertNull(none.projection(), "no measured curve and not every fixed batch finished");
        assertEquals(3, none.currencies().size());
        assertEquals("No fixed-batch arm has finished every seed yet: no target, no comparison.", none.verdict());

        fixedSweep(cfg);
        assertEquals("No schedule arm has finished yet.", analyse(cfg).verdict());
        run(cfg, "late", 1, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 3.0}, true);
        assertEquals("Incomplete: the best schedule arm so far, late, finished 1 of 2 seeds.", analyse(cfg).verdict());
        ScheduleResults incomplete = analyse(cfg);
        ArmSaving oneSeed = incomplete.armSaving("late", incomplete.atTarget(), 2);
        assertTrue(Double.isNaN(oneSeed.perSeed()[1]), "a seed without a run has no saving");
        assertEquals(0, oneSeed.defined());
        run(cfg, "late", 2, ADAPT, new double[]{64, 64, 128}, new Double[]{3.0, 3.0, 3.0}, true);
        assertTrue(analyse(cfg).verdict().startsWith("No schedule arm has a saving to L* (the mean final validation loss of"
                + " fixed-4) in any seed"), analyse(cfg).verdict());
    }

    @Test
    void aMeasuredCurveServesUntilEveryFixedBatchHasFinished() throws IOException {
        ScheduleExperimentConfig cfg = config("{\"late\": " + ADAPTIVE + "}");
        run(cfg, "fixed-4", 1, FOUR_4, rates(64, 4), new Double[]{4.0, 3.0, 2.6, 2.5}, true);
        run(cfg, "fixed-4", 2, FOUR_4, rates(64, 4), new Double[]{4.0, 3.0, 2.6, 2.5}, true);
        var measured = new ThroughputCurve(List.of(new ThroughputCurve.Point(4, 4, 100), new ThroughputCurve.Point(8, 8, 300)));
        ScheduleResults r = ScheduleResults.analyse(cfg, measured, null, ProjectionSettings.defaults());
        assertFalse(r.projection().fromRuns());
        assertEquals(300, r.projection().model().oneGpu().points().get(1).tokPerS());
        assertEquals(List.of(1, 8, 64), r.projection().settings().gpus());
        assertEquals(200e9, r.projection().settings().busBytesPerS());
        assertEquals(6, r.currencies().size());
    }

    @Test
    void projectionSettingsRefuseWhatCannotBeProjected() {
        assertThrows(UserError.class, () -> new ProjectionSettings(List.of(0, 8), 1e9));
        assertThrows(UserError.class, () -> new ProjectionSettings(List.of(8), 0));
        assertThrows(UserError.class, () -> new ProjectionSettings(List.of(8), Double.POSITIVE_INFINITY));
        assertThrows(UserError.class, () -> new ProjectionSettings(List.of(8), Double.NaN));
        assertEquals("--bus-gbps must be a finite number > 0, got -5.0",
                assertThrows(UserError.class, () -> new ProjectionSettings(List.of(8), -5e9)).getMessage());
        assertEquals(List.of(1), new ProjectionSettings(List.of(1), 1).gpus());
    }

    @Test
    void meansSpreadsAndExtremes() {
        assertEquals(2.5, ScheduleResults.mean(new double[]{1, 4}), 0);
        assertTrue(Double.isNaN(ScheduleResults.mean(new double[0])));
        assertEquals(Math.sqrt(4.5), ScheduleResults.std(new double[]{1, 4}), 1e-15);
        assertTrue(Double.isNaN(ScheduleResults.std(new double[]{1})));
        assertEquals(Math.sqrt(7), ScheduleResults.std(new double[]{1, 2, 6}), 1e-15);
        // Deviations −2/15, −1/30, 1/6 around 1e6 + 7/30: squares summing to 0.14/3, over n − 1 = 2. A spread small against
        // the mean, where Σ(x + m)(x − m), equal on paper, loses its digits.
        assertEquals(Math.sqrt(0.07 / 3), ScheduleResults.std(new double[]{1e6 + 0.1, 1e6 + 0.2, 1e6 + 0.4}), 1e-9);
        assertEquals(-3, ScheduleResults.min(new double[]{2, -3, 5}));
        assertEquals(5, ScheduleResults.max(new double[]{2, -3, 5}));
        assertThrows(IllegalStateException.class, () -> ScheduleResults.secondsIndex(List.of(new Currency(Currency.Kind.STEPS, 0))));
    }
}
