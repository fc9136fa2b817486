package gns4j.train;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.DelegatingBackend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.checkpoint.CheckpointStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static gns4j.train.TestRuns.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A step with a non-finite loss or gradient is skipped (no GNS update, no AdamW update), logged with
 * "skipped": true and the reason, never checkpointed; max_bad_steps of them in a row stop the run.
 */
class BadStepTest {
    @TempDir static Path tmp;
    static Path data;

    @BeforeAll
    static void data() { data = demoData(tmp.resolve("data")); }

    /** Delegates to the real backend, poisoning chosen steps (1-based, counted by zeroGrad). */
    static final class Faulty extends DelegatingBackend {
        final Set<Integer> nanLoss, infGrad;
        final List<Integer> adamSteps = new ArrayList<>();
        int step;

        Faulty(Backend d, Set<Integer> nanLoss, Set<Integer> infGrad) {
            super(d);
            this.nanLoss = nanLoss;
            this.infGrad = infGrad;
        }

        @Override public String name() { return "faulty " + d.name(); }

        @Override
        public void zeroGrad() {
            step++;
            d.zeroGrad();
        }

        @Override
        public double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale, NormTracking tracking,
                                      LinearNormMethod method, double[] sq) {
            double loss = d.forwardBackward(inputs, targets, B, T, gradScale, tracking, method, sq);
            return nanLoss.contains(step) ? Double.NaN : loss;
        }

        @Override
        public double[] gradSqPerTensor() {
            double[] g = d.gradSqPerTensor();
            if (infGrad.contains(step)) g[1] = Double.POSITIVE_INFINITY;
            return g;
        }

        @Override
        public void adamwStep(AdamWSettings settings, double lr, int t) {
            adamSteps.add(t);
            d.adamwStep(settings, lr, t);
        }
    }

    @Test
    void nonFiniteStepsAreSkippedLoggedAndNeverCheckpointed() throws Exception {
        Path run = tmp.resolve("skips");
        Faulty[] faulty = new Faulty[1];
        Trainer.Hooks hooks = new Trainer.Hooks(b -> faulty[0] = new Faulty(b, Set.of(3), Set.of(6)), s -> {}, CheckpointStore.DISK);
        Trainer.Result r = new Trainer(tiny("max_steps=12", "checkpoint_interval=3", "keep_checkpoints=10"), data, run, QUIET)
                .hooks(hooks).run();
        assertEquals(12, r.steps());
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), faulty[0].adamSteps, "no AdamW update on steps 3 and 6");
        List<JsonObject> m = metrics(run);
        assertEquals(12, m.size());
        for (JsonObject line : m) {
            int s = line.get("step").getAsInt();
            assertEquals(s == 3 || s == 6, line.has("skipped"), line.toString());
        }
        assertTrue(m.get(2).get("skipped").getAsBoolean());
        assertEquals("loss is NaN", m.get(2).get("skip_reason").getAsString());
        assertTrue(m.get(2).get("loss").isJsonNull());
        assertEquals("gradient norm is Infinity", m.get(5).get("skip_reason").getAsString());
        // the GNS averages skip the bad steps: unchanged across them
        assertEquals(m.get(1).get("gns_total").toString(), m.get(2).get("gns_total").toString());
        assertEquals(m.get(4).get("gns_ln").toString(), m.get(5).get("gns_ln").toString());
        assertNotEquals(m.get(2).get("gns_total").toString(), m.get(3).get("gns_total").toString());
        // checkpoints due on steps 3 and 6 wait for the next good step
        assertEquals(List.of(4, 7, 9, 12), checkpointSteps(run));
        String state = Files.readString(CheckpointStore.latest(run).resolve("state.json"));
        assertTrue(state.contains("\"skipped_steps\": 2") && state.contains("\"updates\": 10"), state);
    }

    @Test
    void tooManyBadStepsInARowStopTheRunWithAClearError() {
        Path run = tmp.resolve("diverged");
        Trainer.Hooks hooks = new Trainer.Hooks(b -> new Faulty(b, Set.of(4, 5, 6, 7, 8), Set.of()), s -> {}, CheckpointStore.DISK);
        UserError e = assertThrows(UserError.class, () -> new Trainer(tiny("max_steps=12", "checkpoint_interval=3",
                "max_bad_steps=3"), data, run, QUIET).hooks(hooks).run());
        assertEquals("3 steps in a row (4 to 6) had a non-finite loss or gradient (last: loss is NaN): training diverged"
                + " (lower learning_rate?); last checkpoint: " + run.resolve("checkpoints").resolve("step-000003"), e.getMessage());
        assertEquals(6, metrics(run).size());
        assertEquals(List.of(3), checkpointSteps(run));
    }
}
