package gns4j.bench;

import gns4j.model.Arch;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shapes `bench gpu` measures and the arguments that give PyTorch the same model. */
class GpuBenchModelTest {
    @Test
    void llamaBenchModelIsTheDocumentedShapeAndTorchGetsIt() {
        BenchModel m = GpuBench.model(Arch.LLAMA, false, 4);
        assertEquals(4, m.batch());
        assertEquals(124_668_672L, new ParameterLayout(m.config()).numParameters());
        assertEquals("llama L12 H12 KV4 F2048 untied C768 T2048 V32000 B4", m.shape());
        List<String> args = m.torchArgs();
        for (String flag : new String[]{"--arch llama", "--n-kv-head 4", "--ffn 2048", "--rope-theta 10000.0", "--vocab 32000",
                "--block-size 2048", "--batch 4", "--modes eager,compile,hf"})
            assertTrue(String.join(" ", args).contains(flag), flag + " in " + args);
        assertFalse(args.contains("--tied"));
    }

    @Test
    void gptBenchModelKeepsItsShapeAndArguments() {
        BenchModel m = GpuBench.model(Arch.GPT2, false, 8);
        assertEquals("L10 H12 C768 T2048 V50304 B8", m.shape());
        assertFalse(m.torchArgs().contains("--arch"));
    }

    @Test
    void gpt2MediumIsTheSecondShape() {
        BenchModel m = GpuBench.model(Arch.GPT2, true, 8);
        assertEquals("L24 H16 C1024 T1024 V50304 B8", m.shape());
        assertEquals(354_871_296L, new ParameterLayout(m.config()).numParameters());
        String args = String.join(" ", m.torchArgs());
        for (String flag : new String[]{"--n-layer 24", "--n-head 16", "--n-embd 1024", "--block-size 1024", "--batch 8"})
            assertTrue(args.contains(flag), flag + " in " + args);
    }
}
