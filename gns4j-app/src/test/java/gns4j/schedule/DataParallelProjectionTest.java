package gns4j.schedule;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The data-parallel projection on cases worked by hand. Curve: 16:1600, 32:2400, 64:3200 tok/s, so a step costs
 * c(B) = B / rate = 0.01, 0.01333, 0.02 s per token position at 16, 32, 64 (ThroughputTest); T = 100, a gradient of
 * 1000 bytes at 1000 bytes/s, half of it embeddings.
 */
class DataParallelProjectionTest {
    static final Throughput CURVE = Throughput.parse("16:1600,32:2400,64:3200");

    static DataParallelProjection projection(boolean overlap) {
        return new DataParallelProjection(CURVE, 100, 1000, 500, 1000, overlap);
    }

    @Test
    void oneGpuIsTheCurveItself() {
        assertEquals(2.0, projection(false).stepSeconds(64, 1), 1e-12);       // 64 · 100 / 3200
        assertEquals(1.0, projection(true).stepSeconds(16, 1), 1e-12);        // 16 · 100 / 1600
    }

    @Test
    void eightGpusSplitTheBatchAndPayTheRing() {
        // B = 64 on 8 GPUs: 8 each; c(8) = 0.01 − 8 · (0.01333 − 0.01) / 16 = 0.008333: compute 0.8333 s.
        // Ring: 2 · 7/8 · 1000 / 1000 = 1.75 s. After backward: 0.8333 + 1.75.
        assertEquals(0.25 / 0.3 + 1.75, projection(false).stepSeconds(64, 8), 1e-9);
        // Overlapped: forward 0.2778 + max(backward 0.5556, the non-embedding 0.875 s) + the embeddings' 0.875 s.
        assertEquals(0.25 / 0.3 / 3 + 0.875 + 0.875, projection(true).stepSeconds(64, 8), 1e-9);
        // B = 256 on 8 GPUs: 32 each, compute 32 · 100 / 2400 = 1.333 s; overlapped, backward 0.8889 hides the 0.875 s.
        assertEquals(4.0 / 3 + 0.875, projection(true).stepSeconds(256, 8), 1e-9);
    }

    @Test
    void moreGpusThanSequencesUseOnlyAsManyGpusAsSequences() {
        // B = 16 on 64 GPUs: 16 GPUs of 1 sequence; c(1) = 0.01 − 15 · 0.003333 / 16 = 0.006875: 0.6875 s;
        // ring over 16 GPUs: 2 · 15/16 = 1.875 s.
        assertEquals(0.6875 + 1.875, projection(false).stepSeconds(16, 64), 1e-9);
        assertEquals(projection(false).stepSeconds(16, 16), projection(false).stepSeconds(16, 64), 1e-12);
    }

    @Test
    void aRunIsTheSumOfItsStepsTheLastByItsFraction() {
        DataParallelProjection p = projection(false);
        int[] batches = {16, 16, 64};
        assertEquals(1.0 + 1.0 + 0.5 * 2.0, p.runSeconds(batches, 2.5, 1), 1e-12);
        assertEquals(2 * p.stepSeconds(16, 8) + p.stepSeconds(64, 8), p.runSeconds(batches, 3, 8), 1e-12);
        assertEquals(0, p.runSeconds(batches, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> p.runSeconds(batches, 3.5, 1));
    }

    @Test
    void theProjectedCurveFeedsTheGoodputPolicy() {
        DataParallelProjection p = projection(false);
        Throughput eight = p.curve(8, 16, 64, 16);
        assertEquals(4, eight.points().size());
        assertEquals(64 * 100 / p.stepSeconds(64, 8), eight.tokPerS(64), 1e-9);
        // On 8 GPUs the ring costs 1.75 s a step whatever the batch: the largest batch is nearly free, and with any
        // noise the goodput batch moves up to it, while one GPU keeps 16 at small noise.
        assertEquals(64, eight.goodputBatch(8, 16, 64, 16));
        assertEquals(16, CURVE.goodputBatch(8, 16, 64, 16));
    }
}
