package gns4j.train;

import gns4j.UserError;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.LrSchedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainConfigTest {

    @Test
    void defaults() {
        TrainConfig c = TrainConfig.defaults();
        assertEquals(4, c.model().nLayer());
        assertEquals(128, c.model().nEmbd());
        assertEquals(NormType.LAYERNORM, c.model().norm());
        assertEquals(8, c.batch().batchSize());
        assertEquals(8, c.batch().batchSizeStart());   // resolved from micro_batch_size
        assertEquals(6e-4, c.optimizer().learningRate());
        assertEquals(LrSchedule.Decay.COSINE, c.optimizer().lrDecay());
        assertEquals(1000, c.run().maxSteps());
        assertEquals(0.99, c.gns().gnsAlpha());
        assertEquals(TrainConfig.Device.CPU, c.run().device());
        assertEquals(new BatchSchedule.Fixed(8), c.batch().schedule());
        assertEquals(1000L * 8 * 128, c.plannedTokens());
        assertEquals(1000L * 8 * 128, c.lrSchedule().decayTokens());
    }

    @Test
    void jsonFileThenOverrides(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("cfg.json");
        Files.writeString(json, """
                {"n_layer": 2, "norm": "rmsnorm", "learning_rate": 1e-3, "micro_batch_size": 4, "batch_size": 16,
                 "batch_schedule": "linear_ramp", "ramp_tokens": "1e6", "bias": false}""");
        TrainConfig c = TrainConfig.load(json, List.of("learning_rate=3e-4", "n_layer = 3"));
        assertEquals(3, c.model().nLayer());
        assertEquals(NormType.RMSNORM, c.model().norm());
        assertEquals(3e-4, c.optimizer().learningRate());
        assertFalse(c.model().bias());
        assertEquals(4, c.batch().batchSizeStart());
        assertEquals(new BatchSchedule.LinearRamp(4, 16, 1_000_000, 4), c.batch().schedule());
        assertEquals(2, TrainConfig.defaults().with("n_layer=2").model().nLayer());
    }

    /**
     * with() gives what the same overrides give on the command line (one construction from the defaults): a
     * batch_size_start that was derived (0 = one unit) is derived again from the new values, not carried over.
     */
    @Test
    void withAgreesWithTheCommandLine() {
        List<List<String>> cases = List.of(List.of("batch_size=5"), List.of("batch_size=2", "batch_multiple=1"),
                List.of("micro_batch_size=2", "batch_size=6", "batch_schedule=linear_ramp", "ramp_tokens=100"),
                List.of("batch_size=64", "batch_schedule=linear_ramp", "batch_size_start=16", "ramp_tokens=100"));
        for (List<String> overrides : cases)
            assertEquals(TrainConfig.load(null, overrides), TrainConfig.defaults().with(overrides.toArray(String[]::new)),
                    overrides.toString());
        assertEquals(5, TrainConfig.defaults().with("batch_size=5").batch().batchSizeStart());
        TrainConfig ramp = TrainConfig.defaults().with("batch_size=64", "batch_schedule=linear_ramp", "ramp_tokens=100");
        assertEquals(2, ramp.with("batch_multiple=2").batch().batchSizeStart());     // derived again
        assertEquals(16, ramp.with("batch_size_start=16").with("batch_size=32").batch().batchSizeStart());  // given: kept
    }

    @Test
    void plannedTokensFollowRampAndTokenLimit() {
        TrainConfig c = TrainConfig.defaults().with("block_size=10", "micro_batch_size=1", "batch_size=4",
                "batch_schedule=linear_ramp", "batch_size_start=1", "ramp_tokens=40", "max_steps=10");
        // at 0, 10, 30 tokens the ramp gives 1, 1.75 → 2, 3.25 → 3 sequences; from 60 ≥ 40 tokens on, 4 for 7 steps
        assertEquals(10 + 20 + 30 + 7 * 40, c.plannedTokens());
        assertEquals(100, c.with("max_tokens=100").plannedTokens());
        assertEquals(500, c.with("decay_tokens=500").lrSchedule().decayTokens());
    }

    @Test
    void modelConfigTakesVocabFromData() {
        TrainConfig c = TrainConfig.defaults();
        assertEquals(65, c.model().modelConfig(65).vocabSize());
        assertEquals(ModelSettings.DEFAULT_VOCAB, c.model().modelConfig(0).vocabSize());
        ModelConfig fixed = c.with("vocab_size=512").model().modelConfig(65);
        assertEquals(512, fixed.vocabSize());
        assertError("vocab_size", () -> c.with("vocab_size=50").model().modelConfig(65));
    }

    @Test
    void toJsonRoundTrips(@TempDir Path dir) throws Exception {
        TrainConfig c = TrainConfig.defaults().with("norm=rmsnorm", "lr_decay=linear", "min_lr=0", "seed=-7",
                "warmup_tokens=12345", "per_example_norms=ln", "adam_eps=1e-10", "device=auto");
        assertEquals(c, TrainConfig.fromJson(c.toJson()));
        Path file = dir.resolve("config.json");
        Files.writeString(file, c.toJson());
        assertEquals(c, TrainConfig.load(file, List.of()));
        assertTrue(c.toJson().contains("\"norm\": \"rmsnorm\""));
    }

    @Test
    void llamaTakesItsOwnDefaultsAndRefusesWhatItLacks() {
        TrainConfig llama = TrainConfig.defaults().with("arch=llama");
        assertFalse(llama.model().bias());
        assertEquals(NormType.RMSNORM, llama.model().norm());
        assertFalse(llama.model().tiedHead());
        ModelConfig m = llama.model().modelConfig(65);
        assertEquals(ModelConfig.llama(4, 4, 4, 128, 128, 65, 384, 10000, false), m);
        assertEquals(2, llama.with("n_kv_head=2").model().modelConfig(65).nKvHead());
        assertEquals(TrainConfig.defaults(), llama.with("arch=gpt2"), "bias, norm and tied_head follow arch back");
        assertFalse(llama.with("arch=gpt2", "tied_head=false").model().tiedHead());
        assertEquals(llama, TrainConfig.fromJson(llama.toJson()));
        assertError("n_kv_head", () -> llama.with("n_kv_head=3"));
        assertError("n_kv_head", () -> llama.with("n_kv_head=-1"));
        assertError("bias", () -> llama.with("bias=true"));
        assertError("norm", () -> llama.with("norm=layernorm"));
        assertError("rope_theta", () -> llama.with("rope_theta=1"));
        assertError("ffn_hidden", () -> llama.with("ffn_hidden=-2"));
        assertEquals(TrainConfig.Device.CUDA, llama.with("device=cuda").run().device(), "Llama trains on CUDA too");
        assertError("n_kv_head", () -> TrainConfig.defaults().with("n_kv_head=2"));
        assertError("ffn_hidden", () -> TrainConfig.defaults().with("ffn_hidden=100"));
        assertError("arch", () -> TrainConfig.defaults().with("arch=mamba"));
    }

    @Test
    void unknownKeyIsNamedWithSuggestion() {
        UserError e = assertError("lerning_rate", () -> TrainConfig.defaults().with("lerning_rate=1e-3"));
        assertTrue(e.getMessage().contains("learning_rate"), e.getMessage());
        assertError("n_layers", () -> TrainConfig.fromJson("{\"n_layers\": 2}"));
    }

    @Test
    void validationErrorsNameTheKey() {
        TrainConfig d = TrainConfig.defaults();
        assertError("learning_rate", () -> d.with("learning_rate=fast"));
        assertError("n_layer", () -> d.with("n_layer=2.5"));
        assertError("bias", () -> d.with("bias=yes"));
        assertError("norm", () -> d.with("norm=batchnorm"));
        assertError("max_steps", () -> d.with("max_steps=-5"));
        assertError("learning_rate", () -> d.with("learning_rate=0"));
        assertError("batch_size", () -> d.with("micro_batch_size=8", "batch_size=12"));
        assertError("batch_size", () -> d.with("batch_schedule=linear_ramp", "ramp_tokens=100", "batch_size=12"));
        assertError("micro_batch_size", () -> d.with("micro_batch_size=-1"));
        assertError("max_micro_batch", () -> d.with("max_micro_batch=big"));
        assertError("gns_alpha", () -> d.with("gns_alpha=1"));
        assertError("ramp_tokens", () -> d.with("batch_schedule=linear_ramp"));
        assertError("n_embd", () -> d.with("n_embd=130"));
        assertError("n_head", () -> d.with("n_embd=130"));
        assertError("max_steps", () -> TrainConfig.fromJson("{\"max_steps\": [1]}"));
        assertThrows(UserError.class, () -> d.with("max_steps"));
        assertError("lr_batch_exponent", () -> d.with("lr_batch_exponent=1.5"));
    }

    /** lr_batch_exponent scales the schedule's LR by (B / first batch)^e; 0 leaves it alone, a fixed batch has factor 1. */
    @Test
    void theLrFollowsTheBatchWhenCoupled() {
        TrainConfig ramp = TrainConfig.defaults().with("batch_schedule=linear_ramp", "batch_size_start=8",
                "batch_size=32", "ramp_tokens=1000", "warmup_tokens=0", "lr_batch_exponent=0.5");
        LrSchedule lrs = ramp.lrSchedule();
        assertEquals(8, ramp.batch().first());
        assertEquals(lrs.lr(500), ramp.lr(lrs, 500, 8), 0);
        assertEquals(2 * lrs.lr(500), ramp.lr(lrs, 500, 32), 1e-15);
        assertEquals(lrs.lr(500), ramp.with("lr_batch_exponent=0").lr(lrs, 500, 32), 0);
        // the first batch is what the schedule runs: a start of 4 rounded up to one unit of batch_multiple 8
        TrainConfig rounded = ramp.with("batch_size_start=4");
        assertEquals(8, rounded.batch().first());
        assertEquals(lrs.lr(500), rounded.lr(rounded.lrSchedule(), 500, 8), 0);
        TrainConfig fixed = TrainConfig.defaults().with("batch_size=32", "lr_batch_exponent=1");
        assertEquals(32, fixed.batch().first());
        assertEquals(fixed.lrSchedule().lr(500), fixed.lr(fixed.lrSchedule(), 500, 32), 0);
    }

    private static UserError assertError(String key, Runnable r) {
        UserError e = assertThrows(UserError.class, r::run);
        assertTrue(e.getMessage().contains(key), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }
}
