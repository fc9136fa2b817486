package gns4j.checkpoint;

import gns4j.UserError;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Hugging Face GPT-2 files (made by {@link HfFixture}, not by the code under test) in and out of our layout. */
class HfGpt2Test {
    @TempDir Path tmp;

    static ModelConfig shape(HfFixture.Spec s) {
        return new ModelConfig(s.nLayer(), s.nHead(), s.nEmbd(), s.nPositions(), s.vocab(), true, NormType.LAYERNORM, s.tied());
    }

    @Test
    void loadsHfLayoutsTransposingConv1DWeights() throws Exception {
        for (HfFixture.Spec s : List.of(HfFixture.Spec.small(40), HfFixture.Spec.small(40).withNames(false, true),
                HfFixture.Spec.small(40).untied())) {
            Path dir = HfFixture.write(tmp.resolve("hf-" + s.prefixed() + s.maskBuffers() + s.tied()), s, 11);
            HfGpt2.Pretrained hf = HfGpt2.open(dir);
            assertEquals(shape(s), hf.config());
            float[] ours = hf.params(hf.config());
            ParameterLayout layout = new ParameterLayout(hf.config());
            Map<String, HfFixture.Raw> raw = HfFixture.tensors(s, 11);
            String p = s.prefixed() ? "transformer." : "";
            int C = s.nEmbd();
            float[] cAttn = raw.get(p + "h.1.attn.c_attn.weight").floats(); // [C, 3C]
            int off = layout.blocks[1].qkvWeight().offset();                 // ours [3C, C]
            for (int o = 0; o < 3 * C; o++)
                for (int i = 0; i < C; i++) assertEquals(cAttn[i * 3 * C + o], ours[off + o * C + i]);
            float[] mlpProj = raw.get(p + "h.0.mlp.c_proj.weight").floats(); // [4C, C]
            off = layout.blocks[0].mlpProjWeight().offset();                 // ours [C, 4C]
            for (int o = 0; o < C; o++)
                for (int i = 0; i < 4 * C; i++) assertEquals(mlpProj[i * C + o], ours[off + o * 4 * C + i]);
            assertArrayEquals(raw.get(p + "wte.weight").floats(), slice(ours, layout.wte.offset(), layout.wte.size()));
            assertArrayEquals(raw.get(p + "h.0.ln_2.bias").floats(), slice(ours, layout.blocks[0].ln2Bias().offset(), C));
            if (!s.tied())
                assertArrayEquals(raw.get("lm_head.weight").floats(), slice(ours, layout.lmHead.offset(), layout.lmHead.size()));
        }
    }

    @Test
    void exportThenReloadIsByteIdenticalAndMatchesTheHfTensors() throws Exception {
        for (HfFixture.Spec s : List.of(HfFixture.Spec.small(40), HfFixture.Spec.small(40).untied())) {
            Path dir = HfFixture.write(tmp.resolve("hf-" + s.tied()), s, 5);
            HfGpt2.Pretrained hf = HfGpt2.open(dir);
            ParameterLayout layout = new ParameterLayout(hf.config());
            float[] ours = hf.params(hf.config());
            byte[] exported = SafeTensors.toBytes(HfGpt2.toHf(layout, ours), Map.of("format", "pt"));
            Path out = tmp.resolve("export-" + s.tied());
            Files.createDirectories(out);
            Files.write(out.resolve("model.safetensors"), exported);
            Files.writeString(out.resolve("config.json"), HfGpt2.configJson(layout.config));
            HfGpt2.Pretrained again = HfGpt2.open(out);
            assertEquals(hf.config(), again.config());
            float[] reloaded = again.params(again.config());
            assertArrayEquals(ours, reloaded);
            assertArrayEquals(exported, SafeTensors.toBytes(HfGpt2.toHf(layout, reloaded), Map.of("format", "pt")));
            // the same tensors, names and HF layouts as the original file (tied: no lm_head, as save_pretrained)
            Map<String, SafeTensors.Tensor> mine = SafeTensors.parse(exported, "export").tensors();
            Map<String, HfFixture.Raw> theirs = HfFixture.tensors(s, 5);
            assertEquals(new java.util.TreeSet<>(theirs.keySet()), new java.util.TreeSet<>(mine.keySet()));
            for (var e : theirs.entrySet()) {
                assertArrayEquals(e.getValue().shape(), mine.get(e.getKey()).shape(), e.getKey());
                assertArrayEquals(e.getValue().floats(), mine.get(e.getKey()).values(), e.getKey());
            }
        }
    }

    @Test
    void shorterBlockSizeTakesTheFirstPositions() throws Exception {
        HfFixture.Spec s = HfFixture.Spec.small(40);
        Path dir = HfFixture.write(tmp.resolve("hf"), s, 3);
        ModelConfig shorter = new ModelConfig(s.nLayer(), s.nHead(), s.nEmbd(), 8, s.vocab(), true, NormType.LAYERNORM, true);
        float[] params = HfGpt2.open(dir).params(shorter);
        ParameterLayout layout = new ParameterLayout(shorter);
        float[] wpe = HfFixture.tensors(s, 3).get("transformer.wpe.weight").floats();
        assertArrayEquals(slice(wpe, 0, 8 * s.nEmbd()), slice(params, layout.wpe.offset(), layout.wpe.size()));
    }

    @Test
    void unsupportedConfigsAndMismatchedFilesAreClearErrors() throws Exception {
        HfFixture.Spec s = HfFixture.Spec.small(40);
        Path eps = HfFixture.write(tmp.resolve("eps"), s.withConfig(1e-6, "gelu_new"), 1);
        assertTrue(assertThrows(UserError.class, () -> HfGpt2.open(eps)).getMessage().contains("layer_norm_epsilon 1.0E-6"));
        Path relu = HfFixture.write(tmp.resolve("relu"), s.withConfig(1e-5, "relu"), 1);
        assertTrue(assertThrows(UserError.class, () -> HfGpt2.open(relu)).getMessage().contains("activation_function relu"));
        Path ok = HfFixture.write(tmp.resolve("ok"), s, 1);
        ModelConfig deeper = new ModelConfig(3, 2, 16, 32, 40, true, NormType.LAYERNORM, true);
        String msg = assertThrows(UserError.class, () -> HfGpt2.open(ok).params(deeper)).getMessage();
        assertTrue(msg.contains("no tensor transformer.h.2.ln_1.weight"), msg);
        ModelConfig wider = new ModelConfig(2, 2, 16, 32, 41, true, NormType.LAYERNORM, true);
        msg = assertThrows(UserError.class, () -> HfGpt2.open(ok).params(wider)).getMessage();
        assertTrue(msg.contains("transformer.wte.weight has shape [40, 16], the model needs [41, 16]"), msg);
        assertTrue(assertThrows(UserError.class, () -> HfGpt2.open(tmp.resolve("nothing"))).getMessage().contains("not found"));
        Files.createDirectories(tmp.resolve("empty"));
        assertTrue(assertThrows(UserError.class, () -> HfGpt2.open(tmp.resolve("empty"))).getMessage().contains("no model.safetensors"));
    }

    @Test
    void configJsonRoundTripsOurShapesIncludingNonHfOnes() {
        for (ModelConfig m : List.of(new ModelConfig(2, 2, 16, 32, 40, true, NormType.LAYERNORM, true),
                new ModelConfig(1, 4, 32, 16, 300, false, NormType.RMSNORM, false))) {
            Path f = tmp.resolve("config-" + m.bias() + ".json");
            try {
                Files.writeString(f, HfGpt2.configJson(m));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
            assertEquals(m, HfGpt2.readConfig(f));
            assertEquals(m.bias(), HfGpt2.hfCompatible(m));
        }
    }

    static float[] slice(float[] a, int off, int n) { return java.util.Arrays.copyOfRange(a, off, off + n); }
}
