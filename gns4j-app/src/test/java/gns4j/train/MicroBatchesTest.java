package gns4j.train;

import gns4j.UserError;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MicroBatchesTest {
    @Test
    void aGivenMicroBatchCutsTheBatchIntoEqualPasses() {
        assertArrayEquals(new int[]{4, 4, 4}, MicroBatches.split(12, 4, 4, 1));
        assertThrows(IllegalArgumentException.class, () -> MicroBatches.split(10, 4, 4, 1));
    }

    @Test
    void autoRunsTheBatchAsOnePassWhenItFits() {
        assertArrayEquals(new int[]{64}, MicroBatches.split(64, 0, 256, 1));
        assertArrayEquals(new int[]{256}, MicroBatches.split(256, 0, 256, 1));
    }

    @Test
    void autoAboveTheLimitTakesTheFewestPassesOfNearlyEqualSize() {
        assertArrayEquals(new int[]{3, 3, 2}, MicroBatches.split(8, 0, 3, 1));
        int[] sizes = MicroBatches.split(1000, 0, 96, 1);
        assertEquals(11, sizes.length); // ⌈1000/96⌉
        assertEquals(1000, Arrays.stream(sizes).sum());
        assertEquals(1, Arrays.stream(sizes).max().orElseThrow() - Arrays.stream(sizes).min().orElseThrow());
    }

    @Test
    void autoGivesEveryDataParallelRankAPass() {
        assertArrayEquals(new int[]{4, 4}, MicroBatches.split(8, 0, 64, 2));
        assertThrows(UserError.class, () -> MicroBatches.split(3, 0, 64, 4));
    }
}
