package gns4j.backend.cpu;

import gns4j.backend.AdamWSettings;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * -Dgns4j.cpu.profile=true (read once per JVM, so measured in a child JVM): the same weights bit for bit as without it,
 * and every op of a GPT-2 and a Llama step charged (no timing is asserted beyond "the region ran").
 */
class ProfileTest {
    static final List<ModelConfig> MODELS = List.of(TinyModels.config(true, NormType.LAYERNORM, false),
            TinyModels.llama(2, 10000, false));
    static final Set<String> LLAMA_ONLY = Set.of(Profile.Op.ROPE_FWD.label, Profile.Op.ROPE_BWD.label,
            Profile.Op.SWIGLU_FWD.label, Profile.Op.SWIGLU_BWD.label);

    /** Per model: the hash of its weights after two steps, then the ops that took time, sorted. */
    public static void main(String[] args) {
        for (ModelConfig c : MODELS) {
            System.out.println(weightsAfterSteps(c));
            Set<String> ran = Profile.take().ms().entrySet().stream().filter(e -> e.getValue() > 0).map(Map.Entry::getKey)
                    .collect(Collectors.toCollection(TreeSet::new));
            System.out.println(ran);
        }
    }

    /** Two whole steps (as bench cpu runs them, all norms tracked) on 2 threads; the hash of the weights' bits. */
    static int weightsAfterSteps(ModelConfig c) {
        int B = 2, T = c.blockSize();
        int[] ids = TinyModels.tokens(B, T, c.vocabSize(), 1), targets = TinyModels.tokens(B, T, c.vocabSize(), 2);
        try (CpuBackend backend = new CpuBackend(c, B, 2)) {
            backend.initWeights(3);
            double[] sq = new double[backend.layout().numTensors() * B];
            for (int step = 1; step <= 2; step++) {
                backend.zeroGrad();
                backend.forwardBackward(ids, targets, B, T, 1f / B, NormTracking.ALL, LinearNormMethod.AUTO, sq);
                backend.adamwStep(new AdamWSettings(0.9, 0.95, 1e-8, 0.1), 1e-3, step);
                backend.gradSqPerTensor();
            }
            float[] w = new float[backend.layout().totalSize];
            backend.readParams(w);
            return Arrays.hashCode(w) ^ Arrays.hashCode(sq);
        }
    }

    @Test
    void profiledStepsKeepTheirBitsAndChargeEveryOp() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dgns4j.cpu.profile=true", "-cp", System.getProperty("java.class.path"), ProfileTest.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertEquals(0, p.waitFor(), lines.toString());
        Set<String> all = Arrays.stream(Profile.Op.values()).map(op -> op.label).collect(Collectors.toCollection(TreeSet::new));
        Set<String> gpt = new TreeSet<>(all);
        gpt.removeAll(LLAMA_ONLY);
        assertEquals(List.of("" + weightsAfterSteps(MODELS.get(0)), gpt.toString(), "" + weightsAfterSteps(MODELS.get(1)),
                all.toString()), lines);
    }
}
