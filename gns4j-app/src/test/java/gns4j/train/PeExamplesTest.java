package gns4j.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static gns4j.train.TestRuns.QUIET;
import static gns4j.train.TestRuns.metrics;
import static gns4j.train.TestRuns.tiny;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every pe_log_interval-th step's metrics line lists its examples: offset in train.bin and per-example norms. */
class PeExamplesTest {
    @TempDir static Path tmp;
    static Path data;

    @BeforeAll
    static void data() { data = TestRuns.demoData(tmp.resolve("data")); }

    @Test
    void everySecondStepListsItsExamplesWithOffsetsAndNorms() {
        Path run = tmp.resolve("pe2");
        TrainConfig cfg = tiny("max_steps=7", "pe_log_interval=2");
        new Trainer(cfg, data, run, QUIET).run();
        List<JsonObject> m = metrics(run);
        assertEquals(7, m.size());
        int T = cfg.model().blockSize(), B = cfg.batch().batchSize(), micro = cfg.batch().microBatchSize();
        try (TokenDataset train = TokenDataset.open(data.resolve(DatasetPreparer.TRAIN_FILE), 65536, T)) {
            for (JsonObject r : m) {
                int step = r.get("step").getAsInt();
                assertEquals(step % 2 == 0, r.has("pe_examples"), "step " + step + ": " + r.keySet());
                if (step % 2 != 0) continue;
                JsonArray ex = r.getAsJsonArray("pe_examples");
                assertEquals(B, ex.size(), "one entry per example of the step");
                // the offsets the step drew: its RNG seeded by (seed, step-1), micro-batch after micro-batch
                SplittableRandom rng = new SplittableRandom(TrainingLoop.stepSeed(cfg.run().seed(), step - 1));
                long[] expected = new long[B], offs = new long[micro];
                int[] in = new int[micro * T], tg = new int[micro * T];
                for (int k = 0; k < B / micro; k++) {
                    train.sampleBatch(rng, micro, T, in, tg, offs);
                    System.arraycopy(offs, 0, expected, k * micro, micro);
                }
                long[] offsets = new long[B];
                JsonArray total = r.getAsJsonArray("pe_norm_total"), ln = r.getAsJsonArray("pe_norm_ln");
                for (int b = 0; b < B; b++) {
                    JsonObject e = ex.get(b).getAsJsonObject();
                    assertEquals(List.of("offset", "norm_total", "norm_ln"), List.copyOf(e.keySet()));
                    offsets[b] = e.get("offset").getAsLong();
                    assertTrue(offsets[b] >= 0 && offsets[b] + T < train.numTokens(),
                            "window " + offsets[b] + "+" + (T + 1) + " inside train.bin of " + train.numTokens());
                    // bit for bit the same numbers as the step's norm arrays
                    assertEquals(total.get(b).toString(), e.get("norm_total").toString(), "step " + step + " example " + b);
                    assertEquals(ln.get(b).toString(), e.get("norm_ln").toString(), "step " + step + " example " + b);
                    assertTrue(e.get("norm_total").getAsDouble() > 0);
                }
                assertArrayEquals(expected, offsets, "step " + step + " offsets");
            }
        }
    }

    @Test
    void lnTrackingHasNoTotalAndZeroTurnsItOff() {
        Path ln = tmp.resolve("ln");
        new Trainer(tiny("max_steps=3", "pe_log_interval=3", "per_example_norms=ln"), data, ln, QUIET).run();
        JsonObject r = metrics(ln).get(2);
        for (JsonElement e : r.getAsJsonArray("pe_examples")) {
            assertTrue(e.getAsJsonObject().get("norm_total").isJsonNull());
            assertTrue(e.getAsJsonObject().get("norm_ln").getAsDouble() > 0);
        }
        Path off = tmp.resolve("off");
        new Trainer(tiny("max_steps=4", "pe_log_interval=0"), data, off, QUIET).run();
        assertTrue(metrics(off).stream().noneMatch(o -> o.has("pe_examples")));
        // default: every 10th step
        assertEquals(10, TrainConfig.defaults().run().peLogInterval());
        UserError e = assertThrows(UserError.class, () -> tiny("pe_log_interval=-1"));
        assertTrue(e.getMessage().contains("pe_log_interval"), e.getMessage());
    }

    @Test
    void resumedRunRepeatsThePerExampleRecordsExactly() {
        Path ref = tmp.resolve("ref");
        new Trainer(tiny("max_steps=9", "pe_log_interval=2"), data, ref, QUIET).run();
        Path run = tmp.resolve("killed");
        // checkpoints every 5 steps: killed after 7 resumes from 5 and logs 6..9 again
        assertThrows(TestRuns.Killed.class, () -> new Trainer(tiny("max_steps=9", "pe_log_interval=2"), data, run, QUIET)
                .hooks(TestRuns.killAfter(7)).run());
        Trainer.resume(run, null, QUIET).run();
        List<JsonObject> a = metrics(ref), b = metrics(run);
        TestRuns.assertSameSteps(a, b, 9);
        assertFalse(b.get(5).getAsJsonArray("pe_examples").isEmpty());
    }
}
