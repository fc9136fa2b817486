package gns4j.backend;

import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The memory plan's numbers against its own documented formulas, summed term by term by
 * scripts/memory_plan_reference.py for shapes whose dimensions all differ (T 11, C 14 or 16, L 3, V 97, H 2 or 4),
 * so that a wrong coefficient anywhere shows in the total.
 */
class MemoryPlanFormulaTest {
    private static final ModelConfig GPT2 = new ModelConfig(3, 2, 14, 11, 97, true, NormType.LAYERNORM, true);

    private static ModelConfig llama(int ffnHidden) {
        return new ModelConfig(3, 4, 16, 11, 97, false, NormType.RMSNORM, false, Arch.LLAMA, 2, 10000, ffnHidden);
    }

    @Test
    void bytesPerSequenceFollowTheDocumentedTerms() {
        assertEquals(47036, MemoryPlan.bytesPerSequence("cpu", GPT2));
        assertEquals(24526, MemoryPlan.bytesPerSequence("cuda", GPT2));
        assertEquals(51964, MemoryPlan.bytesPerSequence("cpu", llama(40)));
        assertEquals(34012, MemoryPlan.bytesPerSequence("cpu", llama(8)), "packed rows of C when F < C");
        assertEquals(26878, MemoryPlan.bytesPerSequence("cuda", llama(40)));
        assertEquals(18782, MemoryPlan.bytesPerSequence("cuda", llama(8)), "the fused q|k|v wider than gate|up");
    }

    @Test
    void unknownDevicesAreRefused() {
        assertEquals("unknown device tpu",
                assertThrows(IllegalArgumentException.class, () -> MemoryPlan.bytesPerSequence("tpu", GPT2)).getMessage());
        assertEquals("unknown device tpu",
                assertThrows(IllegalArgumentException.class, () -> MemoryPlan.bytesPerSequence("tpu", llama(40))).getMessage());
    }

    @Test
    void fixedBytesAreWeightsGradientMomentsAndScratch() {
        long largest = 97 * 14; // the head's V·C is larger than the MLP's 4C·C
        assertEquals(largest, GPT2.largestMatrix());
        // fp32 weights, gradient and two moments: 16 bytes a parameter, and an fp32 packed-weight scratch
        assertEquals(16 * 1011L + 4 * largest, MemoryPlan.fixedBytes("cpu", GPT2, 1011));
        // CUDA adds bf16 weights (18 bytes a parameter) and packs the scratch in bf16
        assertEquals(18 * 1011L + 2 * largest, MemoryPlan.fixedBytes("cuda", GPT2, 1011));
    }

    @Test
    void largestMicroBatchIsWhatThreeQuartersOfTheMemoryHold() {
        long fixed = MemoryPlan.fixedBytes("cpu", GPT2, 1011), perSequence = 47036;
        long exactlyFive = (fixed + 5 * perSequence) * 4 / 3;
        assertEquals(0, (fixed + 5 * perSequence) % 3, "a budget three quarters of which is whole bytes");
        assertEquals(5, MemoryPlan.largestMicroBatch("cpu", GPT2, 1011, exactlyFive, 100));
        assertEquals(4, MemoryPlan.largestMicroBatch("cpu", GPT2, 1011, exactlyFive - 2, 100));
        assertEquals(3, MemoryPlan.largestMicroBatch("cpu", GPT2, 1011, exactlyFive, 3), "the cap");
        assertEquals(0, MemoryPlan.largestMicroBatch("cpu", GPT2, 1011, 0, 100));
        assertEquals(0, MemoryPlan.largestMicroBatch("cpu", GPT2, 1011, (fixed - perSequence) * 4 / 3, 100),
                "less than the fixed part");
    }
}
