package gns4j.backend;

import gns4j.UserError;
import gns4j.backend.select.Backends;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryPlanTest {
    static final ModelConfig SMALL = new ModelConfig(4, 4, 256, 256, 50304, true, NormType.LAYERNORM, true);

    @Test
    void logitsDominateASmallModelsSequence() {
        long cpu = MemoryPlan.bytesPerSequence("cpu", SMALL);
        assertTrue(cpu >= 4L * 256 * 50304, "the fp32 logits of one sequence alone are " + 4L * 256 * 50304 + " bytes");
        assertTrue(MemoryPlan.bytesPerSequence("cuda", SMALL) < cpu, "bf16 activations take less than fp32");
    }

    @Test
    void theMicroBatchGrowsWithMemoryUpToTheCap() {
        long p = new ParameterLayout(SMALL).totalSize;
        int at8g = MemoryPlan.largestMicroBatch("cpu", SMALL, p, 8L << 30, 1 << 20);
        int at16g = MemoryPlan.largestMicroBatch("cpu", SMALL, p, 16L << 30, 1 << 20);
        assertTrue(at8g >= 1 && at16g > at8g, at8g + " vs " + at16g);
        assertEquals(32, MemoryPlan.largestMicroBatch("cpu", SMALL, p, 1L << 40, 32));
        assertEquals(0, MemoryPlan.largestMicroBatch("cpu", SMALL, p, 1L << 20, 32));
    }

    @Test
    void aModelThatDoesNotFitIsRefusedWithBothNumbers() {
        ModelConfig huge = new ModelConfig(4, 4, 256, 1 << 16, 50304, true, NormType.LAYERNORM, true);
        UserError e = assertThrows(UserError.class,
                () -> Backends.largestMicroBatch("cpu", huge, new ParameterLayout(huge).totalSize, 8, 0));
        assertTrue(e.getMessage().matches(".*MiB per sequence.*MiB free.*"), e.getMessage());
    }
}
