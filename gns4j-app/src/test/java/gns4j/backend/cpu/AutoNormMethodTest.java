package gns4j.backend.cpu;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * On the CPU, AUTO is the simultaneous method: the weight-gradient pass forms every example's dW_b tile anyway, while
 * the ghost method's Grams cost 2·B·T²·(K+N) FLOPs more. The tiny model's MLP input layer (K 8, N 32, T 6) is one
 * where the FLOP rule T·(K+N) &lt; N·K would pick ghost.
 */
class AutoNormMethodTest {
    @Test
    void autoGivesTheSimultaneousMethodsBits() {
        ModelConfig cfg = TinyModels.config(true, NormType.LAYERNORM, true);
        assertTrue(LinearNormMethod.AUTO.useGhost(cfg.blockSize(), cfg.nEmbd(), 4 * cfg.nEmbd()), "the FLOP rule picks ghost here");
        double[] auto = norms(cfg, LinearNormMethod.AUTO), simultaneous = norms(cfg, LinearNormMethod.SIMULTANEOUS);
        double[] ghost = norms(cfg, LinearNormMethod.GHOST);
        assertArrayEquals(simultaneous, auto);
        assertFalse(Arrays.equals(ghost, auto), "ghost rounds differently, so the comparison above can tell the methods apart");
    }

    private static double[] norms(ModelConfig cfg, LinearNormMethod method) {
        int B = 3, T = cfg.blockSize();
        try (CpuBackend backend = new CpuBackend(cfg, B, 2)) {
            SplittableRandom rng = new SplittableRandom(5);
            float[] p = new float[backend.layout().totalSize];
            for (int i = 0; i < p.length; i++) p[i] = (float) (0.3 * rng.nextGaussian());
            backend.writeParams(p);
            double[] sq = new double[backend.layout().numTensors() * B];
            backend.zeroGrad();
            backend.forwardBackward(TinyModels.tokens(B, T, cfg.vocabSize(), 11), TinyModels.tokens(B, T, cfg.vocabSize(), 12), B, T,
                    1f / B, NormTracking.ALL, method, sq);
            return sq;
        }
    }
}
