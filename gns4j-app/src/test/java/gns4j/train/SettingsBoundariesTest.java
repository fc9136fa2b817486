package gns4j.train;

import gns4j.UserError;
import gns4j.backend.AdamWSettings;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every config check at its edge: the last valid value is accepted, the first invalid one is refused with the one
 * line that names the key and the value. Each case is the defaults (batch_size 8, batch_multiple 8, learning_rate
 * 6e-4, ...) with its --set overrides, as the command line loads them.
 */
class SettingsBoundariesTest {

    private static TrainConfig accepted(String... overrides) {
        return assertDoesNotThrow(() -> TrainConfig.load(null, List.of(overrides)), String.join(" ", overrides));
    }

    private static void refused(String message, String... overrides) {
        UserError e = assertThrows(UserError.class, () -> TrainConfig.load(null, List.of(overrides)), String.join(" ", overrides));
        assertEquals(message, e.getMessage());
    }

    private static final String ADAPTIVE = "batch_schedule=adaptive";

    @Test
    void batchKeys() {
        refused("config key max_micro_batch must be auto or >= 1, got -1", "max_micro_batch=-1");
        accepted("batch_multiple=1");
        refused("config key batch_multiple must be >= 1, got 0", "batch_multiple=0");
        // a fixed batch with an automatic micro-batch may be any size
        assertEquals(5, accepted("batch_size=5").batch().batchSize());
        assertEquals(1, accepted("batch_size=1").batch().batchSize());
        assertEquals(1, accepted("micro_batch_size=1", "batch_size=1").batch().batchSize());
        refused("config key batch_size must be >= 1, got 0", "batch_size=0");
        refused("config key batch_size must be a positive multiple of micro_batch_size (4), got 6",
                "micro_batch_size=4", "batch_size=6");
        refused("config key batch_size must be a positive multiple of batch_multiple (8), got 12",
                "batch_schedule=linear_ramp", "ramp_tokens=100", "batch_size=12");
    }

    @Test
    void rampKeys() {
        String[] ramp = {"batch_schedule=linear_ramp", "ramp_tokens=1", "batch_size=16"};
        assertEquals(16, accepted(concat(ramp, "batch_size_start=16")).batch().batchSizeStart());
        assertEquals(1, accepted(concat(ramp, "batch_size_start=1")).batch().batchSizeStart());
        refused("config key batch_size_start must be in [1, batch_size (16)], got 17", concat(ramp, "batch_size_start=17"));
        refused("config key batch_size_start must be in [1, batch_size (16)], got -1", concat(ramp, "batch_size_start=-1"));
        refused("config key ramp_tokens must be > 0 with batch_schedule=linear_ramp",
                "batch_schedule=linear_ramp", "batch_size=16");
        accepted("ramp_tokens=0");
        refused("config key ramp_tokens must be >= 0, got -1", "ramp_tokens=-1");
    }

    @Test
    void adaptiveKeys() {
        String[] adaptive = {ADAPTIVE, "max_tokens=1000", "batch_size=32"};
        assertEquals(32, accepted(concat(adaptive, "batch_size_min=32", "batch_size_start=32")).batch().batchSizeMin());
        accepted(concat(adaptive, "batch_size_min=0"));
        refused("config key batch_size_min must be 0 (one unit) or a multiple of 8 in [1, batch_size (32)], got 40",
                concat(adaptive, "batch_size_min=40"));
        refused("config key batch_size_min must be 0 (one unit) or a multiple of 8 in [1, batch_size (32)], got 4",
                concat(adaptive, "batch_size_min=4"));
        refused("config key batch_size_min must be >= 0, got -8", concat(adaptive, "batch_size_min=-8"));
        refused("config key adaptive_k must be > 0, got 0.0", "adaptive_k=0");
        accepted("adaptive_k=1e-300");
        accepted("adaptive_interval=1");
        refused("config key adaptive_interval must be >= 1, got 0", "adaptive_interval=0");
        accepted(concat(adaptive, "batch_multiple=2", "batch_size_start=2"));
        refused("config key batch_size_min must be >= 2 with batch_schedule=adaptive (the GNS needs two examples per "
                + "step), got 1", concat(adaptive, "batch_multiple=1"));
        refused("config key batch_size_start must be >= batch_size_min (16) with batch_schedule=adaptive, got 8",
                concat(adaptive, "batch_size_min=16", "batch_size_start=8"));
    }

    @Test
    void batchSettingsDeriveTheirUnits() {
        BatchSettings auto = accepted("batch_size=24").batch();
        assertTrue(auto.autoMicroBatch());
        assertEquals(24, auto.largest());
        BatchSettings fixed = accepted("micro_batch_size=4", "batch_size=24").batch();
        assertFalse(fixed.autoMicroBatch());
        assertEquals(4, fixed.granularity());
        assertEquals(4, fixed.minResolved());
        assertEquals(new BatchSchedule.Fixed(24), fixed.schedule());
    }

    @Test
    void optimizerKeys() {
        accepted("learning_rate=1e-300", "min_lr=0");
        refused("config key learning_rate must be > 0, got 0.0", "learning_rate=0");
        accepted("min_lr=6e-4");
        refused("config key min_lr must be in [0, learning_rate (6.0E-4)], got 7.0E-4", "min_lr=7e-4");
        refused("config key min_lr must be in [0, learning_rate (6.0E-4)], got -1.0E-9", "min_lr=-1e-9");
        refused("config key warmup_tokens must be >= 0, got -1", "warmup_tokens=-1");
        refused("config key decay_tokens must be >= 0, got -1", "decay_tokens=-1");
        accepted("warmup_tokens=100", "decay_tokens=100");
        refused("config key decay_tokens must be 0 or >= warmup_tokens (100), got 99", "warmup_tokens=100", "decay_tokens=99");
        accepted("lr_batch_exponent=0");
        accepted("lr_batch_exponent=1");
        refused("config key lr_batch_exponent must be in [0, 1], got -0.1", "lr_batch_exponent=-0.1");
        refused("config key lr_batch_exponent must be in [0, 1], got 1.1", "lr_batch_exponent=1.1");
        accepted("weight_decay=0");
        refused("config key weight_decay must be >= 0, got -0.1", "weight_decay=-0.1");
        for (String beta : List.of("beta1", "beta2")) {
            accepted(beta + "=0");
            refused("config key " + beta + " must be in [0, 1), got 1.0", beta + "=1");
            refused("config key " + beta + " must be in [0, 1), got -0.1", beta + "=-0.1");
        }
        accepted("adam_eps=1e-300");
        refused("config key adam_eps must be > 0, got 0.0", "adam_eps=0");
        accepted("grad_clip=0");
        refused("config key grad_clip must be >= 0 (0 = off), got -1.0", "grad_clip=-1");
        assertEquals(new AdamWSettings(0.8, 0.9, 1e-6, 0.05),
                accepted("beta1=0.8", "beta2=0.9", "adam_eps=1e-6", "weight_decay=0.05").optimizer().adamW());
    }

    @Test
    void runKeys() {
        accepted("max_steps=1", "max_tokens=0", "eval_interval=0", "eval_interval_tokens=0", "eval_sequences=1",
                "log_interval=1", "pe_log_interval=0", "threads=0", "checkpoint_interval=0", "keep_checkpoints=1",
                "max_bad_steps=1");
        refused("config key max_steps must be >= 1, got 0", "max_steps=0");
        refused("config key max_tokens must be >= 0 (0 = unlimited), got -1", "max_tokens=-1");
        refused("config key eval_interval must be >= 0 (0 = off), got -1", "eval_interval=-1");
        refused("config key eval_interval_tokens must be >= 0 (0 = by eval_interval), got -1", "eval_interval_tokens=-1");
        refused("config key eval_sequences must be >= 1, got 0", "eval_sequences=0");
        refused("config key log_interval must be >= 1, got 0", "log_interval=0");
        refused("config key pe_log_interval must be >= 0 (0 = off), got -1", "pe_log_interval=-1");
        refused("config key threads must be >= 0 (0 = all cores), got -1", "threads=-1");
        refused("config key checkpoint_interval must be >= 0 (0 = only at the end), got -1", "checkpoint_interval=-1");
        refused("config key keep_checkpoints must be >= 1, got 0", "keep_checkpoints=0");
        refused("config key max_bad_steps must be >= 1, got 0", "max_bad_steps=0");
        assertEquals(3, accepted("threads=3").run().threadCount());
        assertEquals(1, accepted("threads=1").run().threadCount());
        assertEquals(Runtime.getRuntime().availableProcessors(), accepted("threads=0").run().threadCount());
    }

    @Test
    void gnsAndDataParallelKeys() {
        accepted("gns_alpha=0.5");
        refused("config key gns_alpha must be in (0, 1), got 0.0", "gns_alpha=0");
        refused("config key gns_alpha must be in (0, 1), got 1.0", "gns_alpha=1");
        double oneFloat = 4.0 / (1 << 20);
        assertEquals(4, accepted("grad_bucket_mb=" + oneFloat).dataParallel().gradBucketBytes());
        refused("config key grad_bucket_mb must hold at least one float and be at most 1 TB, got " + Math.nextDown(oneFloat),
                "grad_bucket_mb=" + Math.nextDown(oneFloat));
        assertEquals(1L << 40, accepted("grad_bucket_mb=1048576").dataParallel().gradBucketBytes());
        refused("config key grad_bucket_mb must hold at least one float and be at most 1 TB, got 1048577.0",
                "grad_bucket_mb=1048577");
        assertEquals(25L << 20, TrainConfig.defaults().dataParallel().gradBucketBytes());
    }

    @Test
    void vocabularyMayEqualTheDatasetsButNotFallShort() {
        ModelSettings model = accepted("vocab_size=100").model();
        assertEquals(100, model.modelConfig(100).vocabSize());
        assertEquals(100, model.modelConfig(0).vocabSize());
        assertEquals(50, accepted("vocab_size=0").model().modelConfig(50).vocabSize(), "0: the dataset's");
        UserError e = assertThrows(UserError.class, () -> model.modelConfig(101));
        assertEquals("config key vocab_size (100) is smaller than the dataset's vocabulary (101)", e.getMessage());
    }

    @Test
    void overridesAndValuesThatDoNotParseAreNamed() {
        refused("--set expects key=value, got '=5'", "=5");
        refused("config key micro_batch_size: cannot parse 'x' as auto or an integer", "micro_batch_size=x");
        refused("config key n_layer: cannot parse '2.5' as an integer", "n_layer=2.5");
        refused("config key max_tokens: cannot parse '1.5' as an integer", "max_tokens=1.5");
        refused("config key learning_rate: cannot parse 'Infinity' as a finite number", "learning_rate=Infinity");
        refused("config key bias: cannot parse 'maybe' as true or false", "bias=maybe");
        // beta is one edit from beta1 and from beta2: the first key in order wins
        refused("unknown config key 'beta' (did you mean 'beta1'?)", "beta=0.9");
    }

    @Test
    void editDistanceCountsInsertionsDeletionsAndSubstitutions() {
        assertEquals(3, ConfigText.editDistance("kitten", "sitting"));
        assertEquals(3, ConfigText.editDistance("", "abc"));
        assertEquals(3, ConfigText.editDistance("abc", ""));
        assertEquals(0, ConfigText.editDistance("seed", "seed"));
    }

    @Test
    void keysBySection() {
        assertEquals(List.of("model", "batch", "optimizer", "run", "gns", "dataParallel"), TrainConfig.sections());
        assertEquals(List.of("gns_alpha", "per_example_norms", "linear_norm_method"), TrainConfig.keys("gns"));
        assertEquals(TrainConfig.DEFAULTS.keySet(), java.util.Set.copyOf(TrainConfig.keys()));
        assertEquals("1337", TrainConfig.defaultValue("seed"));
    }

    @Test
    void autoKeysAreWrittenAsAuto() {
        String json = TrainConfig.defaults().toJson();
        assertTrue(json.contains("\"micro_batch_size\": \"auto\""), json);
        assertTrue(json.contains("\"max_micro_batch\": \"auto\""), json);
    }

    @Test
    void plannedTokensStopAtMaxStepsWhileStillRamping() {
        // two steps of the ramp's first batch (8 sequences of 128 tokens): the ramp is far from done
        TrainConfig c = accepted("batch_schedule=linear_ramp", "batch_size=64", "ramp_tokens=1000000", "max_steps=2");
        assertEquals(2 * 8 * 128, c.plannedTokens());
    }

    @Test
    void lrScheduleEdges() {
        assertEquals(1e-4, new LrSchedule(1e-3, 1e-4, LrSchedule.Decay.COSINE, 100, 100).lr(100), 0,
                "warmup and decay ending together go straight to the floor");
        assertEquals(1e-3, new LrSchedule(1e-3, 1e-3, LrSchedule.Decay.LINEAR, 0, 0).lr(0), 0);
        assertEquals(0, new LrSchedule(1e-3, 0, LrSchedule.Decay.LINEAR, 0, 10).lr(10), 0);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(0, 0, LrSchedule.Decay.LINEAR, 0, 0));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
