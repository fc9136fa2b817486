package gns4j.bench;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.backend.DelegatingBackend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.backend.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The interleaved bench: warm-up rounds of every mode, then one step of each mode per round, in the given order. */
class ThroughputTest {
    @Test
    void modesAlternateStepByStepAndEachGetsItsReps() {
        BenchModel m = BenchModel.gpt("tiny", 1, 2, 16, 8, 61, 2);
        List<NormTracking> seen = new ArrayList<>();
        List<NormTracking> modes = List.of(NormTracking.OFF, NormTracking.LN, NormTracking.ALL);
        try (CpuBackend cpu = new CpuBackend(m.config(), m.batch(), 1)) {
            var recording = new DelegatingBackend(cpu) {
                @Override
                public double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale, NormTracking tracking,
                                              LinearNormMethod method, double[] sq) {
                    seen.add(tracking);
                    return super.forwardBackward(inputs, targets, B, T, gradScale, tracking, method, sq);
                }
            };
            Map<NormTracking, Timing> t = Throughput.interleaved(recording, m, modes, 2, 3);
            assertEquals(modes, List.copyOf(t.keySet()));
            for (Timing x : t.values()) {
                assertEquals(3, x.reps());
                assertTrue(x.min() > 0 && x.min() <= x.median() && x.median() <= x.max(), x.toString());
            }
        }
        List<NormTracking> expected = new ArrayList<>();
        for (int round = 0; round < 5; round++) expected.addAll(modes);
        assertEquals(expected, seen);
    }
}
